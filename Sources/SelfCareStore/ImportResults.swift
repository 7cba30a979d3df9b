import Foundation
import SelfCareCore

/// What an import did.
public struct ImportSummary: Sendable, Equatable {
    /// Rows that changed the database.
    public var applied = 0
    /// Rows the database already held as they are.
    public var unchanged = 0
    /// Rows set aside, each with its reason in the rejects file.
    public var rejected = 0
    /// What a snapshot left out and so closed: numbers closed, or plans taken off sale.
    public var omitted = 0
    /// Where the bad rows went, when there were any.
    public var rejectsPath: String?
    /// The encoding the file was read in (and its rejects file written in).
    public var encoding: TextEncoding = .utf8
    /// Whether `encoding` was detected rather than given.
    public var encodingDetected = true
    /// Why the bad rows could not be written to their file after the good ones were applied (the disk filled up
    /// between the check before the import and the write after it), when that happened.
    public var rejectsProblem: String?

    /// An import that did nothing yet.
    public init() {}

    /// `applied 3, unchanged 17, rejected 2 (see plans.rejects.csv)`.
    public var description: String {
        "applied \(applied), unchanged \(unchanged), rejected \(rejected)"
            + (rejectsPath.map { " (see \($0))" } ?? "")
    }
}

/// A problem with the file as a whole: nothing was applied.
public struct ImportFileError: Error, CustomStringConvertible, Sendable {
    /// The file (or the source's name, for data given in memory).
    public var path: String
    /// What is wrong with it, one line.
    public var message: String
    /// `path: message`, as the command line prints it.
    public var description: String { "\(path): \(message)" }
}

/// A bad input row and why.
public struct RejectedRow: Sendable, Equatable {
    /// The row's line in its file.
    public var line: Int
    /// Why it was set aside, naming the column (`balance_fen: expected a whole number, found `lots``).
    public var reason: String
    /// The row's fields with its password blanked.
    public var fields: [String]
}

/// How an import's rows relate to the database, beyond the plain import's merge.
public struct ImportOptions: Sendable {
    /// Merge (add or replace), delta (each row's `action`) or snapshot (the whole of its kind).
    public var mode: LoadMode = .merge
    /// Whether one bad row refuses the whole file (a feed's file): nothing is applied then, and the error is
    /// `DataLoadRefusal.rejectedRows` with every bad line.
    public var wholeOrNothing = false
    /// The feed file the data is, when it is one: applied only as its feed's next file.
    public var feedPosition: DataLoad.FeedPosition?
    /// The largest share of the open numbers a subscriber snapshot may close.
    public var snapshotCloseLimit = 0.1
    /// How many data rows (records after the header) the file must have, as its sidecar says: a file with
    /// another count is refused whole.
    public var expectedRows: Int?

    /// A plain import's options: merge, keeping the good rows of a file with bad ones.
    public init() {}
}
