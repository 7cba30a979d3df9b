import GRDB
import SelfCareCore

/// The two durable write paths `selfcare bench` measures in a scratch database, side by side in the same file:
/// the yardstick, a single-row transaction committed on its own as a plain SQLite program would do each write,
/// and the store's own path for service records, batched by group commit. Both run with the store's journal mode
/// and synchronous setting, so the ratio between them is what group commit buys on this machine.
///
/// Only for a scratch database: the records it appends describe nothing that happened.
public struct ScratchWrites: Sendable {
    private let store: SQLiteServiceStore

    /// Creates the yardstick's table (`bench_rows`) in `store`'s database when it is not there.
    public init(store: SQLiteServiceStore) async throws {
        self.store = store
        try await store.pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        }
    }

    /// Commits one row (numbered `i`) in a transaction of its own, waiting for it to reach the disk.
    public func commitRow(_ i: Int) async throws {
        try await store.pool.write { db in
            try db.execute(sql: "INSERT INTO bench_rows (body) VALUES (?)", arguments: ["row \(i)"])
        }
    }

    /// Appends `draft` to the record chain through the store's group commit, waiting for its commit.
    public func appendRecord(_ draft: RecordDraft) async throws {
        _ = try await store.write { try $0.append(draft) }
    }
}
