import Foundation

/// What the channels and the HTTP layer may read, through the engine rather than the store.
extension OperationEngine {
    /// What a channel needs to know of a caller before any operation: the language to answer in and the tier that
    /// picks its menu. An unknown number gets the default language and the standard tier; so does any number
    /// when the store cannot be read, which is logged.
    public func callerProfile(_ number: String) async -> CallerProfile {
        let number = normalizeNumber(number) ?? number
        do {
            let subscriber = try await store.read { try $0.subscriber(number) }
            return CallerProfile(
                language: prompts.language(for: subscriber?.language), tier: subscriber?.tier ?? .standard,
                known: subscriber != nil)
        } catch {
            logger.error(
                "caller could not be read", metadata: ["caller": "\(maskNumber(number))", "error": "\(error)"])
            return CallerProfile(language: prompts.defaultLanguage, tier: .standard, known: false)
        }
    }

    /// The plans `msisdn` may move to (`BusinessRules.eligiblePlans`), cheapest first; empty for an unknown
    /// number. Throws when the store cannot be read: a fault is not "no plans".
    public func eligiblePlans(for msisdn: String) async throws -> [Plan] {
        do {
            return try await store.read { reader in
                guard let subscriber = try reader.subscriber(msisdn) else { return [] }
                return BusinessRules.eligiblePlans(for: subscriber, among: try reader.plans())
            }
        } catch {
            logger.error(
                "plans could not be read", metadata: ["subject": "\(maskNumber(msisdn))", "error": "\(error)"])
            throw error
        }
    }

    /// What a session channel offers for a list slot of `operation` (`plan`, `pack`, `service`, `reward`) to
    /// `msisdn`, in `language`, in menu order: the eligible plans; the packs it may order (or, to cancel, next
    /// month's); the services on sale it has not (or, to unsubscribe, has); every reward. Each with the values its
    /// list item shows (`plan`/`pack`/`service`/`reward` the name, `fee` in yuan, `cost` in points). Empty for an
    /// unknown number or a slot that is no list. Throws when the store cannot be read.
    public func choices(
        for slot: String, operation: OperationName, msisdn: String, language: Language
    ) async throws -> [MenuChoice] {
        let calendar = configuration.calendar
        let today = calendar.date(of: clock.now())
        do {
            return try await store.read { reader in
                guard let subscriber = try reader.subscriber(msisdn) else { return [] }
                switch slot {
                case "plan":
                    return BusinessRules.eligiblePlans(for: subscriber, among: try reader.plans()).map {
                        MenuChoice(
                            code: $0.code, values: ["plan": $0.name(in: language), "fee": formatYuan($0.monthlyFeeFen)])
                    }
                case "pack":
                    var packs = try reader.dataPacks()
                    if operation == .dataPackCancel {
                        let next = today.monthOf.next.description
                        let held = try reader.features(msisdn).packs.filter { $0.month == next }.map(\.code)
                        packs = packs.filter { held.contains($0.code) }
                    } else {
                        packs = packs.filter { $0.allows(subscriber) }
                    }
                    return packs.map {
                        MenuChoice(
                            code: $0.code, values: ["pack": $0.name(in: language), "fee": formatYuan($0.feeFen)])
                    }
                case "service":
                    let held = try reader.features(msisdn).services
                    return try reader.basicServices().filter {
                        operation == .serviceUnsubscribe ? held.contains($0.code) : $0.onSale && !held.contains($0.code)
                    }.map {
                        MenuChoice(
                            code: $0.code,
                            values: ["service": $0.name(in: language), "fee": formatYuan($0.monthlyFeeFen)])
                    }
                case "reward":
                    return try reader.rewards().map {
                        MenuChoice(code: $0.code, values: ["reward": $0.name(in: language), "cost": String($0.points)])
                    }
                default:
                    return []
                }
            }
        } catch {
            logger.error(
                "choices could not be read",
                metadata: ["subject": "\(maskNumber(msisdn))", "slot": "\(slot)", "error": "\(error)"])
            throw error
        }
    }

    /// Runs `admission`'s check on its own, before an attempt that would spend a password check on a message
    /// the check refuses (a repeat, a flood). The attempt runs the check again in its transaction.
    public func admissionRefusal(_ admission: Admission) async throws -> Admission.Refusal? {
        try await store.read { reader in try admission.check(reader) }
    }

    /// A page of records matching `filter` (at most `filter.limit`), oldest first, read without holding a thread
    /// of the cooperative pool.
    public func records(matching filter: RecordFilter) async throws -> [ServiceRecord] {
        try await store.records(matching: filter)
    }

    /// The ids of the records matching `filter`, oldest first: a page's cursor without its records.
    public func recordIDs(matching filter: RecordFilter) async throws -> [Int64] {
        try await store.recordIDs(matching: filter)
    }

    /// The service orders `filter` selects, oldest first (docs/orders.md).
    public func orders(_ filter: OrderFilter) async throws -> [ServiceOrder] {
        try await store.read { try $0.orders(filter) }
    }

    /// The service order `id`, nil when there is none.
    public func order(id: Int64) async throws -> ServiceOrder? {
        try await store.read { try $0.order(id: id) }
    }

    /// The store's fault, after which nothing may be acknowledged (`ServiceStore.fault`); nil while there is none.
    public func storeFault() -> String? { store.fault() }

    /// Whether the store can commit now (`ServiceStore.readiness`).
    public func readiness() async -> StoreReadiness { await store.readiness() }
}

/// One entry of a list a session channel offers for a slot: the code the operation takes, and the values its list
/// item shows.
public struct MenuChoice: Sendable, Codable, Equatable {
    /// What the slot takes when this entry is chosen (`P58`, `D10`).
    public var code: String
    /// The item's placeholders: the name, and the fee or cost.
    public var values: [String: String]

    /// An entry with every field given.
    public init(code: String, values: [String: String]) {
        self.code = code
        self.values = values
    }

    /// The slots whose values are chosen from a list on USSD and IVR rather than keyed in.
    public static let listSlots: Set<String> = ["plan", "pack", "service", "reward"]
}

/// What a channel knows of a caller before any operation (`OperationEngine.callerProfile`).
public struct CallerProfile: Sendable, Equatable {
    /// The language to answer in: the subscriber's, or the prompts' default.
    public var language: Language
    /// The service tier that picks the caller's menu (standard for an unknown number).
    public var tier: Tier
    /// Whether the number is a subscriber's.
    public var known: Bool

    /// A caller's profile with every field given.
    public init(language: Language, tier: Tier, known: Bool) {
        self.language = language
        self.tier = tier
        self.known = known
    }
}
