import Foundation

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
    /// Runs `body` over one consistent snapshot of the data and returns its result.
    /// - Throws: what `body` throws, or the store's fault when the snapshot cannot be read.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T
    /// Runs `body` in one write transaction and returns its result once the transaction is committed.
    ///
    /// `body` may run more than once (a retried conflict); only its last run counts.
    /// - Throws: what `body` throws, or the store's fault when the transaction cannot commit.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T
    /// Runs `body` in one write transaction about `number` (a caller): a store that partitions its writes by number
    /// may run it beside the writes about other numbers, and runs it as `write` when `body` touches anything else.
    /// `reads` are reads `body` is expected to make, which a store over a network may ask for ahead of time, all
    /// at once (a read `body` makes that is not among them, or makes after changing what it reads, is made as
    /// usual). The same contract as `write` otherwise.
    func write<T: Sendable>(
        for number: String?, expecting reads: [ExpectedRead], _ body: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws -> T
    /// Calls `body` with each record matching `filter`, oldest first.
    func forEachRecord(matching filter: RecordFilter, _ body: (ServiceRecord) throws -> Void) throws
    /// The records matching `filter`, oldest first: one page (`filter.limit` bounds it), for request paths.
    func records(matching filter: RecordFilter) async throws -> [ServiceRecord]
    /// The ids of the records matching `filter`, oldest first: a page's cursor without its records.
    func recordIDs(matching filter: RecordFilter) async throws -> [Int64]
    /// The chain head the store keeps beside the records: the last id and hash, nil when there are no records.
    func recordChainHead() throws -> (id: Int64, hash: String)?
    /// The head of every record chain, by chain number: a store with one chain has chain 1 only.
    func recordChainHeads() throws -> [Int: (id: Int64, hash: String)]
    /// Calls `body` with each record of chain `chain` after `afterID` (all when nil), in chain order.
    func forEachRecord(inChain chain: Int, afterID: Int64?, _ body: (ServiceRecord) throws -> Void) throws
    /// Walks the whole chain in one consistent snapshot, up to the head of that snapshot, so records
    /// appended meanwhile never look like tampering; each record a checkpoint of `checkpoints` covers must still
    /// have the hash the checkpoint holds (their signatures are the caller's to check).
    func verifyRecords(checkpoints: [RecordCheckpoint]) throws -> RecordChainReport
    /// Every checkpoint of the chain, oldest first.
    func checkpoints() throws -> [RecordCheckpoint]
    /// A fault after which nothing the store writes may be acknowledged (its database file removed or replaced
    /// under it), as one line; nil while there is none. Cheap enough to ask on every request.
    func fault() -> String?
    /// Whether the store can commit now (the readiness check): no fault, a trial write that is rolled back, room
    /// on the disk.
    func readiness() async -> StoreReadiness
}

extension ServiceStore {
    /// One transaction after every other: a store that does not partition its writes, and reads in process.
    public func write<T: Sendable>(
        for number: String?, expecting reads: [ExpectedRead], _ body: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws -> T {
        try await write(body)
    }

    /// `write(for:expecting:_:)` with no read expected.
    public func write<T: Sendable>(
        for number: String?, _ body: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws -> T {
        try await write(for: number, expecting: [], body)
    }

    /// One chain, chain 1.
    public func recordChainHeads() throws -> [Int: (id: Int64, hash: String)] {
        try recordChainHead().map { [1: $0] } ?? [:]
    }

    /// One chain, chain 1: its records in id order.
    public func forEachRecord(inChain chain: Int, afterID: Int64?, _ body: (ServiceRecord) throws -> Void) throws {
        guard chain == 1 else { return }
        try forEachRecord(matching: RecordFilter(afterID: afterID), body)
    }

    /// No fault: a store that cannot lose its database under it.
    public func fault() -> String? { nil }
    /// Ready unless `fault()` names a fault.
    public func readiness() async -> StoreReadiness { StoreReadiness(problems: fault().map { [$0] } ?? []) }
}

extension ServiceStore {
    /// Walks the whole chain, without checkpoints.
    public func verifyRecords() throws -> RecordChainReport { try verifyRecords(checkpoints: []) }
}

/// A read a write transaction is expected to make (`ServiceStore.write(for:expecting:_:)`), with the arguments it
/// will make it with.
public enum ExpectedRead: Sendable, Hashable {
    /// `StoreReader.usage(_:month:)`.
    case usage(msisdn: String, month: Month)
    /// `StoreReader.recordCount(channel:caller:since:until:)`.
    case recordCount(channel: Channel, caller: String, since: Date, until: Date)
    /// `StoreReader.firstRecord(channel:session:caller:)`.
    case firstRecord(channel: Channel, session: String, caller: String)
}
