import Foundation
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar
import SelfCareTesting
import Testing

/// An SMS channel over a memory store with the shipped grammar and prompts.
struct SMSHarness {
    let store: MemoryServiceStore
    let clock: ManualTimeSource
    let channel: SMSChannel

    init(rateLimit: Int = 30, subscribers: [Subscriber]? = nil) async throws {
        store = MemoryServiceStore()
        clock = ManualTimeSource(Fixtures.midNovember)
        let english = Fixtures.subscriber("18611110001", language: .english)
        try await Fixtures.seed(store, subscribers: subscribers ?? [Fixtures.subscriber(), english])
        let engine = try Fixtures.engine(store: store, clock: clock)
        let prompts = try Fixtures.shippedPrompts()
        let grammars = try GrammarSet(
            directory: Fixtures.repositoryRoot.appendingPathComponent("grammars").path, prompts: prompts)
        var configuration = SMSConfiguration()
        configuration.rateLimit = rateLimit
        channel = SMSChannel(engine: engine, grammars: grammars, configuration: configuration)
    }

    func send(_ text: String, from: String = "18612345678", id: String? = nil) async -> SMSReply {
        await channel.handle(InboundSMS(from: from, text: text, id: id))
    }

    func subscriber(_ number: String = "18612345678") async throws -> Subscriber? {
        try await store.read { try $0.subscriber(number) }
    }

    func records() throws -> [ServiceRecord] {
        var all: [ServiceRecord] = []
        try store.forEachRecord(matching: RecordFilter()) { all.append($0) }
        return all
    }
}

@Suite("SMS channel")
struct SMSChannelTests {
    @Test func balanceInBothLanguages() async throws {
        let h = try await SMSHarness()
        let zh = await h.send("cxye")
        #expect(zh.text == "尊敬的张伟客户，您的账户余额为123.45元，本月(2026-11)已产生话费0.00元。")
        #expect(zh.encoding == .ucs2)
        #expect(zh.segments.count == 1)
        let en = await h.send("余额", from: "18611110001")
        #expect(en.text.hasPrefix("Dear 张伟, your balance is CNY 123.45"))
        let records = try h.records()
        #expect(records.map(\.channel) == ["sms", "sms"])
        #expect(records.map(\.operation) == ["query.balance", "query.balance"])
    }

    @Test func unknownSendersGetChineseUnlessTheyWroteEnglish() async throws {
        let h = try await SMSHarness()
        let help = await h.send("HELP", from: "13900000000")
        #expect(help.text.hasPrefix("Send BALANCE"))
        #expect(help.outcome.reason == .ok)
        let zh = await h.send("帮助", from: "13900000000")
        #expect(zh.text.hasPrefix("查余额发CXYE"))
        let unknown = await h.send("what is 258036", from: "13900000000")
        #expect(unknown.text.hasPrefix("查余额发CXYE"), "unknown text gets the short help")
        #expect(unknown.segments.count == 1)
        #expect(unknown.outcome.reason == .unknownCommand)
        let record = try #require(unknown.outcome.record)
        #expect(record.inputValues["text"] == "what is ******", "digits that may be a password are masked")
    }

    @Test func aTransactionWaitsForConfirmationThenApplies() async throws {
        let h = try await SMSHarness()
        let ask = await h.send("TCBG P58 258036", id: "m1")
        #expect(ask.outcome.reason == .confirmationRequired)
        #expect(ask.text == "您将变更为畅享58元套餐（月费58.00元），即时生效。请在5分钟内回复Y确认。")
        #expect(try await h.subscriber()?.planCode == "P38", "nothing changes before the confirmation")
        h.clock.advance(by: 299)
        let yes = await h.send("是", id: "m2")
        #expect(yes.outcome.reason == .ok)
        #expect(yes.text.hasPrefix("套餐变更成功"))
        #expect(try await h.subscriber()?.planCode == "P58")
        let records = try h.records()
        #expect(records.map(\.reason) == ["confirmation_required", "ok"])
        #expect(records.map(\.operation) == ["plan.change", "plan.change"])
        #expect(records[0].auth == "ok" && records[1].auth == "ok")
        #expect(records[1].inputValues["confirms"] == "m1")
        #expect(await h.send("Y").outcome.reason == .unknownCommand, "applied once; nothing waits any more")
    }

    @Test func aConfirmationExpires() async throws {
        let h = try await SMSHarness()
        _ = await h.send("GS 258036")
        h.clock.advance(by: 301)
        let late = await h.send("Y")
        #expect(late.outcome.reason == .confirmationExpired)
        #expect(late.outcome.record?.operation == "loss.report")
        #expect(try await h.subscriber()?.status == .normal)
        let nothing = await h.send("y")
        #expect(nothing.text == "您没有待确认的业务。发送“帮助”获取可办理业务。")
    }

    @Test func refusalsComeAtOnceWithoutAConfirmation() async throws {
        let h = try await SMSHarness()
        #expect(await h.send("TCBG P38 258036").outcome.reason == .samePlan)
        #expect(await h.send("GS 111111").outcome.reason == .badPassword)
        #expect(await h.send("Y").outcome.reason == .unknownCommand)
        #expect(try h.records().map(\.reason) == ["same_plan", "bad_password", "unknown_command"])
    }

    @Test func lossFromAnotherPhone() async throws {
        let h = try await SMSHarness()
        let ask = await h.send("挂失 18612345678 258036", from: "13900000000")
        #expect(ask.outcome.reason == .confirmationRequired)
        #expect(ask.text.contains("18612345678"))
        let yes = await h.send("确认", from: "13900000000")
        #expect(yes.outcome.reason == .ok)
        #expect(try await h.subscriber()?.status == .lost)
        #expect(yes.outcome.record?.caller == "13900000000")
        #expect(yes.outcome.record?.subject == "18612345678")
    }

    /// A PUK query repeated with the same message id gets the PUK again, as the first reply had it, while
    /// both records keep it masked.
    @Test func aRepeatedPUKQueryGetsTheCodeAgain() async throws {
        let h = try await SMSHarness()
        let first = await h.send("CXPUK 258036", id: "p1")
        #expect(first.text.contains("12345678"), "\(first.text)")
        let again = await h.send("CXPUK 258036", id: "p1")
        #expect(again.outcome.reason == .duplicate)
        #expect(again.text == first.text)
        for record in try h.records() {
            #expect(!record.reply.contains("12345678") && record.reply.contains("********"), "\(record.reply)")
        }
    }

    /// A clock set back between restarts does not make the first message `rate_limited` (records "from the
    /// future" no longer count) nor stretch a 5-minute confirmation: both windows are bounded on both sides.
    @Test func aClockSetBackBoundsTheRateWindowAndTheConfirmation() async throws {
        let h = try await SMSHarness(rateLimit: 5)
        for _ in 0..<5 { #expect(await h.send("CXJF").outcome.reason == .ok) }
        #expect(await h.send("CXJF").outcome.reason == .rateLimited)
        h.clock.advance(by: -3600)
        #expect(await h.send("CXJF").outcome.reason == .ok, "the limit counts the last minute, not the future")
        let h2 = try await SMSHarness()
        #expect(await h2.send("GS 258036").outcome.reason == .confirmationRequired)
        h2.clock.advance(by: -3600)
        let late = await h2.send("Y")
        #expect(late.outcome.reason == .confirmationExpired, "\(late.text)")
        #expect(try await h2.subscriber()?.status == .normal)
        // Within the tolerance (another node's clock a little behind) it still holds.
        let h3 = try await SMSHarness()
        #expect(await h3.send("GS 258036").outcome.reason == .confirmationRequired)
        h3.clock.advance(by: -30)
        #expect(await h3.send("Y").outcome.reason == .ok)
    }

    @Test func aDuplicateMessageIdIsAnsweredOnceAndAppliedOnce() async throws {
        let h = try await SMSHarness()
        _ = await h.send("JF", id: "x0")
        _ = await h.send("GS 258036", id: "m1")
        let first = await h.send("Y", id: "m2")
        let again = await h.send("Y", id: "m2")
        #expect(first.outcome.reason == .ok)
        #expect(again.text == first.text)
        #expect(again.outcome.reason == .duplicate)
        #expect(again.outcome.result == .refused)
        let records = try h.records()
        #expect(records.filter { $0.operation == "loss.report" && $0.reason == "ok" }.count == 1)
        #expect(records.last?.session == "m2")
        // Concurrent repeats of one id: still applied once.
        _ = await h.send("JG 258036", id: "c1")
        let replies = await withTaskGroup(of: SMSReply.self) { group in
            for _ in 0..<8 { group.addTask { await h.send("Y", id: "c2") } }
            var all: [SMSReply] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(replies.filter { $0.outcome.reason == .ok }.count == 1)
        #expect(replies.filter { $0.outcome.reason == .duplicate }.count == 7)
        #expect(try await h.subscriber()?.status == .normal)
    }

    @Test func rateLimitPerNumber() async throws {
        let h = try await SMSHarness(rateLimit: 5)
        for _ in 0..<5 { #expect(await h.send("CXJF").outcome.reason == .ok) }
        let limited = await h.send("CXJF")
        #expect(limited.outcome.reason == .rateLimited)
        #expect(limited.text == "您发送过于频繁，请稍后再试。")
        #expect(await h.send("CXJF", from: "18611110001").outcome.reason == .ok, "other numbers are not affected")
        h.clock.advance(by: 61)
        #expect(await h.send("CXJF").outcome.reason == .ok)
    }

    @Test func passwordsNeverComeBack() async throws {
        let h = try await SMSHarness()
        let wrongPlace = await h.send("TCBG 258036 258036")
        #expect(!wrongPlace.text.contains("258036"))
        _ = await h.send("MMXG 258036 147036 147036")
        _ = await h.send("GS 147036")
        for record in try h.records() {
            #expect(!record.jsonLine.contains("258036") && !record.jsonLine.contains("147036"), "\(record.jsonLine)")
        }
    }

    /// A password typed in groups (`258 036`, `258-036`, `25 80 36`) is masked in records as surely as one
    /// typed whole, on every record, a rate-limited one too; a mobile number alone stays whole.
    @Test func passwordsTypedInGroupsAreMaskedEverywhere() async throws {
        let h = try await SMSHarness(rateLimit: 5)
        for text in [
            "CXPUK 258 036", "GS 258-036", "CXZD 25 80 36", "MMXG 258036 147 036 147 036", "CXPUK 2 5 8 0 3 6",
        ] {
            _ = await h.send(text)
        }
        let limited = await h.send("CXXD 258 036")
        #expect(limited.outcome.reason == .rateLimited)
        for record in try h.records() {
            let text = record.inputValues["text"] ?? ""
            let digits = text.filter(\.isNumber)
            #expect(!digits.contains("258") && !digits.contains("036") && !digits.contains("147"), "\(text)")
            #expect(!digits.contains("2") || record.operation == "query.bill", "\(text)")
        }
        _ = await h.send("xyz 18611110001 258 036", from: "13900000000")
        let unknown = try #require(try h.records().last)
        #expect(unknown.inputValues["text"] == "xyz 18611110001 *** ***")
    }

    @Test func longRepliesAreSplitWithinTheCap() async throws {
        let h = try await SMSHarness()
        try await h.store.write { w in
            for i in 0..<5 {
                try w.save(
                    CallDetail(
                        msisdn: "18612345678", startedAt: Fixtures.midNovember.addingTimeInterval(Double(-i * 3600)),
                        peer: "1380013800\(i)", outgoing: i % 2 == 0, durationSeconds: 125, chargeFen: 30))
            }
        }
        let calls = await h.send("CXXD 258036")
        #expect(calls.outcome.reason == .ok)
        #expect(calls.segments.count > 1 && calls.segments.count <= 5)
        #expect(calls.segments.joined() == calls.text)
    }
}

@Suite("SMS channel edge cases")
struct SMSChannelEdgeTests {
    @Test func theSameIdFromAnotherSenderIsNotADuplicate() async throws {
        let h = try await SMSHarness()
        let mine = await h.send("CXYE", id: "m-1001")
        let theirs = await h.send("CXYE", from: "18611110001", id: "m-1001")
        #expect(theirs.outcome.reason == .ok)
        #expect(theirs.text != mine.text, "never another subscriber's reply")
    }

    @Test func aRateLimitedMessageCanBeSentAgain() async throws {
        let h = try await SMSHarness(rateLimit: 2)
        _ = await h.send("CXJF")
        _ = await h.send("CXJF")
        #expect(await h.send("CXYE", id: "r-3").outcome.reason == .rateLimited)
        h.clock.advance(by: 61)
        let retry = await h.send("CXYE", id: "r-3")
        #expect(retry.outcome.reason == .ok)
        #expect(await h.send("CXYE", id: "r-3").outcome.reason == .duplicate)
    }

    @Test func repeatsAndFloodsOfPasswordMessagesAreRefusedBeforeAnyHashing() async throws {
        let store = MemoryServiceStore()
        try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
        let hasher = CountingHasher(Fixtures.hasher())
        let engine = try Fixtures.engine(store: store, clock: FixedTimeSource(Fixtures.midNovember), hasher: hasher)
        let channel = try Fixtures.smsChannel(engine: engine, rateLimit: 3)
        let send = { (text: String, id: String) in
            await channel.handle(InboundSMS(from: "18612345678", text: text, id: id))
        }
        let first = await send("CXZD 258036", "p-1")
        #expect(first.outcome.record?.auth == "ok", "the password was checked: \(first.text)")
        #expect(hasher.verifications == 1)
        let repeated = await send("CXZD 258036", "p-1")
        #expect(repeated.outcome.reason == .duplicate)
        #expect(await send("CXYE", "p-2").outcome.reason == .ok)
        let flooded = await send("CXZD 111111", "p-3")
        #expect(flooded.outcome.reason == .rateLimited)
        #expect(hasher.verifications == 1, "neither the repeat nor the flood was hashed")
        #expect(try await store.read { try $0.subscriber("18612345678") }?.failedPasswordAttempts == 0)
    }

    @Test func fullWidthPasswordDigitsAreFolded() async throws {
        let h = try await SMSHarness()
        let r = await h.send("CXPUK ２５８０３６")
        #expect(r.outcome.reason == .ok)
        #expect(r.outcome.record?.auth == "ok")
    }

    @Test func aStrangerLearnsNothingAndCannotLockTheOwner() async throws {
        let h = try await SMSHarness()
        var replies: Set<String> = []
        for (i, subject) in ["18612345678", "18611110001", "13700000000", "18612345678", "18611110001"].enumerated() {
            let r = await h.send("GS \(subject) 00000\(i)", from: "1390000000\(i)")
            #expect(r.outcome.reason == "third_party_refused")
            replies.insert(r.text)
        }
        #expect(replies.count == 1, "one answer: \(replies)")
        #expect(try await h.subscriber()?.passwordLockedUntil == nil)
        let own = await h.send("GS 258036")
        #expect(own.outcome.reason == .confirmationRequired)
        #expect(await h.send("Y").outcome.reason == .ok)
        #expect(try await h.subscriber()?.status == .lost)
    }

    @Test func digitsRunTogetherAreMaskedButMobileNumbersKept() async throws {
        let h = try await SMSHarness()
        let r = await h.send("MMXG 258036147036147036 call 13800138000")
        #expect(r.outcome.record?.inputValues["text"] == "MMXG ****************** call 13800138000")
    }

    @Test func anEnglishRequestIsConfirmedInEnglish() async throws {
        let h = try await SMSHarness()
        let ask = await h.send("LOST 18612345678 258036", from: "13900000000")
        #expect(ask.text.hasPrefix("Number 18612345678 will be reported lost"))
        let yes = await h.send("Y", from: "13900000000")
        #expect(yes.outcome.reason == .ok)
        #expect(yes.text.hasPrefix("Number 18612345678 was reported lost"), "\(yes.text)")
        #expect(await h.send("YES", from: "13900000000").text.hasPrefix("You have nothing waiting"))
        // A Chinese request confirmed with an English word is still answered in Chinese.
        let askCN = await h.send("解挂 18612345678 258036", from: "13900000001")
        #expect(askCN.outcome.reason == .confirmationRequired)
        let cn = await h.send("YES", from: "13900000001")
        #expect(cn.outcome.reason == .ok)
        #expect(cn.text == "号码18612345678已解除挂失。", "\(cn.text)")
    }
}

/// A hasher that counts its verifications.
final class CountingHasher: PasswordHasher, @unchecked Sendable {
    private let base: any PasswordHasher
    private let lock = NSLock()
    private var count = 0

    init(_ base: any PasswordHasher) { self.base = base }

    var verifications: Int { lock.withLock { count } }

    func hash(_ password: Secret) throws -> String { try base.hash(password) }

    func verify(_ password: Secret, against stored: String) throws -> PasswordVerification {
        lock.withLock { count += 1 }
        return try base.verify(password, against: stored)
    }
}
