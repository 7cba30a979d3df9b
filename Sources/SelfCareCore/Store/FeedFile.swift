import Foundation

/// A file of an incremental feed from the billing system, as the store remembers it once applied: what keeps
/// the feed's files in sequence and applied once (docs/sync.md).
public struct FeedFile: Sendable, Equatable {
    /// The feed: the file's kind and source system (`SUBS_BOSS`). Each feed has its own sequence.
    public var feed: String
    /// The file's sequence number in its feed (1, 2, …).
    public var sequence: Int
    /// The file's name as it arrived (`SUBS_BOSS_20261206_000123.csv`).
    public var name: String
    /// The SHA-256 of the file's bytes, lowercase hex: tells a file sent again from a different one with the
    /// same sequence number.
    public var sha256: String
    /// When it was applied, ISO 8601 UTC.
    public var applied: String
    /// The id of its `import` record.
    public var record: Int64

    /// A file with every field given.
    public init(feed: String, sequence: Int, name: String, sha256: String, applied: String, record: Int64) {
        self.feed = feed
        self.sequence = sequence
        self.name = name
        self.sha256 = sha256
        self.applied = applied
        self.record = record
    }
}
