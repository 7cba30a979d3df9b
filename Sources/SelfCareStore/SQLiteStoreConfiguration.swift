import Foundation
import SelfCareCore

/// Settings of the SQLite store.
public struct SQLiteStoreConfiguration: Sendable {
    /// `FULL` by default: a record is on disk before the reply that it describes leaves.
    public var synchronous = "FULL"
    /// How long a writer waits for another process's lock before failing.
    public var busyTimeout: TimeInterval = 10
    /// Open read-only (for `records list` and `records verify` on a live database).
    public var readonly = false
    /// How much of the database file each connection maps into memory for reading (0: none). The mapped
    /// pages are the kernel's page cache, shared between connections, and count as file-backed resident memory.
    public var mmapBytes: Int64 = 1 << 30
    /// Free space the disk holding the database must have for the store to call itself ready.
    public var readinessFreeBytes: Int64 = 1 << 20

    /// The defaults above.
    public init() {}
}
