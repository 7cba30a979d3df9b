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
}
