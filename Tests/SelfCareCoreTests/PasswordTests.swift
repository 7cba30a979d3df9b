import Foundation
import InMemoryLogging
import Logging
import SelfCareCore
import SelfCareCrypto
import SelfCareTesting
import Testing

@Suite("Weak password rules")
struct WeakPasswordTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let candidate: String
        let rule: WeakPasswordRule?
        var testDescription: String { "\(candidate) → \(rule?.rawValue ?? "accepted")" }
    }

    static let cases: [Case] = [
        Case(candidate: "12345", rule: .notSixDigits), Case(candidate: "1234567", rule: .notSixDigits),
        Case(candidate: "12a456", rule: .notSixDigits), Case(candidate: "１２３４５６", rule: .notSixDigits),
        Case(candidate: "888888", rule: .repeatedDigit), Case(candidate: "000000", rule: .repeatedDigit),
        Case(candidate: "123456", rule: .ascendingRun), Case(candidate: "567890", rule: .ascendingRun),
        Case(candidate: "789012", rule: .ascendingRun), Case(candidate: "654321", rule: .descendingRun),
        Case(candidate: "098765", rule: .descendingRun), Case(candidate: "210987", rule: .descendingRun),
        Case(candidate: "345678", rule: .ascendingRun), Case(candidate: "125678", rule: .numberSuffix),
        Case(candidate: "258036", rule: .sameAsOld), Case(candidate: "147036", rule: nil),
        Case(candidate: "112233", rule: nil), Case(candidate: "135790", rule: nil),
    ]

    @Test(arguments: cases)
    func rule(_ c: Case) {
        #expect(PasswordRules.weakness(of: Secret(c.candidate), for: "18612125678", old: Secret("258036")) == c.rule)
    }

    @Test func everyRuleIsExercised() {
        #expect(Set(Self.cases.compactMap(\.rule)) == Set(WeakPasswordRule.allCases))
    }

    @Test func numberSuffixUsesTheSubjectNumber() {
        #expect(PasswordRules.weakness(of: Secret("345679"), for: "18612345679") == .numberSuffix)
        #expect(PasswordRules.weakness(of: Secret("345679"), for: "18612345678") == nil)
    }
}

@Suite("Lockout, rehash and password change through the engine")
struct PasswordEngineTests {
    static let number = "18612345678"

    func setUp(
        threshold: Int = 5, clock: ManualTimeSource, hasher: PBKDF2PasswordHasher = Fixtures.hasher()
    )
        async throws -> (MemoryServiceStore, OperationEngine)
    {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber(Self.number)])
        var configuration = EngineConfiguration()
        configuration.passwords.lockoutThreshold = threshold
        return (store, try Fixtures.engine(store: store, clock: clock, hasher: hasher, configuration: configuration))
    }

    func attempt(_ engine: OperationEngine, _ password: String, subject: String? = nil) async -> OperationOutcome {
        await engine.perform(
            OperationRequest(
                operation: .queryServices, channel: .sms, caller: Self.number, subject: subject,
                password: Secret(password)))
    }

    @Test(arguments: [5, 3])
    func locksAtExactlyTheThresholdAndExpires(threshold: Int) async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        let (store, engine) = try await setUp(threshold: threshold, clock: clock)
        for i in 1..<threshold {
            let o = await attempt(engine, "000000")
            #expect(o.reason == .badPassword)
            #expect(o.record?.auth == "failed")
            #expect(o.reply.contains("\(threshold - i)"), "remaining tries shown: \(o.reply)")
        }
        let locking = await attempt(engine, "000000")
        #expect(locking.reason == .badPassword)
        #expect(locking.record?.auth == "failed")
        let locked = try #require(try await store.read { try $0.subscriber(Self.number) }?.passwordLockedUntil)
        #expect(locked == Fixtures.midNovember + 24 * 3600)

        // The right password is refused while locked, without a hash being checked.
        let refused = await attempt(engine, "258036")
        #expect(refused.reason == .passwordLocked)
        #expect(refused.record?.auth == "locked")
        clock.advance(by: 24 * 3600 - 1)
        #expect(await attempt(engine, "258036").reason == .passwordLocked)
        clock.advance(by: 1)
        let after = await attempt(engine, "258036")
        #expect(after.reason == .ok)
        #expect(after.record?.auth == "ok")
        let s = try #require(try await store.read { try $0.subscriber(Self.number) })
        #expect(s.failedPasswordAttempts == 0 && s.passwordLockedUntil == nil)
    }

    @Test func oneFewerThanTheThresholdDoesNotLock() async throws {
        let (store, engine) = try await setUp(clock: ManualTimeSource(Fixtures.midNovember))
        for _ in 0..<4 { _ = await attempt(engine, "000000") }
        #expect(try await store.read { try $0.subscriber(Self.number) }?.passwordLockedUntil == nil)
        #expect(await attempt(engine, "258036").reason == .ok)
        // A good password resets the count: four more failures still do not lock.
        for _ in 0..<4 { _ = await attempt(engine, "000000") }
        #expect(await attempt(engine, "258036").reason == .ok)
    }

    @Test func digitsKeyedIntoAnArgumentAreMaskedWhenEchoed() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber(Self.number)])
        let engine = try Fixtures.engine(store: store)
        // The password keyed where the month belongs, then a wrong password: the refusal names the
        // argument but never shows a run of six digits (found by the sessions fuzzer).
        let o = await engine.perform(
            OperationRequest(
                operation: .queryBill, channel: .ivr, caller: Self.number, arguments: ["month": "258036"],
                password: Secret("000000")))
        #expect(o.reason == .invalidArgument)
        #expect(o.reply.contains("month"))
        #expect(!o.reply.contains("258036"))
        #expect(o.record.map { !$0.inputs.contains("258036") && !$0.reply.contains("258036") } == true)
        let short = await engine.perform(
            OperationRequest(
                operation: .queryBill, channel: .ivr, caller: Self.number, arguments: ["month": "2026-13"],
                password: Secret("000000")))
        #expect(short.reply.contains("2026-13"), "short runs are still echoed: \(short.reply)")
    }

    @Test func lockoutIsPerSubjectNumberAcrossChannels() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(Self.number), Fixtures.subscriber("18611110001")])
        let engine = try Fixtures.engine(store: store)
        for channel in [Channel.sms, .ussd, .ivr, .api, .sms] {
            let o = await engine.perform(
                OperationRequest(
                    operation: .lossReport, channel: channel, caller: Self.number, password: Secret("000000")))
            #expect(o.reason == .badPassword)
        }
        let o = await engine.perform(
            OperationRequest(
                operation: .lossReport, channel: .ivr, caller: Self.number, password: Fixtures.password))
        #expect(o.reason == .passwordLocked)
        // Another number is not affected.
        let other = await engine.perform(
            OperationRequest(operation: .queryPUK, channel: .api, caller: "18611110001", password: Fixtures.password))
        #expect(other.reason == .ok)
    }

    @Test func parallelWrongPasswordsLockAfterExactlyTheThreshold() async throws {
        let (_, engine) = try await setUp(clock: ManualTimeSource(Fixtures.midNovember))
        let outcomes = await withTaskGroup(of: OperationOutcome.self) { group in
            for _ in 0..<40 { group.addTask { await self.attempt(engine, "000000") } }
            var all: [OperationOutcome] = []
            for await o in group { all.append(o) }
            return all
        }
        #expect(outcomes.filter { $0.reason == .badPassword }.count == 5)
        #expect(outcomes.filter { $0.reason == .passwordLocked }.count == 35)
    }

    @Test func rehashesOnGoodLoginWhenCostRises() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        let store = MemoryServiceStore()
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(Self.number, hasher: Fixtures.hasher(iterations: 1000))])
        let engine = try Fixtures.engine(store: store, clock: clock, hasher: Fixtures.hasher(iterations: 2000))
        let stored = { try await store.read { try $0.subscriber(Self.number)?.passwordHash } }
        let original = try #require(try await stored())
        _ = await attempt(engine, "000000")
        #expect(try await stored() == original, "no rehash after a failed login")
        #expect(await attempt(engine, "258036").reason == .ok)
        let upgraded = try #require(try await stored())
        #expect(upgraded != original)
        #expect(upgraded.contains("i=2000"))
        #expect(try Fixtures.hasher(iterations: 2000).verify(Secret("258036"), against: upgraded).matches)
        #expect(await attempt(engine, "258036").reason == .ok)
    }

    /// A hasher that, on its first check, lets another writer replace the stored hash (as a concurrent
    /// rehash or `password set` would) before answering.
    final class RacingHasher: PasswordHasher, @unchecked Sendable {
        let inner = Fixtures.hasher()
        let store: MemoryServiceStore
        let lock = NSLock()
        var raced = false
        init(store: MemoryServiceStore) { self.store = store }
        func hash(_ password: Secret) throws -> String { try inner.hash(password) }
        func verify(_ password: Secret, against stored: String) throws -> PasswordVerification {
            let first = lock.withLock { () -> Bool in
                defer { raced = true }
                return !raced
            }
            if first {
                let fresh = try inner.hash(Fixtures.password)
                store.modifySubscriber(PasswordEngineTests.number) { $0.passwordHash = fresh }
            }
            return try inner.verify(password, against: stored)
        }
    }

    @Test func aHashReplacedDuringTheCheckIsCheckedAgainNotCountedAsAFailure() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber(Self.number)])
        let hasher = RacingHasher(store: store)
        let engine = try Fixtures.engine(store: store, hasher: hasher)
        let o = await attempt(engine, "258036")
        #expect(o.reason == .ok)
        #expect(hasher.raced)
        #expect(try await store.read { try $0.subscriber(Self.number) }?.failedPasswordAttempts == 0)
        var records = 0
        try store.forEachRecord(matching: RecordFilter()) { _ in records += 1 }
        #expect(records == 1, "one attempt, one record, even when checked twice")
    }

    @Test func passwordChangeRefusals() async throws {
        let (_, engine) = try await setUp(clock: ManualTimeSource(Fixtures.midNovember))
        func change(_ old: String, _ new: String, _ again: String) async -> OperationOutcome {
            await engine.perform(
                OperationRequest(
                    operation: .passwordChange, channel: .api, caller: Self.number, password: Secret(old),
                    newPassword: Secret(new), newPasswordAgain: Secret(again)))
        }
        #expect(await change("258036", "147036", "147037").reason == .passwordMismatch)
        #expect(await change("258036", "123456", "123456").reason == .weakPassword)
        #expect(await change("258036", "345678", "345678").reason == .weakPassword)
        #expect(await change("000000", "147036", "147036").reason == .badPassword)
        #expect(await change("258036", "147036", "147036").reason == .ok)
        #expect(await change("258036", "369147", "369147").reason == .badPassword, "the old password no longer works")
        #expect(await change("147036", "369147", "369147").reason == .ok)
    }

    @Test func missingOrUnsetPasswords() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(Self.number), Fixtures.subscriber("18611110013", hasher: nil)])
        let engine = try Fixtures.engine(store: store)
        let none = await engine.perform(OperationRequest(operation: .queryPUK, channel: .api, caller: Self.number))
        #expect(none.reason == .passwordRequired)
        let unset = await engine.perform(
            OperationRequest(operation: .queryPUK, channel: .api, caller: "18611110013", password: Secret("258036")))
        #expect(unset.reason == .passwordNotSet)
    }
}

@Suite("Full-width password digits and the tries left")
struct PasswordInputTests {
    static let number = "18612345678"
    static let english = "18611110001"

    let store = MemoryServiceStore()

    func engine() async throws -> OperationEngine {
        try await Fixtures.seed(
            store,
            subscribers: [Fixtures.subscriber(Self.number), Fixtures.subscriber(Self.english, language: .english)])
        return try Fixtures.engine(store: store)
    }

    func puk(
        _ engine: OperationEngine, _ password: String, from caller: String = Self.number, channel: Channel = .sms
    )
        async -> OperationOutcome
    {
        await engine.perform(
            OperationRequest(operation: .queryPUK, channel: channel, caller: caller, password: Secret(password)))
    }

    @Test(arguments: [Channel.sms, .ussd, .ivr, .api])
    func fullWidthDigitsAreTheSamePassword(channel: Channel) async throws {
        let engine = try await engine()
        let o = await puk(engine, "２５８０３６", channel: channel)
        #expect(o.reason == .ok, "\(o.reply)")
        #expect(o.record?.auth == "ok")
        #expect(try await store.read { try $0.subscriber(Self.number) }?.failedPasswordAttempts == 0)
    }

    @Test func aFullWidthNewPasswordIsStoredAsItsDigits() async throws {
        let engine = try await engine()
        let changed = await engine.perform(
            OperationRequest(
                operation: .passwordChange, channel: .ussd, caller: Self.number, password: Secret("２５８０３６"),
                newPassword: Secret("１４７０３６"), newPasswordAgain: Secret("147036")))
        #expect(changed.reason == .ok, "\(changed.reply)")
        #expect(await puk(engine, "147036").reason == .ok)
        let weak = await engine.perform(
            OperationRequest(
                operation: .passwordChange, channel: .ussd, caller: Self.number, password: Secret("147036"),
                newPassword: Secret("１２３４５６"), newPasswordAgain: Secret("１２３４５６")))
        #expect(weak.reason == .weakPassword)
        #expect(weak.record?.inputValues["weak_rule"] == "ascending_run")
    }

    @Test func theLastTryIsSingular() async throws {
        let engine = try await engine()
        var replies: [String] = []
        for _ in 0..<4 { replies.append(await puk(engine, "000000", from: Self.english).reply) }
        #expect(
            replies == [
                "Wrong service password. 4 tries left.", "Wrong service password. 3 tries left.",
                "Wrong service password. 2 tries left.", "Wrong service password. 1 try left.",
            ])
        var zh: [String] = []
        for _ in 0..<4 { zh.append(await puk(engine, "000000").reply) }
        #expect(zh.last == "服务密码错误，您还可以尝试1次。")
    }
}

@Suite("No password in logs or records")
struct PasswordLeakTests {
    @Test func logsAndRecordsHoldNoPassword() async throws {
        let handler = InMemoryLogHandler()
        var logger = Logger(label: "leak-test", factory: { _ in handler })
        logger.logLevel = .trace
        let store = MemoryServiceStore()
        let number = "18612345678"
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(number, hasher: Fixtures.hasher(iterations: 1000))])
        let engine = try Fixtures.engine(
            store: store, hasher: Fixtures.hasher(iterations: 1500), logger: logger)
        let secrets = ["258036", "147036", "907135", "000111", "741852"]
        func run(
            _ op: OperationName, _ pw: String, new: String? = nil, again: String? = nil, subject: String? = nil
        ) async {
            _ = await engine.perform(
                OperationRequest(
                    operation: op, channel: .sms, caller: subject == nil ? number : "13900000000", subject: subject,
                    arguments: ["password": pw, "plan": "P18"], password: Secret(pw), newPassword: new.map(Secret.init),
                    newPasswordAgain: again.map(Secret.init)))
        }
        await run(.queryPUK, "258036")  // good login, triggers a rehash
        await run(.lossReport, "000111", subject: number)  // wrong
        await run(.passwordChange, "258036", new: "907135", again: "741852")  // mismatch
        await run(.passwordChange, "258036", new: "147036", again: "147036")  // ok
        await run(.planChange, "147036")
        // A password keyed where an argument or the number belongs must not come back.
        _ = await engine.perform(
            OperationRequest(
                operation: .planChange, channel: .sms, caller: number, arguments: ["plan": "147036"],
                password: Secret("147036")))
        _ = await engine.perform(
            OperationRequest(
                operation: .lossReport, channel: .sms, caller: number, subject: "147036", password: Secret("147036")))
        for _ in 0..<5 { await run(.queryCalls, "741852") }  // lockout
        await run(.queryCalls, "147036")  // locked

        let entries = handler.entries
        #expect(entries.count >= 10, "the engine logs each attempt")
        for entry in entries {
            let text = "\(entry.message) \(entry.metadata)"
            for secret in secrets { #expect(!text.contains(secret), "log line holds a password: \(text)") }
        }
        var records = 0
        try store.forEachRecord(matching: RecordFilter()) { record in
            records += 1
            for secret in secrets {
                #expect(!record.jsonLine.contains(secret), "record \(record.id) holds a password")
            }
            #expect(record.inputValues["password"] == nil)
        }
        // One a request, and the notice of the wrong third-party attempt for its subject.
        #expect(records == 14)
    }
}

#if os(Linux)
    @Suite("Hashing threads")
    struct HashingThreadTests {
        /// The nice value of the thread that calls it (Linux keeps one per thread).
        static func currentNiceness() -> Int32 {
            getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        }

        /// A hasher that notes the nice value of the thread each check runs on.
        final class NicenessProbe: PasswordHasher, @unchecked Sendable {
            let base = Fixtures.hasher()
            private let lock = NSLock()
            private var seen: [Int32] = []
            var niceness: [Int32] { lock.withLock { seen } }
            func hash(_ password: Secret) throws -> String { try base.hash(password) }
            func verify(_ password: Secret, against stored: String) throws -> PasswordVerification {
                let nice = HashingThreadTests.currentNiceness()
                lock.withLock { seen.append(nice) }
                return try base.verify(password, against: stored)
            }
        }

        @Test func aPoolRunsItsJobsAtTheNicenessAskedFor() async throws {
            let low = BlockingWorkPool(threads: 2, name: "test.low", niceness: 10)
            let plain = BlockingWorkPool(threads: 1, name: "test.plain")
            let base = Self.currentNiceness()
            try #require(base < 10, "the tests run at nice \(base): nothing to lower")
            #expect(try await low.run { Self.currentNiceness() } == 10)
            #expect(try await plain.run { Self.currentNiceness() } == base)
        }

        @Test func theEngineHashesBelowTheRequestHandlersPriority() async throws {
            let store = MemoryServiceStore()
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            let probe = NicenessProbe()
            // No pool given: the engine makes its own from the configuration (niceness 10 by default).
            let engine = OperationEngine(
                store: store, hasher: probe, prompts: try Fixtures.shippedPrompts(),
                clock: FixedTimeSource(Fixtures.midNovember), logger: Logger(label: "niceness-test"))
            let outcome = await engine.perform(
                OperationRequest(operation: .queryPUK, channel: .api, caller: "18612345678", password: Secret("258036"))
            )
            #expect(outcome.record?.auth == "ok")
            try #require(
                Self.currentNiceness() < 10, "the tests run at nice \(Self.currentNiceness()): nothing to lower")
            #expect(probe.niceness == [EngineConfiguration().passwords.hashingNiceness])
            #expect(EngineConfiguration().passwords.hashingNiceness == 10)
        }
    }
#endif
