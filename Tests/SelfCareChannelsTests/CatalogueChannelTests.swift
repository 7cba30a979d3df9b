import Foundation
import InMemoryLogging
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar
import SelfCareTesting
import Testing

@Suite("Recharge card PINs stay secret")
struct CardPINSecrecyTests {
    /// Card PINs keyed on every channel, right, wrong, locked, in the wrong place and inside a complaint: none of
    /// them is in any log line, record, reply, screen, spoken prompt, order, notice, or byte of the database file.
    @Test func noCardPINInAnyLogRecordReplyOrderNoticeOrDatabaseByte() async throws {
        try await withTemporaryDatabase { store, dir in
            let handler = InMemoryLogHandler()
            var logger = Logger(label: "pin-leak", factory: { _ in handler })
            logger.logLevel = .trace
            try await Fixtures.seed(
                store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
            try await Fixtures.seedCatalogue(store)
            var configuration = EngineConfiguration()
            configuration.survey.sampleRate = 1  // notices and rating steps too
            let engine = try Fixtures.engine(
                store: store, clock: ManualTimeSource(Fixtures.midNovember), configuration: configuration,
                logger: logger)
            let grammars = try Fixtures.shippedGrammars()
            let sms = SMSChannel(engine: engine, grammars: grammars)
            let ussd = USSDChannel(engine: engine, grammars: grammars)
            let ivr = IVRChannel(engine: engine, grammars: grammars)
            let right = Fixtures.cardPIN.withText { $0 }
            let wrong = ["111122223333444455", "987654321098765432", "555566667777888899", "246813579246813579"]
            let fullWidth = String(right.unicodeScalars.map { Character(Unicode.Scalar($0.value + 0xFEE0)!) })
            var seen: [String] = []

            for text in [
                "CZ 1000000000000001 \(right)", "Y", "CZ 1000000000000001 \(right)",
                "CZ 1000000000000002 \(right) 18611110001",
                "CZ 1000000000000003 \(fullWidth)", "TS 充值卡1000000000000004密码\(right)不能用",
                "充值 \(right) 1000000000000004", "PJ 5",
            ] {
                let reply = await sms.handle(InboundSMS(from: "18612345678", text: text))
                seen.append(reply.text + reply.segments.joined())
            }
            for pin in wrong + [wrong[0], right] {
                seen.append(
                    await sms.handle(InboundSMS(from: "18611110001", text: "RECHARGE 1000000000000004 \(pin)")).text)
            }
            for (i, inputs) in [
                ["6", "1", "1000000000000002", right, "1", "5"],
                ["6", "2", "18611110001", "1000000000000004", wrong[1]],
                ["9", "1", "my card PIN \(right) fails"],
            ].enumerated() {
                var screen = await ussd.handle(
                    sessionID: "u\(i)", caller: "18612345678", serviceCode: "*100#", input: nil)
                seen.append(screen.text)
                for input in inputs where !screen.ends {
                    screen = await ussd.handle(
                        sessionID: "u\(i)", caller: "18612345678", serviceCode: "*100#", input: input)
                    seen.append(screen.text)
                }
            }
            seen += (await ivr.start(callID: "c1", caller: "18612345678")).compactMap(\.text)
            for digits in [
                "6", "1", "1000000000000003#", "\(right)#", "1", "3", "6", "1", "1000000000000004#", "\(wrong[2])#",
            ] {
                seen += (await ivr.input(callID: "c1", digits: digits)).compactMap(\.text)
            }
            var request = OperationRequest(
                operation: .rechargeCard, channel: .api, caller: "18612345678", arguments: ["card": right])
            request.cardPIN = Secret(right)
            seen.append(await engine.perform(request).reply)  // the PIN keyed as the serial

            let pins = [right, fullWidth] + wrong
            func assertClean(_ text: String, _ what: String) {
                for pin in pins { #expect(!text.contains(pin), "\(what) holds a card PIN: \(text)") }
            }
            #expect(seen.count > 40)
            for text in seen { assertClean(text, "a reply") }
            #expect(handler.entries.count > 10, "the engine logs each attempt")
            for entry in handler.entries { assertClean("\(entry.message) \(entry.metadata)", "a log line") }
            var records = 0
            try store.forEachRecord(matching: RecordFilter()) { record in
                records += 1
                assertClean(record.jsonLine, "record \(record.id)")
            }
            #expect(records > 15)
            let orders = try await engine.orders(OrderFilter())
            #expect(orders.contains { $0.operation == "recharge.card" })
            for order in orders { assertClean(order.jsonLine, "order \(order.id)") }
            let notices = try await engine.notices(NoticeFilter())
            #expect(!notices.isEmpty)
            for notice in notices { assertClean(notice.jsonLine, "notice \(notice.id)") }
            // Nothing on disk either: the database and its write-ahead log, byte for byte.
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
                let bytes = try Data(contentsOf: dir.appendingPathComponent(name))
                for pin in pins { #expect(bytes.range(of: Data(pin.utf8)) == nil, "\(name) holds a card PIN") }
            }
        }
    }
}

@Suite("The catalogue's texts fit their channels")
struct CatalogueTextSizeTests {
    /// The operations of the catalogue and the reply keys each can answer with.
    static let replyKeys: [PromptKey] = PromptKey.replies.filter { key in
        ["recharge.", "data.pack.", "service.", "forwarding.", "roaming.", "points.", "complaint.", "spam."].contains {
            key.rawValue.hasPrefix("reply." + $0)
        }
    }

    /// `key`'s text in `language` with every placeholder at its longest, in Chinese characters or ASCII.
    static func longest(
        _ key: PromptKey, _ language: Language, filler: String, values: [String: String] = [:]
    )
        throws -> String
    {
        let prompts = try Fixtures.shippedPrompts()
        let template = try #require(prompts.templates[language]?[key.rawValue], "\(key) in \(language)")
        var filled: [String: String] = [:]
        for name in PromptCatalog.placeholders(in: template) {
            filled[name] = values[name] ?? String(repeating: filler, count: PromptChecker.placeholderWidths[name] ?? 0)
        }
        return PromptCatalog.fill(template, filled)
    }

    static func fits(_ screen: String) -> Bool {
        screen.unicodeScalars.count <= (SMSSegmenter.encoding(of: screen) == .gsm7 ? 182 : 80)
    }

    @Test func everyConfirmationScreenFitsAUSSDScreenAtItsLongest() throws {
        #expect(Self.replyKeys.count >= 20)
        for language in Language.supported {
            for filler in ["W", "字"] {
                for reply in Self.replyKeys
                where OperationPolicy.defaultConfirmationRequired.contains(where: {
                    reply.rawValue.hasPrefix("reply.\($0.rawValue)")
                }) {
                    let summary = try Self.longest(.confirmation(of: reply), language, filler: filler)
                    let screen = try Self.longest(
                        .ussdAskConfirm, language, filler: filler, values: ["summary": summary])
                    // Names in the reply's own script fit one screen; any other text is paged, the keys last.
                    if (language == .english) == (filler == "W") {
                        #expect(Self.fits(screen), "\(reply) in \(language): \(screen.count) characters: \(screen)")
                    }
                    let pages = USSDChannel.pages(
                        of: screen, more: "99. More", limit: { SMSSegmenter.encoding(of: $0) == .gsm7 ? 182 : 80 })
                    #expect(
                        pages.allSatisfy(Self.fits)
                            && pages.last?.hasSuffix("2. 取消") != pages.last?.hasSuffix("2. Cancel"))
                }
            }
        }
    }

    @Test func everyReplyIsPagedIntoScreensThatFit() async throws {
        for language in Language.supported {
            for filler in ["W", "字"] {
                for reply in Self.replyKeys {
                    let text = try Self.longest(reply, language, filler: filler)
                    let pages = USSDChannel.pages(
                        of: text, more: "99. 更多",
                        limit: { SMSSegmenter.encoding(of: $0) == .gsm7 ? 182 : 80 })
                    #expect(pages.allSatisfy(Self.fits), "\(reply) in \(language): \(pages)")
                    #expect(pages.joined().count >= text.count - pages.count * 8, "nothing of \(reply) is lost")
                }
            }
        }
    }

    @Test func everySMSReplyAndConfirmationFitsThePartCapAtItsLongest() throws {
        let cap = SMSConfiguration().partCap
        for language in Language.supported {
            for filler in ["W", "字"] {
                for reply in Self.replyKeys {
                    let text = try Self.longest(reply, language, filler: filler)
                    #expect(SMSSegmenter(partCap: .max).segments(text).count <= cap, "\(reply) in \(language)")
                    guard
                        OperationPolicy.defaultConfirmationRequired.contains(where: {
                            reply.rawValue.hasPrefix("reply.\($0.rawValue)")
                        })
                    else { continue }
                    let ask =
                        try Self.longest(.confirmation(of: reply), language, filler: filler)
                        + Self.longest(.confirmAskSms, language, filler: filler)
                    #expect(
                        SMSSegmenter(partCap: .max).segments(ask).count <= cap, "\(reply)'s question in \(language)")
                }
            }
        }
    }

    /// Every screen of a walk through the new menus, with the demo-sized catalogue, fits.
    @Test func everyScreenOfTheNewMenusFits() async throws {
        let h = try await USSDHarness()
        try await Fixtures.seedCatalogue(h.store)
        for walk in [
            ["6"], ["6", "1"], ["6", "1", "1000000000000001"], ["7"], ["7", "1"], ["7", "3"], ["8"], ["8", "1"],
            ["8", "2"], ["8", "3"], ["8", "3", "1"], ["8", "4"], ["8", "5"], ["9"], ["9", "1"], ["9", "6"],
            ["9", "6", "10690000123"], ["9", "5"], ["99"],
        ] {
            for number in ["18612345678", "18611110001"] {
                let screens = await h.dial("*100#", walk, from: number, session: "w-\(number)-\(walk.joined())")
                for screen in screens { #expect(Self.fits(screen.text), "\(walk): \(screen.text)") }
            }
        }
    }
}

@Suite("USSD confirmations longer than a screen")
struct PagedConfirmationTests {
    @Test func aLongQuestionIsPagedAndItsLastPageTakesTheAnswer() async throws {
        let h = try await USSDHarness()
        try await Fixtures.seedCatalogue(h.store)
        // An English name in Chinese characters makes the English question UCS-2: 80 characters a screen.
        try await h.store.write { writer in
            try writer.save(
                DataPack(
                    code: "W1", nameZh: "长名流量包", nameEn: "王卡超长名字的流量包加量包夜间包周末包", feeFen: 100, dataMB: 100,
                    payment: .both, plans: [], onSale: true))
        }
        let screens = await h.dial("*100*7*1#", ["1", "258036", "99", "1", "99"], from: "18611110001")
        let question = screens[2]
        #expect(!question.ends && question.text.hasSuffix("99. More"), "\(question.text)")
        #expect(screens[3].text.hasSuffix("1. Confirm\n2. Cancel"), "\(screens[3].text)")
        #expect(screens.allSatisfy { CatalogueTextSizeTests.fits($0.text) })
        // The answer is as long: paged too, the session ending on its last page.
        #expect(!screens[4].ends && screens[4].text.hasPrefix("You ordered"), "\(screens[4].text)")
        #expect(screens[5].ends, "\(screens[5].text)")
        #expect(try h.records().last?.operation == "data.pack.order" && h.records().last?.reason == "ok")
    }
}

@Suite("USSD list lines longer than a screen")
struct LongListLineTests {
    @Test func aNameLongerThanAScreenIsCutShort() async throws {
        let h = try await USSDHarness()
        try await Fixtures.seedCatalogue(h.store)
        try await h.store.write { writer in
            try writer.save(
                BasicService(
                    code: "LONG", nameZh: String(repeating: "超长业务名称", count: 20),
                    nameEn: String(repeating: "A very long service name ", count: 12), monthlyFeeFen: 100, onSale: true)
            )
        }
        for number in ["18612345678", "18611110001"] {
            let screens = await h.dial("*100*8*1#", ["99", "99", "99"], from: number, session: "l-\(number)")
            #expect(screens.allSatisfy { CatalogueTextSizeTests.fits($0.text) }, "\(screens.map(\.text))")
            #expect(screens.contains { $0.text.contains("…") })
        }
    }
}
