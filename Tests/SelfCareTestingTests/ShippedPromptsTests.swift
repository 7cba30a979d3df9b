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

    /// Every key the gateway renders is in both shipped languages, and every reply or notice the rules name is
    /// in the lists `selfcare check` requires (`PromptKey.replies`, `PromptKey.notices`).
    @Test func everyKeyTheGatewayRendersExists() throws {
        let catalog = try Fixtures.shippedPrompts()
        #expect(PromptKey.gatewayKeys.count > 60)
        for key in PromptKey.gatewayKeys {
            for language in [Language.chinese, .english] {
                #expect(catalog.has(key, in: language), "missing prompt \(key) in \(language)")
            }
        }
        func source(_ path: String) throws -> String {
            try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        }
        let declared = Dictionary(
            try source("Sources/SelfCareCore/Prompts/PromptKey.swift").matches(
                of: /static let ([A-Za-z]+) = PromptKey\("([a-z_.]+)"\)/
            ).map { (String($0.1), String($0.2)) }, uniquingKeysWith: { a, _ in a })
        let used = Set(
            try source("Sources/SelfCareCore/Operations/Rules.swift").matches(
                of: /\.((?:reply|notice|item)[A-Z][A-Za-z]*)/
            )
            .map { String($0.1) })
        #expect(used.count > 15)
        let listed = Set((PromptKey.replies + PromptKey.notices).map(\.rawValue))
        for name in used {
            let key = try #require(declared[name], "`.\(name)` is not declared in PromptKey")
            #expect(listed.contains(key), "\(key) is used by the rules but not listed for `selfcare check`")
        }
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
