import Foundation
import InMemoryLogging
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar
import SelfCareTesting
import Testing

/// An IVR channel over a memory store with the shipped grammars and prompts.
struct IVRHarness {
    let store: MemoryServiceStore
    let channel: IVRChannel
    let logs: InMemoryLogHandler

    init() async throws {
        store = MemoryServiceStore()
        var standard = Fixtures.subscriber("18612345678")
        standard.tier = .standard
        var vip = Fixtures.subscriber("18611110012")
        vip.tier = .vip
        var supreme = Fixtures.subscriber("18688888888")
        supreme.tier = .supreme
        try await Fixtures.seed(store, subscribers: [standard, vip, supreme])
        let handler = InMemoryLogHandler()
        logs = handler
        var logger = Logger(label: "ivr-test", factory: { _ in handler })
        logger.logLevel = .trace
        let engine = try Fixtures.engine(store: store, logger: logger)
        let grammars = try GrammarSet(
            directory: Fixtures.repositoryRoot.appendingPathComponent("grammars").path,
            prompts: try Fixtures.shippedPrompts())
        channel = IVRChannel(engine: engine, grammars: grammars)
    }

    /// Calls and presses `steps` (nil = no input); returns the actions of every step.
    func call(from: String = "18612345678", _ steps: [String?], id: String = "c1") async -> [[IVRAction]] {
        var all = [await channel.start(callID: id, caller: from)]
        for step in steps {
            if let last = all.last?.last, last.kind == .hangup || last.kind == .transfer { break }
            all.append(await channel.input(callID: id, digits: step))
        }
        return all
    }
}

@Suite("IVR channel")
struct IVRChannelTests {
    @Test func aMenuNamesEachKeyAndAQueryIsPlayed() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["1", "1"])
        let greeting = try #require(steps[0].first)
        #expect(greeting.kind == .collect && greeting.maxDigits == 1)
        #expect(greeting.text?.hasPrefix("欢迎致电中国联通自助服务。查询请按1，挂失/解挂请按2") == true)
        #expect(greeting.text?.contains("人工服务请按0") == true)
        #expect(steps[2].first?.kind == .play)
        #expect(steps[2].first?.text?.contains("123.45元") == true)
        #expect(steps[2].last?.kind == .collect, "back in the menu after the answer")
        var records: [ServiceRecord] = []
        try h.store.forEachRecord(matching: RecordFilter()) { records.append($0) }
        #expect(records.map(\.channel) == ["ivr"] && records.first?.session == "c1")
    }

    @Test func typedAheadDigitsAreHonoured() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["11"])
        #expect(steps[1].first?.text?.contains("123.45元") == true, "two keys at once walk two steps")
        let withPassword = await h.call(["18258036#"], id: "c2")
        #expect(withPassword[1].first?.text?.contains("PUK码为12345678") == true)
    }

    @Test func fullWidthPasswordDigitsAreFoldedAsOnSMS() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["1", "8", "２５８０３６#"])
        #expect(steps[3].first?.text?.contains("PUK码为12345678") == true, "\(steps[3])")
        var records: [ServiceRecord] = []
        try h.store.forEachRecord(matching: RecordFilter()) { records.append($0) }
        #expect(records.last?.auth == "ok")
    }

    @Test func noInputThreeTimesGoesToAnAgent() async throws {
        let h = try await IVRHarness()
        let steps = await h.call([nil, "", nil, "1"])
        #expect(steps.count == 4)
        #expect(steps[1].first?.text?.hasPrefix("对不起，没有收到您的按键。") == true)
        #expect(steps[3].map(\.kind) == [.play, .transfer])
        #expect(steps[3].last?.queue == "agent")
    }

    @Test func noMatchCountsApartFromNoInput() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["8", nil, "8", nil, "8"])
        #expect(steps[1].first?.text?.hasPrefix("对不起，您的输入有误。") == true)
        #expect(steps[4].last?.kind == .collect, "two of each is not yet three of one")
        #expect(steps[5].last?.kind == .transfer, "the third no-match transfers")
    }

    @Test func vipCallersHearTheirOwnMenuAndJumpTheQueue() async throws {
        let h = try await IVRHarness()
        let vip = await h.call(from: "18611110012", ["0"])
        #expect(vip[0].first?.text?.hasPrefix("尊敬的贵宾客户，欢迎致电。") == true)
        #expect(vip[0].first?.text?.contains("专属客户经理请按8") == true)
        #expect(vip[1].last?.queue == "agent-vip")
        let supreme = await h.call(from: "18688888888", ["0"], id: "c2")
        let standard = await h.call(from: "18612345678", ["0"], id: "c3")
        #expect(standard[0].first?.text?.contains("专属客户经理") == false)
        #expect(standard[1].last?.queue == "agent")
        let p = [vip[1].last?.priority ?? -1, supreme[1].last?.priority ?? -1, standard[1].last?.priority ?? -1]
        #expect(p[1] > p[0] && p[0] > p[2], "priority follows the tier: \(p)")
    }

    @Test func starGoesBackAndPasswordDigitsAreNeverHeardLoggedOrRecorded() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["2", "*", "2", "1", "258036#", "2"])
        #expect(steps[2].first?.text?.hasPrefix("欢迎致电") == true, "* goes back to the main menu")
        #expect(steps[4].first?.text == "请输入6位服务密码，以井号键结束。")
        #expect(steps[5].first?.text?.hasSuffix("确认请按1，取消请按2。") == true)
        #expect(steps[6].first?.text == "已取消。")
        let heard = steps.flatMap { $0 }.compactMap(\.text).joined()
        #expect(!heard.contains("258036"))
        for entry in h.logs.entries { #expect(!"\(entry.message) \(entry.metadata)".contains("258036")) }
        try h.store.forEachRecord(matching: RecordFilter()) { #expect(!$0.jsonLine.contains("258036")) }
        #expect(try await h.store.read { try $0.subscriber("18612345678") }?.status == .normal)
    }

    @Test func aLossFromTheIVRIsConfirmedByKey() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["2", "2", "18611110012#", "258036#", "1"], id: "c9")
        #expect(steps[5].first?.text?.contains("18611110012") == true)
        #expect(try await h.store.read { try $0.subscriber("18611110012") }?.status == .lost)
    }

    /// Any key but 1 at the confirmation cancels it: nothing changes, and the cancellation is recorded.
    @Test func aLossCancelledByKeyIsRecordedAndChangesNothing() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["2", "2", "18611110012#", "258036#", "2"], id: "c10")
        #expect(steps.last?.first?.text == "已取消。")
        #expect(try await h.store.read { try $0.subscriber("18611110012") }?.status == .normal)
        #expect(try await h.store.read { try $0.confirmation(caller: "18612345678", channel: .ivr) } == nil)
        var records: [ServiceRecord] = []
        try h.store.forEachRecord(matching: RecordFilter()) { records.append($0) }
        #expect(records.map(\.reason).suffix(2) == ["confirmation_required", "confirmation_cancelled"])
        #expect(records.last?.operation == "loss.report" && records.last?.subject == "18611110012")
        #expect(records.last?.inputValues["confirms"] == "c10")
    }

    @Test func noInputSkipsAnOptionalSlotAndAsksTheNext() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["1", "5", nil])
        #expect(steps[2].first?.text?.hasPrefix("请输入账单月份") == true)
        #expect(steps[3].map(\.kind) == [.collect])
        #expect(steps[3].first?.text == "请输入6位服务密码，以井号键结束。")
    }

    @Test func typedAheadKeepsOnlyTheLastQuestionAndIsCapped() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["112"])
        #expect(steps[1].filter { $0.kind == .collect }.count == 1)
        #expect(steps[1].first?.kind == .play)
        let burst = await h.call([String(repeating: "1", count: 2000)], id: "c2")
        var records = 0
        try h.store.forEachRecord(matching: RecordFilter()) { if $0.session == "c2" { records += 1 } }
        #expect(records == 63, "a burst of keys is cut at 64: one to enter queries, 63 balances")
        #expect(burst[1].filter { $0.kind == .collect }.count == 1)
    }

    @Test func noInputAtTheConfirmationRepeatsTheQuestion() async throws {
        let h = try await IVRHarness()
        let steps = await h.call(["4", "1", "258036#", nil])
        #expect(steps[3].first?.text?.hasSuffix("确认请按1，取消请按2。") == true)
        #expect(steps[4].first?.text?.hasPrefix("对不起，没有收到您的按键。") == true)
        #expect(steps[4].first?.text?.hasSuffix("确认请按1，取消请按2。") == true)
    }
}
