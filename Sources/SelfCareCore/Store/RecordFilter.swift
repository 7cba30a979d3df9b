import Foundation

/// Which records to list.
public struct RecordFilter: Sendable {
    /// Only the records about this number (normalised), when set.
    public var subject: String?
    /// Only the records written at or after this time, when set.
    public var since: Date?
    /// Only records with a greater id: the cursor of a page.
    public var afterID: Int64?
    /// At most this many records.
    public var limit: Int?

    /// A filter keeping the records that match every criterion given; with none, every record.
    public init(subject: String? = nil, since: Date? = nil, afterID: Int64? = nil, limit: Int? = nil) {
        self.subject = subject
        self.since = since
        self.afterID = afterID
        self.limit = limit
    }
}
