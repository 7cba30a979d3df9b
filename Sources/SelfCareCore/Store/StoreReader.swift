import Foundation

/// Reads the gateway's data inside one consistent snapshot.
public protocol StoreReader {
    /// The subscriber with the number `msisdn` (normalised), nil when there is none.
    func subscriber(_ msisdn: String) throws -> Subscriber?
    /// The plan with the code `code`, on sale or not; nil when there is none.
    func plan(_ code: String) throws -> Plan?
    /// Every plan, ordered by monthly fee then code.
    func plans() throws -> [Plan]
    /// `msisdn`'s usage in `month`, nil when billing sent none.
    func usage(_ msisdn: String, month: Month) throws -> UsageMonth?
    /// The newest calls first, at most `limit`.
    func recentCalls(_ msisdn: String, limit: Int) throws -> [CallDetail]
    /// `msisdn`'s pending changes (at most one of each kind), soonest first.
    func pendingChanges(_ msisdn: String) throws -> [PendingChange]
    /// Pending changes effective on or before `date`, oldest first.
    func duePendingChanges(onOrBefore date: LocalDate) throws -> [PendingChange]
    /// The transaction `caller` has been asked to confirm on `channel`, if any.
    func confirmation(caller: String, channel: Channel) throws -> PendingConfirmation?
    /// The first record of `caller` for `session` on `channel` (an inbound message id) that settled the
    /// message, if any; a message refused `rate_limited` was not settled and may be sent again.
    func firstRecord(channel: Channel, session: String, caller: String) throws -> ServiceRecord?
    /// How many records `caller` has on `channel` written from `since` to `until`, both included (the rate
    /// limit's count).
    func recordCount(channel: Channel, caller: String, since: Date, until: Date) throws -> Int
    /// The service orders `filter` selects, oldest first.
    func orders(_ filter: OrderFilter) throws -> [ServiceOrder]
    /// The service order `id`, nil when there is none.
    func order(id: Int64) throws -> ServiceOrder?
    /// The service order with the idempotency key `key`, nil when there is none.
    func order(key: String) throws -> ServiceOrder?
    /// How many orders are in each state (states without orders left out).
    func orderCounts() throws -> [OrderState: Int]
    /// The SMS notices `filter` selects, oldest first.
    func notices(_ filter: NoticeFilter) throws -> [Notice]
    /// The notice `id`, nil when there is none.
    func notice(id: Int64) throws -> Notice?
    /// The highest outbox file sequence number given to orders so far (0 when none).
    func lastOutboxFile() throws -> Int
    /// The orders put in outbox file `file`, by id.
    func orders(inOutboxFile file: Int) throws -> [ServiceOrder]
    /// `caller`'s failed attempts on other numbers' passwords, if it has any on file.
    func callerThrottle(_ caller: String) throws -> CallerThrottle?
    /// The newest payments of `msisdn` first, at most `limit`.
    func recentPayments(_ msisdn: String, limit: Int) throws -> [Payment]
    /// The payment billing numbered `id`, if stored (import comparison).
    func payment(id: String) throws -> Payment?
    /// The change event billing numbered `id`, if stored (import comparison).
    func event(id: String) throws -> SubscriberEvent?
    /// The newest change events of `msisdn` first, at most `limit`.
    func recentEvents(_ msisdn: String, limit: Int) throws -> [SubscriberEvent]
    /// The numbers of every subscriber not closed (a full snapshot closes those it leaves out).
    func openSubscriberNumbers() throws -> [String]
    /// The last file applied of each feed, by feed name.
    func lastFeedFiles() throws -> [FeedFile]
    /// The file applied as `sequence` of `feed`, if any.
    func feedFile(feed: String, sequence: Int) throws -> FeedFile?
    /// The recharge card with serial `serial`, if the voucher system supplied it.
    func card(_ serial: String) throws -> RechargeCard?
    /// Every entry of one catalogue (data packs, basic services, rewards) as its stored JSON, by code.
    func catalogueEntries(_ kind: CatalogueKind) throws -> [String: String]
    /// The entry `code` of one catalogue as its stored JSON, nil when there is none.
    func catalogueEntry(_ kind: CatalogueKind, code: String) throws -> String?
    /// What `msisdn`'s account holds beyond the subscriber row, as its stored JSON; nil when nothing is stored.
    func featuresText(_ msisdn: String) throws -> String?
    /// The tickets `msisdn` filed, the newest first, at most `limit`.
    func tickets(_ msisdn: String, limit: Int) throws -> [Ticket]
    /// The highest ticket id filed so far (0 when none): the next ticket takes the one after.
    func lastTicketID() throws -> Int64
}

/// The catalogues the billing system supplies beside the plans, each stored as JSON entries by code.
public enum CatalogueKind: String, Sendable, CaseIterable {
    /// Data packs 流量包 (`DataPack`).
    case pack
    /// Basic services 基础业务 (`BasicService`).
    case service
    /// Rewards for points 积分兑换 (`Reward`).
    case reward
}

extension StoreReader {
    /// Every data pack, cheapest first, then by code.
    public func dataPacks() throws -> [DataPack] {
        try entries(DataPack.self).sorted { ($0.feeFen, $0.code) < ($1.feeFen, $1.code) }
    }

    /// The data pack `code`, on sale or not.
    public func dataPack(_ code: String) throws -> DataPack? { try entry(code, DataPack.self) }

    /// Every basic service, by code.
    public func basicServices() throws -> [BasicService] {
        try entries(BasicService.self).sorted { $0.code < $1.code }
    }

    /// The basic service `code`.
    public func basicService(_ code: String) throws -> BasicService? { try entry(code, BasicService.self) }

    /// Every reward, the fewest points first, then by code.
    public func rewards() throws -> [Reward] {
        try entries(Reward.self).sorted { ($0.points, $0.code) < ($1.points, $1.code) }
    }

    /// The reward `code`.
    public func reward(_ code: String) throws -> Reward? { try entry(code, Reward.self) }

    /// What `msisdn`'s account holds beyond the subscriber row; empty when nothing is stored.
    public func features(_ msisdn: String) throws -> SubscriberFeatures {
        guard let text = try featuresText(msisdn) else { return SubscriberFeatures() }
        do { return try SubscriberFeatures.decoded(text) } catch {
            throw CatalogueDecodingError(table: "subscriber_features", key: msisdn)
        }
    }

    /// Every entry of `Entry`'s catalogue, in no order.
    public func entries<Entry: CatalogueEntry>(_: Entry.Type) throws -> [Entry] {
        try catalogueEntries(Entry.kind).map { code, text in try Self.decode(text, code: code, Entry.self) }
    }

    /// The entry `code` of `Entry`'s catalogue, nil when there is none.
    public func entry<Entry: CatalogueEntry>(_ code: String, _: Entry.Type) throws -> Entry? {
        try catalogueEntry(Entry.kind, code: code).map { try Self.decode($0, code: code, Entry.self) }
    }

    private static func decode<Entry: CatalogueEntry>(_ text: String, code: String, _: Entry.Type) throws -> Entry {
        do { return try JSONDecoder().decode(Entry.self, from: Data(text.utf8)) } catch {
            throw CatalogueDecodingError(table: "catalogue.\(Entry.kind.rawValue)", key: code)
        }
    }
}

/// A stored catalogue entry or account's features that does not decode: a fault, never a silent default.
public struct CatalogueDecodingError: Error, CustomStringConvertible {
    /// Where the row is.
    public var table: String
    /// Its key.
    public var key: String
    /// What a log says of it.
    public var description: String { "\(table) \(key): unreadable stored JSON" }
}
