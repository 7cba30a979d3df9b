import Foundation
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar
import SelfCareTesting
import Testing

/// A USSD channel over a memory store with the shipped grammars and prompts.
struct USSDHarness {
    let store: MemoryServiceStore
    let clock: ManualTimeSource
    let channel: USSDChannel

    init(extraPlans: [Plan] = []) async throws {
        store = MemoryServiceStore()
        clock = ManualTimeSource(Fixtures.midNovember)
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
        try await store.write { w in for p in extraPlans { try w.save(p) } }
        let engine = try Fixtures.engine(store: store, clock: clock)
        let grammars = try GrammarSet(
            directory: Fixtures.repositoryRoot.appendingPathComponent("grammars").path,
            prompts: try Fixtures.shippedPrompts())
        channel = USSDChannel(engine: engine, grammars: grammars)
    }

    /// Dials `code` and answers with `inputs`; returns every screen.
    func dial(
        _ code: String, _ inputs: [String] = [], from: String = "18612345678", session: String = "s1"
    ) async
        -> [USSDScreen]
    {
        var screens = [await channel.handle(sessionID: session, caller: from, serviceCode: code, input: nil)]
        for input in inputs where !screens.last!.ends {
            screens.append(await channel.handle(sessionID: session, caller: from, serviceCode: code, input: input))
        }
        return screens
    }

    func records() throws -> [ServiceRecord] {
        var all: [ServiceRecord] = []
        try store.forEachRecord(matching: RecordFilter()) { all.append($0) }
        return all
    }
}

@Suite("USSD channel")
struct USSDChannelTests {
    @Test func aDirectStringWalksTheMenuInOneGo() async throws {
        let h = try await USSDHarness()
        let screens = await h.dial("*100*1*1#")
        #expect(screens.count == 1)
        #expect(screens[0].ends)
        #expect(screens[0].description.hasPrefix("END 尊敬的张伟客户，您的账户余额为123.45元"))
        let record = try #require(try h.records().last)
        #expect(record.channel == "ussd" && record.session == "s1" && record.operation == "query.balance")
    }

    @Test func backHomeAndBadKeys() async throws {
        let h = try await USSDHarness()
        let screens = await h.dial("*100#", ["1", "0", "1", "*", "3", "00", "42"])
        #expect(screens[0].text.hasPrefix("中国联通自助服务\n1. 查询"))
        #expect(screens[1].text.hasPrefix("查询\n1. 余额"))
        #expect(screens[1].text.hasSuffix("0. 返回\n00. 主页\n99. 更多"), "the queries menu runs onto a second page")
        #expect(screens[2].text == screens[0].text, "0 goes back")
        #expect(screens[4].text == screens[0].text, "* goes back too")
        #expect(screens[5].text.hasPrefix("套餐变更"))
        #expect(screens[6].text == screens[0].text, "00 goes home")
        #expect(screens[7].text.hasPrefix("输入有误，请重新选择。\n中国联通自助服务"))
        #expect(screens.allSatisfy { !$0.ends })
    }

    @Test func passwordEntryIsAStepWhoseDigitsAreNeverShown() async throws {
        let h = try await USSDHarness()
        let screens = await h.dial("*100#", ["1", "8", "258036"])
        #expect(screens[2].text == "请输入6位服务密码：")
        #expect(screens[3].ends)
        #expect(screens[3].text.contains("12345678"), "the PUK")
        for screen in screens { #expect(!screen.text.contains("258036")) }
        for record in try h.records() { #expect(!record.jsonLine.contains("258036")) }
        let wrong = await h.dial("*100*1*8#", ["111111"], session: "s2")
        #expect(wrong.last?.text == "服务密码错误，您还可以尝试4次。")
        #expect(try h.records().last?.session == "s2")
    }

    @Test func fullWidthPasswordDigitsAreFoldedAsOnSMS() async throws {
        let h = try await USSDHarness()
        let screens = await h.dial("*100*1*8#", ["２５８０３６"])
        #expect(screens.last?.ends == true)
        #expect(screens.last?.text.contains("12345678") == true, "the PUK: \(screens.last?.text ?? "")")
        #expect(try h.records().last?.auth == "ok")
        #expect(try await h.store.read { try $0.subscriber("18612345678") }?.failedPasswordAttempts == 0)
    }

    @Test func aTransactionIsConfirmedOrCancelledOnItsOwnScreen() async throws {
        let h = try await USSDHarness()
        let cancelled = await h.dial("*100*4*1#", ["258036", "2"])
        #expect(cancelled[1].text == "您将为号码18612345678办理停机保号，所有通信服务将暂停。\n1. 确认\n2. 取消")
        #expect(cancelled[2].description == "END 已取消，感谢使用。")
        #expect(try await h.store.read { try $0.subscriber("18612345678") }?.status == .normal)
        #expect(try await h.store.read { try $0.confirmation(caller: "18612345678", channel: .ussd) } == nil)
        // Cancelling is an attempt too, recorded in the transaction that drops the confirmation.
        let cancel = try #require(try h.records().last)
        #expect(cancel.operation == "suspend.keep" && cancel.result == "refused", "\(cancel)")
        #expect(cancel.reason == "confirmation_cancelled" && cancel.reply == "已取消，感谢使用。")
        #expect(cancel.inputValues["confirms"] == "s1" && cancel.session == "s1")
        let confirmed = await h.dial("*100*4*1#", ["258036", "1"], session: "s2")
        #expect(confirmed.last?.description == "END 号码18612345678已办理停机保号，所有通信服务已暂停，号码为您保留。")
        #expect(try await h.store.read { try $0.subscriber("18612345678") }?.status == .suspended)
        #expect(try h.records().map(\.reason).suffix(2) == ["confirmation_required", "ok"])
    }

    @Test func lossOfAnotherNumberAsksForItAndRejectsNonsense() async throws {
        let h = try await USSDHarness()
        let screens = await h.dial("*100*2*2#", ["12", "18612345678", "258036", "1"], from: "13900000000")
        #expect(screens[0].text == "请输入要办理的手机号码：")
        #expect(screens[1].text == "输入有误，请重新选择。\n请输入要办理的手机号码：")
        #expect(screens[2].text == "请输入6位服务密码：")
        #expect(screens[4].ends && screens[4].text.contains("挂失成功"))
        #expect(try h.records().last?.subject == "18612345678")
    }

    @Test func anOptionalMonthCanBeSkipped() async throws {
        let h = try await USSDHarness()
        let screens = await h.dial("*100*1*5#", ["", "258036"])
        #expect(screens[0].text.hasPrefix("请输入账单月份"))
        #expect(screens[1].text == "请输入6位服务密码：")
        #expect(screens[2].ends)
        #expect(try h.records().last?.operation == "query.bill")
    }

    @Test func idleSessionsExpire() async throws {
        let h = try await USSDHarness()
        _ = await h.channel.handle(sessionID: "x", caller: "18612345678", serviceCode: "*100#", input: nil)
        h.clock.advance(by: 119)
        let alive = await h.channel.handle(sessionID: "x", caller: "18612345678", serviceCode: "*100#", input: "1")
        #expect(!alive.ends)
        h.clock.advance(by: 121)
        let late = await h.channel.handle(sessionID: "x", caller: "18612345678", serviceCode: "*100#", input: "1")
        #expect(late.description == "END 会话已超时，请重新拨打。")
        #expect(await h.channel.sessions.count() == 0)
    }

    static let manyPlans: [Plan] = (1...12).map { i in
        Plan(
            code: "X\(i)", nameZh: "冰激凌畅享不限量\(i)号套餐", nameEn: "Unlimited Ice Cream Plan No. \(i)",
            monthlyFeeFen: 9900 + i * 100, voiceMinutes: 1000, sms: 100, dataMB: 100_000, payment: .both, onSale: true,
            contractOK: true)
    }

    @Test(arguments: [("18612345678", 80), ("18611110001", 182)])
    func aLongPlanListIsPagedWithinTheScreenLimit(caller: String, limit: Int) async throws {
        let h = try await USSDHarness(extraPlans: Self.manyPlans)
        var screens = await h.dial("*100*3*2#", from: caller)
        var seen = Set<String>()
        for _ in 0..<10 {
            let screen = screens.last!
            #expect(screen.text.unicodeScalars.count <= limit, "\(screen.text.unicodeScalars.count) > \(limit)")
            for line in screen.text.split(separator: "\n") where line.first?.isNumber == true && !line.hasPrefix("99.")
            {
                seen.insert(String(line))
            }
            guard screen.text.contains("\n99. ") else { break }
            screens.append(
                await h.channel.handle(sessionID: "s1", caller: caller, serviceCode: "*100*3*2#", input: "99"))
        }
        #expect(screens.count > 2, "the list needs more than one page")
        #expect(
            seen.filter { !$0.hasPrefix("0.") }.count == 14, "P18, P58 and the twelve new plans, each once: \(seen)")
        let pick = await h.channel.handle(sessionID: "s1", caller: caller, serviceCode: "*100*3*2#", input: "14")
        #expect(!pick.ends)
        #expect(pick.text.contains("6"), "the password step follows")
    }
}
