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
