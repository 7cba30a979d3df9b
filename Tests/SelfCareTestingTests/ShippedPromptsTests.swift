import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

@Suite("Shipped prompts and fixtures")
struct ShippedPromptsTests {
    /// Reason codes a customer can be refused with, each needing a text.
    static let refusalReasons: [ReasonCode] = [
        .closed, .noData, .alreadyLost, .stateSuspended, .prepaidPeriod, .notLost, .stateLost, .arrears, .contract,
        .unknownPlan, .samePlan, .planNotEligible, .nothingPending, .premiumNumber, .notSuspended, .weakPassword,
        .passwordMismatch, .unknownSubscriber, .unknownCommand, .badPassword, .passwordLocked, .passwordRequired,
        .passwordNotSet, .duplicate, .rateLimited, .confirmationRequired, .confirmationExpired, .invalidArgument,
        .internalError, "third_party_refused", "third_party_locked",
    ]

    @Test func everyLanguageHasTheSameKeysAndPlaceholders() throws {
        let catalog = try Fixtures.shippedPrompts()
        let zh = try #require(catalog.templates[.chinese])
        let en = try #require(catalog.templates[.english])
        #expect(Set(zh.keys) == Set(en.keys))
        for (key, template) in zh {
            #expect(PromptCatalog.placeholders(in: template) == PromptCatalog.placeholders(in: en[key] ?? ""), "\(key)")
        }
    }

    @Test(arguments: refusalReasons)
    func everyRefusalHasAText(_ reason: ReasonCode) throws {
        let catalog = try Fixtures.shippedPrompts()
        for language in Language.supported {
            #expect(catalog.templates[language]?["refused.\(reason.rawValue)"] != nil, "\(language) \(reason)")
        }
    }

    @Test func everyReplyKeyTheRulesUseExists() throws {
        let catalog = try Fixtures.shippedPrompts()
        let source = try String(
            contentsOf: Fixtures.repositoryRoot.appendingPathComponent("Sources/SelfCareCore/Operations/Rules.swift"),
            encoding: .utf8)
        let keys = source.matches(of: /"((?:reply|notice)\.[a-z_.]+)"/).map { String($0.1) }
        #expect(keys.count > 15)
        for key in keys { #expect(catalog.templates[.chinese]?[key] != nil, "missing prompt \(key)") }
    }

    @Test func memoryStoreSnapshotsAreIsolated() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
        let before = try await store.read { try $0.subscriber("18612345678") }
        try await store.write { w in
            var s = try w.subscriber("18612345678")!
            s.points = 1
            try w.save(s)
        }
        #expect(before?.points == 3200)
        #expect(try await store.read { try $0.subscriber("18612345678") }?.points == 1)
    }

    @Test func repositoryRootHoldsThePackage() {
        #expect(
            FileManager.default.fileExists(atPath: Fixtures.repositoryRoot.appendingPathComponent("Package.swift").path)
        )
    }
}
