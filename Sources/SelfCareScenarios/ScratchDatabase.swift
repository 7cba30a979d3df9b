import Foundation
import SelfCareCore
import SelfCareStore

/// Runs `body` with a fresh SQLite store in a new temporary folder, removed afterwards: where each scenario and
/// each flood runs, so neither ever touches the operator's database.
func withScratchDatabase<T>(_ body: (SQLiteServiceStore) async throws -> T) async throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let store = try SQLiteServiceStore(path: folder.appendingPathComponent("scratch.sqlite").path)
    do {
        let result = try await body(store)
        try? await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

/// Where the scenarios' scratch databases are made and thrown away, when not in SQLite files: a test suite runs the
/// same scenarios on another store (PostgreSQL) this way.
public struct ScratchStores: Sendable {
    /// Makes a fresh, empty store.
    public let open: @Sendable () async throws -> any ServiceStore
    /// Ends a store `open` made, and removes its data.
    public let close: @Sendable (any ServiceStore) async -> Void

    /// Stores made by `open` and ended by `close`.
    public init(
        open: @escaping @Sendable () async throws -> any ServiceStore,
        close: @escaping @Sendable (any ServiceStore) async -> Void
    ) {
        self.open = open
        self.close = close
    }
}

/// Runs `body` with a scratch store from `stores`, or an SQLite one (`withScratchDatabase`) when nil.
func withScratchStore<T>(_ stores: ScratchStores?, _ body: (any ServiceStore) async throws -> T) async throws -> T {
    guard let stores else { return try await withScratchDatabase { try await body($0) } }
    let store = try await stores.open()
    do {
        let result = try await body(store)
        await stores.close(store)
        return result
    } catch {
        await stores.close(store)
        throw error
    }
}
