import Foundation

/// Reads the gateway's data inside one consistent snapshot.
public protocol StoreReader {
    func subscriber(_ msisdn: String) throws -> Subscriber?
    func plan(_ code: String) throws -> Plan?
    /// Every plan, ordered by monthly fee then code.
    func plans() throws -> [Plan]
    func usage(_ msisdn: String, month: Month) throws -> UsageMonth?
    /// The newest calls first, at most `limit`.
    func recentCalls(_ msisdn: String, limit: Int) throws -> [CallDetail]
    func pendingChanges(_ msisdn: String) throws -> [PendingChange]
    /// Pending changes effective on or before `date`, oldest first.
    func duePendingChanges(onOrBefore date: LocalDate) throws -> [PendingChange]
    /// The transaction `caller` has been asked to confirm on `channel`, if any.
    func confirmation(caller: String, channel: Channel) throws -> PendingConfirmation?
    /// The first record of `caller` for `session` on `channel` (an inbound message id) that settled the
    /// message, if any; a message refused `rate_limited` was not settled and may be sent again.
    func firstRecord(channel: Channel, session: String, caller: String) throws -> ServiceRecord?
    /// How many records `caller` has on `channel` at or after `since` (rate limiting).
    /// The records of `caller` on `channel` written from `since` to `until`, both included.
    func recordCount(channel: Channel, caller: String, since: Date, until: Date) throws -> Int
    /// `caller`'s failed attempts on other numbers' passwords, if it has any on file.
    func callerThrottle(_ caller: String) throws -> CallerThrottle?
}

/// Changes the gateway's data inside one transaction: all of a transaction's writes land, or none.
public protocol StoreWriter: StoreReader {
    func save(_ subscriber: Subscriber) throws
    /// Adds `change`, replacing any pending change of the same kind for the same number.
    func save(_ change: PendingChange) throws
    func deletePendingChange(msisdn: String, kind: PendingChange.Kind) throws
    /// Stores `confirmation`, replacing any earlier one of the same caller and channel.
    func save(_ confirmation: PendingConfirmation) throws
    func deleteConfirmation(caller: String, channel: Channel) throws
    /// Stores `throttle`, replacing the caller's earlier one.
    func save(_ throttle: CallerThrottle) throws
    /// Adds or replaces a plan (import).
    func save(_ plan: Plan) throws
    /// Adds or replaces one month of usage (import).
    func save(_ usage: UsageMonth) throws
    /// Adds or replaces one call of the detail list (import).
    func save(_ call: CallDetail) throws
    /// The call of `msisdn` that started at `startedAt` with `peer`, if stored (import comparison).
    func call(msisdn: String, startedAt: Date, peer: String) throws -> CallDetail?
    /// Chains `draft` after the last record and appends it.
    func append(_ draft: RecordDraft) throws -> ServiceRecord
}

/// Which records to list.
public struct RecordFilter: Sendable {
    public var subject: String?
    public var since: Date?
    /// Only records with a greater id: the cursor of a page.
    public var afterID: Int64?
    /// At most this many records.
    public var limit: Int?

    public init(subject: String? = nil, since: Date? = nil, afterID: Int64? = nil, limit: Int? = nil) {
        self.subject = subject
        self.since = since
        self.afterID = afterID
        self.limit = limit
    }
}

/// The gateway's storage: subscribers, plans, usage, pending changes and service records.
///
/// Implementation requirements:
/// - `write` runs its body in one transaction, serialised with every other write; if the body
///   throws, nothing it did remains. A record appended in a transaction lands with the state
///   changes of that transaction or not at all.
/// - `write` may run its body more than once: only the last run's changes and result count, and
///   every earlier run leaves nothing. The SQLite store runs a whole batch of writes again when one
///   of them throws; a store over a network database (PostgreSQL) runs a transaction again when the
///   database refuses its commit for a serialization failure or a deadlock. Such a conflict is the
///   store's to retry, a bounded number of times, and never reaches the caller as anything but a
///   fault once those are spent. Callers keep their bodies pure over the writer for this: they read
///   and write only through it and return a value; the time they run at, hashes and other slow work
///   are settled before (`MemoryServiceStore(writeRuns: 2)` shows a body can run again).
/// - Several processes may write to the same database (two gateways, an import, `selfcare tick`):
///   the transaction's isolation must hold across processes, not only across the tasks of one.
/// - Chaining the records is the store's job, across processes too: `append` reads the chain head
///   and writes the new one in the transaction that appends, so that two processes never chain two
///   records to the same predecessor (SQLite's write lock serialises them; a network database needs
///   the head row locked for the transaction, or serializable isolation).
/// - `read` sees a consistent snapshot.
/// - Neither `read` nor `write` blocks Swift's cooperative thread pool for long. The record walks
///   (`forEachRecord`, `verifyRecords`) are synchronous and meant for tools and audits, not request paths;
///   request paths page through `records(matching:)` and `recordIDs(matching:)`, which must not block it.
/// - Records are append-only; `append` chains each record to the one before it.
public protocol ServiceStore: Sendable {
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T
    /// Runs `body` in one write transaction and returns its result once the transaction is committed.
    ///
    /// `body` may run more than once (a retried conflict); only its last run counts.
    /// - Throws: what `body` throws, or the store's fault when the transaction cannot commit.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T
    /// Calls `body` with each record matching `filter`, oldest first.
    func forEachRecord(matching filter: RecordFilter, _ body: (ServiceRecord) throws -> Void) throws
    /// The records matching `filter`, oldest first: one page (`filter.limit` bounds it), for request paths.
    func records(matching filter: RecordFilter) async throws -> [ServiceRecord]
    /// The ids of the records matching `filter`, oldest first: a page's cursor without its records.
    func recordIDs(matching filter: RecordFilter) async throws -> [Int64]
    /// The chain head the store keeps beside the records: the last id and hash, nil when there are no records.
    func recordChainHead() throws -> (id: Int64, hash: String)?
    /// Walks the whole chain in one consistent snapshot, up to the head of that snapshot, so records
    /// appended meanwhile never look like tampering.
    func verifyRecords() throws -> RecordChainReport
    /// A fault after which nothing the store writes may be acknowledged (its database file removed or replaced
    /// under it), as one line; nil while there is none. Cheap enough to ask on every request.
    func fault() -> String?
    /// Whether the store can commit now (the readiness check): no fault, a trial write that is rolled back, room
    /// on the disk.
    func readiness() async -> StoreReadiness
}

extension ServiceStore {
    public func fault() -> String? { nil }
    public func readiness() async -> StoreReadiness { StoreReadiness(problems: fault().map { [$0] } ?? []) }
}

/// Whether a store can commit, and why not.
public struct StoreReadiness: Sendable, Equatable {
    /// What stands in the way, one line each; empty when the store is ready.
    public var problems: [String]
    public var isReady: Bool { problems.isEmpty }

    public init(problems: [String] = []) { self.problems = problems }
}
