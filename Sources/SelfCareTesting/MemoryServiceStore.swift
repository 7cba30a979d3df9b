import Foundation
import SelfCareCore
import SelfCareCrypto
import Synchronization

/// An in-memory `ServiceStore` with the same transaction semantics as the SQLite one:
/// writes are serialised, and a body that throws leaves nothing behind.
public final class MemoryServiceStore: ServiceStore {
    struct State: Sendable {
        var subscribers: [String: Subscriber] = [:]
        var plans: [String: Plan] = [:]
        var usage: [String: UsageMonth] = [:]
        var calls: [String: [CallDetail]] = [:]
        var pending: [String: PendingChange] = [:]
        var confirmations: [String: PendingConfirmation] = [:]
        var throttles: [String: CallerThrottle] = [:]
        var records: [ServiceRecord] = []
        var head: (id: Int64, hash: String)?
        var checkpoints: [RecordCheckpoint] = []
        var orders: [ServiceOrder] = []
        var payments: [String: Payment] = [:]
        var events: [String: SubscriberEvent] = [:]
        var feedFiles: [FeedFile] = []
        var notices: [Notice] = []
        var cards: [String: RechargeCard] = [:]
        var catalogue: [String: String] = [:]
        var features: [String: String] = [:]
        var tickets: [Ticket] = []
    }

    private let state = Mutex(State())
    /// How many times each write's body runs; only the last run's changes and result are kept.
    public let writeRuns: Int

    /// An empty store.
    /// - Parameter writeRuns: how many times each write's body runs, every run but the last thrown away as if
    ///   its transaction had lost a serialization conflict, as a store over a network database may do
    ///   (`ServiceStore`'s requirements): with 2, a test shows that the bodies it writes with can run again.
    public init(writeRuns: Int = 1) {
        precondition(writeRuns >= 1)
        self.writeRuns = writeRuns
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let snapshot = state.withLock { $0 }
        return try body(MemoryAccess(state: snapshot))
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try state.withLock { state in
            // The runs before the last see the same state and leave nothing: a conflict's retry, in one place.
            for _ in 1..<writeRuns { _ = try body(MemoryAccess(state: state)) }
            let access = MemoryAccess(state: state)
            let result = try body(access)
            state = access.state
            return result
        }
    }

    public func forEachRecord(matching filter: RecordFilter, _ body: (ServiceRecord) throws -> Void) throws {
        let records = state.withLock { $0.records }
        let since = filter.since.map(ISOTime.format)
        var listed = 0
        for record in records {
            if let subject = filter.subject, record.subject != subject { continue }
            if let since, record.time < since { continue }
            if let after = filter.afterID, record.id <= after { continue }
            if let limit = filter.limit, listed >= limit { return }
            listed += 1
            try body(record)
        }
    }

    public func records(matching filter: RecordFilter) async throws -> [ServiceRecord] {
        var records: [ServiceRecord] = []
        try forEachRecord(matching: filter) { records.append($0) }
        return records
    }

    public func recordIDs(matching filter: RecordFilter) async throws -> [Int64] {
        try await records(matching: filter).map(\.id)
    }

    public func recordChainHead() throws -> (id: Int64, hash: String)? { state.withLock { $0.head } }

    public func checkpoints() throws -> [RecordCheckpoint] { state.withLock { $0.checkpoints } }

    public func verifyRecords(checkpoints: [RecordCheckpoint]) throws -> RecordChainReport {
        let (records, head) = state.withLock { ($0.records, $0.head) }
        var verifier = RecordChainVerifier(checkpoints: checkpoints)
        for record in records where record.id <= head?.id ?? .max { verifier.check(record) }
        verifier.finish(head: head)
        return verifier.report
    }

    /// Forgets the chain head (a test's tampering).
    public func deleteChainHead() { state.withLock { $0.head = nil } }

    /// Replaces the record with `id` (a test's tampering).
    public func tamper(recordID id: Int64, _ change: (inout ServiceRecord) -> Void) {
        state.withLock { state in
            if let i = state.records.firstIndex(where: { $0.id == id }) { change(&state.records[i]) }
        }
    }

    /// Changes a stored subscriber at once, outside any transaction (a test's concurrent writer).
    public func modifySubscriber(_ msisdn: String, _ change: (inout Subscriber) -> Void) {
        state.withLock { state in
            if var s = state.subscribers[msisdn] {
                change(&s)
                state.subscribers[msisdn] = s
            }
        }
    }

    /// Deletes the record with `id` (a test's tampering).
    public func delete(recordID id: Int64) {
        state.withLock { $0.records.removeAll { $0.id == id } }
    }
}

final class MemoryAccess: StoreWriter {
    var state: MemoryServiceStore.State

    init(state: MemoryServiceStore.State) { self.state = state }

    private static func usageKey(_ msisdn: String, _ month: Month) -> String { "\(msisdn)|\(month)" }
    private static func pendingKey(_ msisdn: String, _ kind: PendingChange.Kind) -> String {
        "\(msisdn)|\(kind.rawValue)"
    }

    func subscriber(_ msisdn: String) throws -> Subscriber? { state.subscribers[msisdn] }
    func plan(_ code: String) throws -> Plan? { state.plans[code] }
    func plans() throws -> [Plan] {
        state.plans.values.sorted { ($0.monthlyFeeFen, $0.code) < ($1.monthlyFeeFen, $1.code) }
    }
    func usage(_ msisdn: String, month: Month) throws -> UsageMonth? { state.usage[Self.usageKey(msisdn, month)] }
    func recentCalls(_ msisdn: String, limit: Int) throws -> [CallDetail] {
        Array((state.calls[msisdn] ?? []).sorted { $0.startedAt > $1.startedAt }.prefix(limit))
    }
    func call(msisdn: String, startedAt: Date, peer: String) throws -> CallDetail? {
        state.calls[msisdn]?.first { $0.startedAt == startedAt && $0.peer == peer }
    }
    func pendingChanges(_ msisdn: String) throws -> [PendingChange] {
        state.pending.values.filter { $0.msisdn == msisdn }.sorted { $0.kind.rawValue < $1.kind.rawValue }
    }
    func duePendingChanges(onOrBefore date: LocalDate) throws -> [PendingChange] {
        state.pending.values.filter { $0.effective <= date }.sorted {
            ($0.effective, $0.msisdn, $0.kind.rawValue) < ($1.effective, $1.msisdn, $1.kind.rawValue)
        }
    }
    func save(_ subscriber: Subscriber) throws { state.subscribers[subscriber.msisdn] = subscriber }

    func insertIfAbsent(_ subscriber: Subscriber) throws -> Bool {
        guard state.subscribers[subscriber.msisdn] == nil else { return false }
        state.subscribers[subscriber.msisdn] = subscriber
        return true
    }
    func confirmation(caller: String, channel: Channel) throws -> PendingConfirmation? {
        state.confirmations["\(caller)|\(channel)"]
    }
    func save(_ confirmation: PendingConfirmation) throws {
        state.confirmations["\(confirmation.caller)|\(confirmation.channel)"] = confirmation
    }
    func deleteConfirmation(caller: String, channel: Channel) throws {
        state.confirmations["\(caller)|\(channel)"] = nil
    }
    func callerThrottle(_ caller: String) throws -> CallerThrottle? { state.throttles[caller] }
    func save(_ throttle: CallerThrottle) throws { state.throttles[throttle.caller] = throttle }
    func firstRecord(channel: Channel, session: String, caller: String) throws -> ServiceRecord? {
        state.records.first {
            $0.channel == channel.rawValue && $0.session == session && $0.caller == caller
                && $0.reason != "rate_limited"
        }
    }
    func recordCount(channel: Channel, caller: String, since: Date, until: Date) throws -> Int {
        let (from, to) = (ISOTime.format(since), ISOTime.format(until))
        return state.records.reduce(0) {
            $0 + ($1.channel == channel.rawValue && $1.caller == caller && $1.time >= from && $1.time <= to ? 1 : 0)
        }
    }
    func save(_ change: PendingChange) throws { state.pending[Self.pendingKey(change.msisdn, change.kind)] = change }
    func deletePendingChange(msisdn: String, kind: PendingChange.Kind) throws {
        state.pending[Self.pendingKey(msisdn, kind)] = nil
    }
    func save(_ plan: Plan) throws { state.plans[plan.code] = plan }
    func save(_ usage: UsageMonth) throws { state.usage[Self.usageKey(usage.msisdn, usage.month)] = usage }
    func save(_ call: CallDetail) throws {
        var list = state.calls[call.msisdn] ?? []
        list.removeAll { $0.startedAt == call.startedAt && $0.peer == call.peer }
        list.append(call)
        state.calls[call.msisdn] = list
    }
    func recentPayments(_ msisdn: String, limit: Int) throws -> [Payment] {
        Array(
            state.payments.values.filter { $0.msisdn == msisdn }.sorted { ($0.paidAt, $0.id) > ($1.paidAt, $1.id) }
                .prefix(max(0, limit)))
    }
    func payment(id: String) throws -> Payment? { state.payments[id] }
    func event(id: String) throws -> SubscriberEvent? { state.events[id] }
    func recentEvents(_ msisdn: String, limit: Int) throws -> [SubscriberEvent] {
        Array(
            state.events.values.filter { $0.msisdn == msisdn }.sorted { ($0.at, $0.id) > ($1.at, $1.id) }
                .prefix(max(0, limit)))
    }
    func openSubscriberNumbers() throws -> [String] {
        state.subscribers.values.filter { $0.status != .closed }.map(\.msisdn).sorted()
    }
    func lastFeedFiles() throws -> [FeedFile] {
        Dictionary(grouping: state.feedFiles, by: \.feed).values.compactMap { $0.max { $0.sequence < $1.sequence } }
            .sorted { $0.feed < $1.feed }
    }
    func feedFile(feed: String, sequence: Int) throws -> FeedFile? {
        state.feedFiles.first { $0.feed == feed && $0.sequence == sequence }
    }
    func save(_ payment: Payment) throws { state.payments[payment.id] = payment }
    func deleteHistory(of msisdn: String) throws {
        state.usage = state.usage.filter { $0.value.msisdn != msisdn }
        state.calls[msisdn] = nil
        state.payments = state.payments.filter { $0.value.msisdn != msisdn }
        state.events = state.events.filter { $0.value.msisdn != msisdn }
        state.pending = state.pending.filter { $0.value.msisdn != msisdn }
        try deleteConfirmations(involving: msisdn)
        state.throttles[msisdn] = nil
        state.features[msisdn] = nil
    }
    func card(_ serial: String) throws -> RechargeCard? { state.cards[serial] }
    func save(_ card: RechargeCard) throws { state.cards[card.serial] = card }
    private static func catalogueKey(_ kind: CatalogueKind, _ code: String) -> String { "\(kind.rawValue)|\(code)" }
    func catalogueEntries(_ kind: CatalogueKind) throws -> [String: String] {
        let prefix = "\(kind.rawValue)|"
        return Dictionary(
            uniqueKeysWithValues: state.catalogue.filter { $0.key.hasPrefix(prefix) }.map {
                (String($0.key.dropFirst(prefix.count)), $0.value)
            })
    }
    func catalogueEntry(_ kind: CatalogueKind, code: String) throws -> String? {
        state.catalogue[Self.catalogueKey(kind, code)]
    }
    func saveCatalogueEntry(_ kind: CatalogueKind, code: String, text: String) throws {
        state.catalogue[Self.catalogueKey(kind, code)] = text
    }
    func featuresText(_ msisdn: String) throws -> String? { state.features[msisdn] }
    func saveFeaturesText(_ text: String, of msisdn: String) throws { state.features[msisdn] = text }
    func tickets(_ msisdn: String, limit: Int) throws -> [Ticket] {
        Array(state.tickets.filter { $0.msisdn == msisdn }.reversed().prefix(limit))
    }
    func lastTicketID() throws -> Int64 { state.tickets.last?.id ?? 0 }
    func insert(_ ticket: Ticket) throws {
        guard ticket.id > (state.tickets.last?.id ?? 0) else { throw MemoryStoreError("ticket \(ticket.id) exists") }
        state.tickets.append(ticket)
    }
    func supersedeOrders(of msisdn: String) throws {
        for index in state.orders.indices where state.orders[index].subject == msisdn {
            state.orders[index].superseded = true
        }
    }
    func deleteConfirmations(involving msisdn: String) throws {
        state.confirmations = state.confirmations.filter { $0.value.caller != msisdn && $0.value.subject != msisdn }
    }
    func save(_ event: SubscriberEvent) throws { state.events[event.id] = event }
    func append(_ file: FeedFile) throws {
        // One file a sequence number, as the SQLite store's primary key has it.
        guard try feedFile(feed: file.feed, sequence: file.sequence) == nil else {
            throw MemoryStoreError("feed_files: \(file.feed) \(file.sequence) is already applied")
        }
        state.feedFiles.append(file)
    }
    func orders(_ filter: OrderFilter) throws -> [ServiceOrder] {
        let selected = state.orders.filter { order in
            (filter.state == nil || order.state == filter.state) && order.id > (filter.afterID ?? 0)
                && (filter.subject == nil || order.subject == filter.subject)
        }
        return Array(selected.prefix(filter.limit.map { max(0, $0) } ?? .max))
    }
    func order(id: Int64) throws -> ServiceOrder? { state.orders.first { $0.id == id } }
    func order(key: String) throws -> ServiceOrder? { state.orders.first { $0.key == key } }
    func orderCounts() throws -> [OrderState: Int] {
        Dictionary(grouping: state.orders, by: \.state).mapValues(\.count)
    }
    func notices(_ filter: NoticeFilter) throws -> [Notice] {
        let selected = state.notices.filter {
            (filter.state == nil || $0.state == filter.state) && $0.id > (filter.afterID ?? 0)
        }
        return Array(selected.prefix(filter.limit.map { max(0, $0) } ?? .max))
    }
    func notice(id: Int64) throws -> Notice? { state.notices.first { $0.id == id } }
    func append(_ draft: NoticeDraft) throws -> Notice {
        let notice = Notice(id: (state.notices.last?.id ?? 0) + 1, draft: draft)
        state.notices.append(notice)
        return notice
    }
    func update(_ notice: Notice) throws {
        guard let index = state.notices.firstIndex(where: { $0.id == notice.id }) else { return }
        state.notices[index] = notice
    }
    func lastOutboxFile() throws -> Int { state.orders.compactMap(\.outboxFile).max() ?? 0 }
    func orders(inOutboxFile file: Int) throws -> [ServiceOrder] { state.orders.filter { $0.outboxFile == file } }
    func update(_ order: ServiceOrder) throws {
        guard let index = state.orders.firstIndex(where: { $0.id == order.id }) else { return }
        state.orders[index] = order
    }
    func append(_ draft: OrderDraft) throws -> ServiceOrder {
        // The key is unique, as the SQLite store's constraint has it.
        guard !state.orders.contains(where: { $0.key == draft.key }) else {
            throw MemoryStoreError("orders.key: \(draft.key) is already taken")
        }
        let order = ServiceOrder(id: (state.orders.last?.id ?? 0) + 1, draft: draft)
        state.orders.append(order)
        return order
    }
    func recordChainHead() throws -> (id: Int64, hash: String)? { state.head }

    func latestCheckpoint() throws -> RecordCheckpoint? { state.checkpoints.last }

    func insert(_ checkpoint: RecordCheckpoint) throws { state.checkpoints.append(checkpoint) }

    func append(_ draft: RecordDraft) throws -> ServiceRecord {
        let record = ServiceRecord.chained(
            draft, id: (state.head?.id ?? 0) + 1, prevHash: state.head?.hash ?? ServiceRecord.genesisHash)
        state.records.append(record)
        state.head = (record.id, record.hash)
        return record
    }
}

/// A constraint the memory store enforces as the SQLite schema does.
struct MemoryStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
