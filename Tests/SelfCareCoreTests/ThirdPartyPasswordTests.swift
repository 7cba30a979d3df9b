import Foundation
import SelfCareCore
import SelfCareCrypto
import SelfCareTesting
import Testing

/// Attempts by a third party (caller ≠ subject): counted per caller, never against the owner, and
/// answered without telling whether the number exists or when a lock ends.
@Suite("Third-party password attempts")
struct ThirdPartyPasswordTests {
    static let owner = "18612345678"
    static let english = "18611110001"
    static let unset = "18611110013"
    static let closed = "18611110005"
    static let neighbour = "18611110012"
    /// Callers that are not subscribers.
    static let strangers = ["13900000001", "13900000002", "13900000003", "13900000004", "13900000005"]

    struct Harness {
        let store: MemoryServiceStore
        let clock: ManualTimeSource
        let engine: OperationEngine

        init(configuration: EngineConfiguration = EngineConfiguration()) async throws {
            store = MemoryServiceStore()
            clock = ManualTimeSource(Fixtures.midNovember)
            try await Fixtures.seed(
                store,
                subscribers: [
                    Fixtures.subscriber(ThirdPartyPasswordTests.owner),
                    Fixtures.subscriber(ThirdPartyPasswordTests.english, language: .english),
                    Fixtures.subscriber(ThirdPartyPasswordTests.unset, hasher: nil),
                    Fixtures.subscriber(ThirdPartyPasswordTests.closed, status: .closed),
                    Fixtures.subscriber(ThirdPartyPasswordTests.neighbour),
                ])
            engine = try Fixtures.engine(store: store, clock: clock, configuration: configuration)
        }

        func attempt(
            _ password: String, from caller: String, subject: String? = nil, operation: OperationName = .lossReport,
            channel: Channel = .sms, hint: Language? = nil
        ) async -> OperationOutcome {
            var request = OperationRequest(
                operation: operation, channel: channel, caller: caller, subject: subject, password: Secret(password))
            request.languageHint = hint
            return await engine.perform(request)
        }

        func subscriber(_ number: String) async throws -> Subscriber? {
            try await store.read { try $0.subscriber(number) }
        }

        func records() throws -> [ServiceRecord] {
            var all: [ServiceRecord] = []
            try store.forEachRecord(matching: RecordFilter()) { all.append($0) }
            return all
        }

        func render(_ key: PromptKey, _ language: Language = .chinese) -> String {
            engine.prompts.render(key, in: language)
        }
    }

    // MARK: - D2: strangers cannot lock the owner out

    @Test func strangersCannotLockTheOwnerOut() async throws {
        let h = try await Harness()
        for caller in Self.strangers {
            let o = await h.attempt("000000", from: caller, subject: Self.owner)
            #expect(o.result == .refused)
            #expect(o.record?.auth == "failed", "the password was checked")
        }
        let owner = try #require(try await h.subscriber(Self.owner))
        #expect(owner.passwordLockedUntil == nil && owner.failedPasswordAttempts == 0)
        // The owner reports the phone lost, from the phone itself and on any channel.
        let own = await h.attempt("258036", from: Self.owner, channel: .ivr)
        #expect(own.reason == .ok, "\(own.reply)")
        #expect(own.record?.auth == "ok")
    }

    @Test func theOwnersOwnWrongPasswordsStillLockPerSubject() async throws {
        let h = try await Harness()
        for _ in 0..<5 { _ = await h.attempt("000000", from: Self.owner, operation: .queryPUK) }
        #expect(try await h.subscriber(Self.owner)?.passwordLockedUntil == Fixtures.midNovember + 24 * 3600)
        #expect(await h.attempt("258036", from: Self.owner, operation: .queryPUK).reason == .passwordLocked)
        // Locked is locked: a third party with the right password is refused too, without learning why.
        let other = await h.attempt("258036", from: Self.strangers[0], subject: Self.owner)
        #expect(other.reason == "third_party_refused")
        #expect(other.record?.auth == "locked")
        #expect(!other.reply.contains("2026-11-16"))
    }

    @Test func aCallerGuessingOtherNumbersIsThrottledWhateverTheTarget() async throws {
        let h = try await Harness()
        let caller = Self.strangers[0]
        for subject in [Self.owner, Self.english, Self.neighbour, Self.owner, Self.english] {
            let o = await h.attempt("000000", from: caller, subject: subject)
            #expect(o.reason == "third_party_refused")
        }
        // Locked out of third-party attempts: even the right password of another number is not checked.
        let right = await h.attempt("258036", from: caller, subject: Self.neighbour)
        #expect(right.reason == "third_party_locked")
        #expect(right.record?.auth == "locked")
        #expect(try await h.subscriber(Self.neighbour)?.status == .normal)
        // Another caller is not affected, and neither are the owners.
        let another = await h.attempt("258036", from: Self.strangers[1], subject: Self.neighbour, operation: .queryPUK)
        #expect(another.reason == .ok)
        for number in [Self.owner, Self.english] {
            let s = try #require(try await h.subscriber(number))
            #expect(s.failedPasswordAttempts == 0 && s.passwordLockedUntil == nil)
        }
        // The lock ends after 24 hours; attempts while locked do not extend it.
        h.clock.advance(by: 24 * 3600 - 1)
        #expect(await h.attempt("000000", from: caller, subject: Self.owner).reason == "third_party_locked")
        h.clock.advance(by: 1)
        let after = await h.attempt("258036", from: caller, subject: Self.owner, operation: .queryPUK)
        #expect(after.reason == .ok)
    }

    @Test func aCallersOwnRequestsAreNotThrottled() async throws {
        let h = try await Harness()
        // 18611110012 is a subscriber who guesses other numbers' passwords until locked out of that.
        for _ in 0..<6 { _ = await h.attempt("000000", from: Self.neighbour, subject: Self.owner) }
        #expect(await h.attempt("000000", from: Self.neighbour, subject: Self.owner).reason == "third_party_locked")
        let own = await h.attempt("258036", from: Self.neighbour, operation: .queryPUK)
        #expect(own.reason == .ok)
    }

    @Test func aGoodThirdPartyPasswordDoesNotResetTheCallersCount() async throws {
        let h = try await Harness()
        let caller = Self.strangers[0]
        for _ in 0..<4 { _ = await h.attempt("000000", from: caller, subject: Self.owner, operation: .queryPUK) }
        // The caller knows one other number's password (a second SIM of their own).
        #expect(await h.attempt("258036", from: caller, subject: Self.neighbour, operation: .queryPUK).reason == .ok)
        #expect(
            await h.attempt("000000", from: caller, subject: Self.owner, operation: .queryPUK).reason
                == "third_party_refused")
        #expect(
            await h.attempt("000000", from: caller, subject: Self.owner, operation: .queryPUK).reason
                == "third_party_locked")
    }

    @Test func thirdPartyRepliesRevealNeitherTriesLeftNorAnUnlockTime() async throws {
        let h = try await Harness()
        let generic = h.render("refused.third_party_refused")
        for i in 0..<5 {
            let o = await h.attempt("000000", from: Self.strangers[i], subject: Self.owner)
            #expect(o.reply == generic, "\(o.reply)")
            #expect(o.record?.reply == generic)
        }
        let locking = await h.attempt("000000", from: Self.strangers[0], subject: Self.owner)
        #expect(locking.reply == generic)
        // Throttled: the caller is told so, but not until when.
        for _ in 0..<4 { _ = await h.attempt("000000", from: Self.strangers[0], subject: Self.english) }
        let throttled = await h.attempt("000000", from: Self.strangers[0], subject: Self.owner)
        #expect(throttled.reason == "third_party_locked")
        #expect(throttled.reply == h.render("refused.third_party_locked"))
        #expect(!throttled.reply.contains("2026"))
    }

    @Test func theCallerLimitAndItsDurationAreConfigurable() async throws {
        var configuration = EngineConfiguration()
        configuration.passwords.thirdPartyThreshold = 2
        configuration.passwords.thirdPartyLockoutDuration = 3600
        let h = try await Harness(configuration: configuration)
        let caller = Self.strangers[0]
        #expect(await h.attempt("000000", from: caller, subject: Self.owner).reason == "third_party_refused")
        #expect(await h.attempt("000000", from: caller, subject: Self.owner).reason == "third_party_refused")
        #expect(await h.attempt("258036", from: caller, subject: Self.owner).reason == "third_party_locked")
        let throttle = try #require(try await h.store.read { try $0.callerThrottle(caller) })
        #expect(throttle.lockedUntil == Fixtures.midNovember + 3600)
        h.clock.advance(by: 3600)
        #expect(await h.attempt("258036", from: caller, subject: Self.owner, operation: .queryPUK).reason == .ok)
        // The owner's own limit is apart: still five.
        for _ in 0..<4 { _ = await h.attempt("000000", from: Self.owner, operation: .queryPUK) }
        #expect(try await h.subscriber(Self.owner)?.passwordLockedUntil == nil)
    }

    @Test func failuresCountWithinTheWindowOfTheFirst() {
        let start = Fixtures.midNovember
        var t = CallerThrottle.counting(nil, caller: "13900000000", at: start, threshold: 3, duration: 3600)
        #expect(t.failures == 1 && t.windowStart == start && t.lockedUntil == nil)
        t = CallerThrottle.counting(t, caller: "13900000000", at: start + 1800, threshold: 3, duration: 3600)
        #expect(t.failures == 2 && t.windowStart == start)
        // The window of the first failure has passed: the count starts again.
        t = CallerThrottle.counting(t, caller: "13900000000", at: start + 3600, threshold: 3, duration: 3600)
        #expect(t.failures == 1 && t.windowStart == start + 3600)
        t = CallerThrottle.counting(t, caller: "13900000000", at: start + 3700, threshold: 3, duration: 3600)
        t = CallerThrottle.counting(t, caller: "13900000000", at: start + 3800, threshold: 3, duration: 3600)
        #expect(t.failures == 0 && t.lockedUntil == start + 3800 + 3600)
        #expect(t.isLocked(at: start + 3800 + 3599) && !t.isLocked(at: start + 3800 + 3600))
        // After the lock, one failure is one failure again.
        t = CallerThrottle.counting(t, caller: "13900000000", at: start + 7400, threshold: 3, duration: 3600)
        #expect(t.failures == 1 && t.lockedUntil == nil && t.windowStart == start + 7400)
    }

    // MARK: - D12: one answer for every kind of third-party refusal

    @Test(arguments: [(nil, Language.chinese), (Language.english, Language.english)])
    func oneAnswerWhateverTheNumber(hint: Language?, language: Language) async throws {
        let h = try await Harness()
        let caller = Self.strangers[0]
        let probes = [
            ("13700000000", "258036"),  // no such number
            (Self.owner, "000000"),  // wrong password
            (Self.english, "000000"),  // wrong password, an English-speaking subject
            (Self.unset, "258036"),  // no password set
            (Self.closed, "258036"),  // closed
        ]
        var outcomes: [OperationOutcome] = []
        for (subject, password) in probes {
            outcomes.append(await h.attempt(password, from: caller, subject: subject, hint: hint))
        }
        let expected = h.render("refused.third_party_refused", language)
        for (o, probe) in zip(outcomes, probes) {
            #expect(o.reply == expected, "\(probe.0): \(o.reply)")
            #expect(o.reason == "third_party_refused", "\(probe.0)")
            #expect(o.language == language, "\(probe.0): answered in the caller's language")
            #expect(o.result == .refused)
        }
        // Records keep what happened, for the audit.
        let causes = outcomes.compactMap { $0.record?.inputValues["cause"] }
        #expect(causes == ["unknown_subscriber", "bad_password", "bad_password", "password_not_set", "closed"])
        // Each probe counted against the caller: the fifth locked it out of third-party attempts.
        #expect(await h.attempt("258036", from: caller, subject: Self.owner, hint: hint).reason == "third_party_locked")
    }

    @Test func aSubscriberCallerIsAnsweredInTheirOwnLanguage() async throws {
        let h = try await Harness()
        let o = await h.attempt("000000", from: Self.english, subject: Self.owner)
        #expect(o.reply == h.render("refused.third_party_refused", .english))
        let zh = await h.attempt("000000", from: Self.neighbour, subject: Self.english)
        #expect(zh.reply == h.render("refused.third_party_refused", .chinese), "never the subject's language")
    }

    @Test func theCallersOwnRequestsKeepTheirPreciseAnswers() async throws {
        let h = try await Harness()
        #expect(await h.attempt("258036", from: "13700000000", operation: .queryPUK).reason == .unknownSubscriber)
        #expect(await h.attempt("258036", from: Self.closed, operation: .queryPUK).reason == .closed)
        #expect(await h.attempt("258036", from: Self.unset, operation: .queryPUK).reason == .passwordNotSet)
        let wrong = await h.attempt("000000", from: Self.english, operation: .queryPUK)
        #expect(wrong.reason == .badPassword)
        #expect(wrong.reply == "Wrong service password. 4 tries left.")
        // Keying in one's own number is an own request too.
        #expect(await h.attempt("000000", from: Self.owner, subject: Self.owner).reason == .badPassword)
    }

    @Test func argumentsAndAMissingPasswordAreCheckedBeforeTheNumber() async throws {
        let h = try await Harness()
        for subject in ["13700000000", Self.owner] {
            let bad = await h.engine.perform(
                OperationRequest(
                    operation: .queryBill, channel: .api, caller: Self.strangers[0], subject: subject,
                    arguments: ["month": "2026-13"], password: Secret("000000")))
            #expect(bad.reason == .invalidArgument, "\(subject)")
            let none = await h.engine.perform(
                OperationRequest(operation: .lossReport, channel: .api, caller: Self.strangers[0], subject: subject))
            #expect(none.reason == .passwordRequired, "\(subject)")
        }
        // Neither counted against the caller.
        #expect(
            await h.attempt("258036", from: Self.strangers[0], subject: Self.owner, operation: .queryPUK).reason == .ok)
    }

    // MARK: - The subject's notice

    @Test func theSubjectGetsANoticeInTheirLanguageWithTheCallerMasked() async throws {
        let h = try await Harness()
        let o = await h.attempt("000000", from: "13912345678", subject: Self.english, channel: .ussd)
        let attempt = try #require(o.record)
        let notices = try h.records().filter { $0.operation == "password.notice" }
        let notice = try #require(notices.first)
        #expect(notices.count == 1)
        #expect(notice.subject == Self.english)
        #expect(notice.caller == "system")
        #expect(notice.result == "ok" && notice.reason == "notice_pending" && notice.auth == "none")
        #expect(notice.inputValues["from"] == "13912345678", "records keep full numbers")
        #expect(notice.inputValues["attempt"] == String(attempt.id))
        #expect(notice.inputValues["operation"] == "loss.report")
        #expect(notice.inputValues["channel"] == "ussd")
        #expect(notice.reply.contains("139****5678"), "\(notice.reply)")
        #expect(!notice.reply.contains("13912345678"))
        #expect(notice.reply.hasPrefix("Security notice"), "in the subject's language: \(notice.reply)")
        #expect(!notice.reply.contains("000000"))
    }

    @Test func noNoticeForANumberNobodyOwnsNorForAThrottledCaller() async throws {
        let h = try await Harness()
        let caller = Self.strangers[0]
        _ = await h.attempt("000000", from: caller, subject: "13700000000")
        _ = await h.attempt("000000", from: caller, subject: Self.closed)
        #expect(try h.records().filter { $0.operation == "password.notice" }.isEmpty)
        for _ in 0..<3 { _ = await h.attempt("000000", from: caller, subject: Self.owner) }
        #expect(try h.records().filter { $0.operation == "password.notice" }.count == 3)
        #expect(await h.attempt("000000", from: caller, subject: Self.owner).reason == "third_party_locked")
        #expect(
            try h.records().filter { $0.operation == "password.notice" }.count == 3, "a locked caller is not checked")
    }

    // MARK: - Concurrency

    @Test func parallelThirdPartyGuessesLockTheCallerAfterExactlyTheThreshold() async throws {
        let h = try await Harness()
        let outcomes = await withTaskGroup(of: OperationOutcome.self) { group in
            for i in 0..<40 {
                group.addTask {
                    await h.attempt(
                        "000000", from: Self.strangers[0], subject: i % 2 == 0 ? Self.owner : "1370000\(1000 + i)")
                }
            }
            return await group.reduce(into: [OperationOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0.reason == "third_party_refused" }.count == 5)
        #expect(outcomes.filter { $0.reason == "third_party_locked" }.count == 35)
        let owner = try #require(try await h.subscriber(Self.owner))
        #expect(owner.failedPasswordAttempts == 0 && owner.passwordLockedUntil == nil)
    }
}
