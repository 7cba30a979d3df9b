import Foundation

/// Changes the gateway's data inside one transaction: all of a transaction's writes land, or none.
public protocol StoreWriter: StoreReader {
    /// The record chain's head as this transaction sees it: the last record's id and hash; nil with no record.
    func recordChainHead() throws -> (id: Int64, hash: String)?
    /// Every record chain's head as this transaction sees it, by chain (chain 1 only on a store with one chain).
    func recordChainHeads() throws -> [Int: (id: Int64, hash: String)]
    /// The highest record id handed out, on a store whose writes take ids side by side (several chains): while the
    /// transaction holds the whole store, every id up to it belongs to a record that is in, or to none. Nil on a
    /// store with one chain, whose head bounds its ids.
    func recordIDsIssued() throws -> Int64?
    /// The last checkpoint written, if any.
    func latestCheckpoint() throws -> RecordCheckpoint?
    /// Adds `checkpoint` (its id the next one).
    func insert(_ checkpoint: RecordCheckpoint) throws
    /// Adds `subscriber`, or replaces the stored subscriber with the same number.
    func save(_ subscriber: Subscriber) throws
    /// Adds `subscriber` when no subscriber has its number, and says whether it did; changes nothing when one has.
    /// A load's new numbers take one statement this way, without a read first.
    func insertIfAbsent(_ subscriber: Subscriber) throws -> Bool
    /// Adds `change`, replacing any pending change of the same kind for the same number.
    func save(_ change: PendingChange) throws
    /// Removes `msisdn`'s pending change of `kind`; nothing when there is none.
    func deletePendingChange(msisdn: String, kind: PendingChange.Kind) throws
    /// Stores `confirmation`, replacing any earlier one of the same caller and channel.
    func save(_ confirmation: PendingConfirmation) throws
    /// Removes the confirmation `caller` was asked for on `channel`; nothing when there is none.
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
    /// Marks every order about `msisdn` superseded: the number was closed, so no answer may undo their changes.
    func supersedeOrders(of msisdn: String) throws
    /// Removes every confirmation waiting that `msisdn` asked for or that concerns it (a number closed).
    func deleteConfirmations(involving msisdn: String) throws
    /// Removes what the gateway holds of `msisdn`'s past beside the subscriber row: usage, calls, payments, change
    /// events, pending changes, confirmations waiting for it, and its caller throttle. For a closed number that
    /// comes back as a new customer's; service records stay (the audit trail).
    func deleteHistory(of msisdn: String) throws
    /// Adds or replaces one payment of the payment history (import).
    func save(_ payment: Payment) throws
    /// Adds or replaces one change event (import).
    func save(_ event: SubscriberEvent) throws
    /// Remembers a feed's file as applied (sync), in the transaction that applies it.
    func append(_ file: FeedFile) throws
    /// Stores what changed of an order: its state, tries, times, last error and answer (by its id).
    func update(_ order: ServiceOrder) throws
    /// Queues an SMS notice, numbered after the last one.
    func append(_ notice: NoticeDraft) throws -> Notice
    /// Stores what changed of a notice: its state, tries, times and last error.
    func update(_ notice: Notice) throws
    /// Appends a service order, pending, numbered after the last one; its key must be new.
    func append(_ order: OrderDraft) throws -> ServiceOrder
    /// Chains `draft` after the last record and appends it.
    func append(_ draft: RecordDraft) throws -> ServiceRecord
    /// Adds `card`, or replaces the stored card with the same serial.
    func save(_ card: RechargeCard) throws
    /// Adds or replaces the entry `code` of one catalogue, as JSON (`save(_:)` of a pack, service or reward).
    func saveCatalogueEntry(_ kind: CatalogueKind, code: String, text: String) throws
    /// Stores what `msisdn`'s account holds beyond the subscriber row, as JSON (`save(_:of:)`).
    func saveFeaturesText(_ text: String, of msisdn: String) throws
    /// Files `ticket` under its id, which must be new (`lastTicketID() + 1`).
    func insert(_ ticket: Ticket) throws
}

extension StoreWriter {
    /// Adds or replaces an entry of its catalogue: a data pack, a basic service, a reward (import).
    public func save<Entry: CatalogueEntry>(_ entry: Entry) throws {
        try saveCatalogueEntry(Entry.kind, code: entry.code, text: try canonicalCatalogueJSON(entry))
    }

    /// Stores `features` as what `msisdn`'s account holds.
    public func save(_ features: SubscriberFeatures, of msisdn: String) throws {
        try saveFeaturesText(try features.encoded(), of: msisdn)
    }
}

/// `value` as JSON with sorted keys: the same entry is stored as the same text.
func canonicalCatalogueJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

extension StoreWriter {
    /// One chain, chain 1.
    public func recordChainHeads() throws -> [Int: (id: Int64, hash: String)] {
        try recordChainHead().map { [1: $0] } ?? [:]
    }

    /// One chain: its head bounds its ids.
    public func recordIDsIssued() throws -> Int64? { nil }
}
