import Foundation
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar
import SelfCareTesting
import Testing

/// The shipped SMS grammar, compiled once.
let smsGrammar: CompiledGrammar = {
    let url = Fixtures.repositoryRoot.appendingPathComponent("grammars/sms.grammar")
    let text = try! String(contentsOf: url, encoding: .utf8)
    do {
        return try CompiledGrammar(text: text, path: "grammars/sms.grammar")
    } catch {
        fatalError("\(error)")
    }
}()

/// `text` in full-width forms, as a Chinese input method types it.
func fullWidth(_ text: String) -> String {
    String(
        String.UnicodeScalarView(
            text.unicodeScalars.map { s in
                s == " " ? "\u{3000}" : (0x21...0x7E).contains(s.value) ? Unicode.Scalar(s.value + 0xFEE0)! : s
            }))
}

struct KeywordCase: Sendable, CustomTestStringConvertible {
    let keyword: String
    let operation: String
    /// Arguments appended after the keyword, when the command needs them.
    let arguments: String
    var testDescription: String { "\(keyword) → \(operation)" }
}

/// The keyword table of SPEC §2, every keyword and alias, with the arguments each needs.
let keywordTable: [KeywordCase] = {
    let table: [(String, [String], String)] = [
        ("query.balance", ["CXYE", "YE", "查余额", "余额", "BALANCE"], ""),
        ("query.plan", ["CXTC", "查套餐", "套餐余量", "PLAN"], ""),
        ("query.data", ["CXLL", "查流量", "DATA"], ""),
        ("query.points", ["CXJF", "查积分", "POINTS"], ""),
        ("query.bill", ["CXZD", "查账单", "BILL"], "202610 258036"),
        ("query.calls", ["CXXD", "查详单", "CALLS"], "258036"),
        ("query.services", ["CXYW", "查业务", "SERVICES"], "258036"),
        ("query.puk", ["CXPUK", "查PUK", "PUK"], "258036"),
        ("loss.report", ["GS", "挂失", "LOST"], "18612345678 258036"),
        ("loss.cancel", ["JG", "解挂", "FOUND"], "18612345678 258036"),
        ("plan.change", ["TCBG", "套餐变更", "CHANGE"], "P58 CY 258036"),
        ("plan.cancel", ["QXBG", "取消变更", "UNDO"], "258036"),
        ("suspend.keep", ["TJBH", "停机保号", "SUSPEND"], "CY 258036"),
        ("suspend.resume", ["FJ", "复机", "RESUME"], "258036"),
        ("password.change", ["MMXG", "改密码", "PASSWORD"], "258036 147036 147036"),
        ("help", ["HELP", "帮助", "?", "？"], ""),
    ]
    return table.flatMap { op, keywords, args in
        keywords.map { KeywordCase(keyword: $0, operation: op, arguments: args) }
    }
}()

@Suite("Shipped SMS grammar")
struct SMSGrammarTests {
    @Test(arguments: keywordTable)
    func everyKeywordInEveryForm(_ c: KeywordCase) throws {
        let text = c.arguments.isEmpty ? c.keyword : "\(c.keyword) \(c.arguments)"
        let variants = [
            text, text.uppercased(), text.lowercased(), fullWidth(text), "  \(text)  ", fullWidth(text.lowercased()),
            text.replacingOccurrences(of: " ", with: "#"), text.replacingOccurrences(of: " ", with: "，"),
            text.replacingOccurrences(of: " ", with: "   "),
        ]
        for variant in variants {
            let m = try #require(smsGrammar.match(variant), "no match for \(variant.debugDescription)")
            #expect(m.operation.rawValue == c.operation, "\(variant.debugDescription)")
        }
    }

    @Test func englishKeywordsSayTheyAreEnglish() throws {
        #expect(smsGrammar.match("HELP")?.language == .english)
        #expect(smsGrammar.match("balance")?.language == .english)
        #expect(smsGrammar.match("帮助")?.language == nil)
        #expect(smsGrammar.match("CXYE")?.language == nil)
    }

    @Test func billMonthIsOptionalAndTakesBothForms() throws {
        let both = try #require(smsGrammar.match("CXZD 202610 258036"))
        #expect(both.slots["month"] == "202610")
        #expect(both.secrets["password"].map { $0.withText { $0 } } == "258036")
        #expect(try #require(smsGrammar.match("cxzd 2026-10 258036")).slots["month"] == "2026-10")
        let noMonth = try #require(smsGrammar.match("查账单 258036"))
        #expect(noMonth.slots["month"] == nil)
        // A password that looks like a month is still the password.
        let looksLikeMonth = try #require(smsGrammar.match("CXZD 202611"))
        #expect(looksLikeMonth.slots["month"] == nil)
        #expect(looksLikeMonth.secrets["password"].map { $0.withText { $0 } } == "202611")
        #expect(smsGrammar.match("CXZD 202613 258036") == nil, "month 13")
    }

    @Test func lossTakesAnOptionalNumber() throws {
        let other = try #require(smsGrammar.match("GS 18612345678 258036"))
        #expect(other.slots["subject"] == "18612345678")
        let plus = try #require(smsGrammar.match("挂失+8618612345678+258036"))
        #expect(plus.slots["subject"] != nil)
        let own = try #require(smsGrammar.match("挂失258036"))
        #expect(own.slots["subject"] == nil)
        #expect(own.secrets["password"] != nil)
        #expect(smsGrammar.match("GS 12345") == nil)
        #expect(smsGrammar.match("GS 18612345678") == nil, "the password is required")
    }

    @Test func planChangeTakesPlanAndWhen() throws {
        let next = try #require(smsGrammar.match("TCBG p58 cy 258036"))
        #expect(next.slots["plan"] == "P58")
        #expect(next.slots["when"] == "next")
        let now = try #require(smsGrammar.match("套餐变更 K19 当月 258036"))
        #expect(now.slots["when"] == "now")
        let plain = try #require(smsGrammar.match("TCBG P58 258036"))
        #expect(plain.slots["when"] == nil)
        #expect(try #require(smsGrammar.match("套餐变更 P58 次月 258036")).slots["when"] == "next")
        #expect(smsGrammar.match("TCBG 258036") == nil, "a plan is required")
    }

    @Test func suspendNextMonthAndPasswordChange() throws {
        #expect(try #require(smsGrammar.match("TJBH CY 258036")).slots["when"] == "next")
        #expect(try #require(smsGrammar.match("停机保号 258036")).slots["when"] == nil)
        let change = try #require(smsGrammar.match("MMXG 258036 147036 147036"))
        #expect(Set(change.secrets.keys) == ["password", "new_password", "new_password_again"])
        #expect(change.slots.isEmpty)
        #expect(!change.description.contains("147036"))
    }

    @Test(arguments: [
        "", "HELLO", "CXYE 123", "CXYEE", "YES PLEASE", "GS", "TCBGP58 258036", "查余额吗", "MMXG 258036 147036",
    ])
    func unknownTextMatchesNothing(_ text: String) {
        #expect(smsGrammar.match(text) == nil, "\(text.debugDescription)")
    }

    @Test func confirmations() {
        for text in ["Y", "y", "Ｙ", "yes", "是", "确认"] {
            #expect(smsGrammar.match(text)?.operation == "confirm", "\(text)")
        }
    }
}

@Suite("Grammar compiler details")
struct GrammarDetailTests {
    @Test func anSMSGrammarNeedsARootRuleAndAMenuGrammarARootMenu() throws {
        let menuOnly = "#SELFCARE 1.0 sms;\nroot menu main;\nmenu main prompt p {\n 1 => op query.balance;\n}\n"
        #expect(throws: GrammarErrors.self) { try CompiledGrammar(text: menuOnly, path: "m.grammar") }
        let ussd =
            "#SELFCARE 1.0 ussd;\nroot menu main;\nmenu main prompt p {\n 1 => op query.balance;\n 9 => end;\n}\n"
        let grammar = try CompiledGrammar(text: ussd, path: "u.grammar")
        #expect(grammar.rootMenu == "main")
        #expect(grammar.menus["main"]?.options.count == 2)
        #expect(grammar.match("1") == nil, "a menu grammar matches no text")
        let ruleOnly = "#SELFCARE 1.0 ussd;\nroot $c;\n$c = CXYE {op = query.balance};\n"
        #expect(throws: GrammarErrors.self) { try CompiledGrammar(text: ruleOnly, path: "r.grammar") }
        let noMenu = "#SELFCARE 1.0 ivr;\n$a = X {op = query.balance};\n"
        #expect(throws: GrammarErrors.self) { try CompiledGrammar(text: noMenu, path: "i.grammar") }
    }

    @Test func tierRootMenus() throws {
        let text = """
            #SELFCARE 1.0 ivr;
            root menu main;
            root menu vip for vip;
            root menu top for supreme;
            menu main prompt p { 1 => op query.balance; }
            menu vip prompt p { 1 => op query.balance; }
            menu top prompt p { 1 => op query.balance; }
            """
        let g = try CompiledGrammar(text: text, path: "t.grammar")
        #expect(g.tierRootMenus.map(\.menu) == ["top", "vip"], "highest tier first")
        let bad = text.replacingOccurrences(of: "for supreme", with: "for supremo")
        do {
            _ = try CompiledGrammar(text: bad, path: "t.grammar")
            Issue.record("expected an error")
        } catch let errors as GrammarErrors {
            #expect(errors.description.contains("unknown tier `supremo`; did you mean `supreme`?"))
        }
    }

    @Test func digitsMayBeOptionalByLength() throws {
        let g = try CompiledGrammar(
            text: "#SELFCARE 1.0 sms;\nroot $c;\n$c = JF $DIGITS<0-4>:month {op = query.points};\n", path: "d.grammar")
        #expect(g.match("JF") != nil)
        #expect(g.match("JF 12")?.slots["month"] == "12")
        #expect(g.match("JF 12345") == nil)
    }

    @Test func suggestionsAreStableAndCatchSwaps() {
        #expect(suggestion(for: "mian", among: ["main", "queries"]) == "main")
        for _ in 0..<20 { #expect(suggestion(for: "aa", among: ["ac", "ab"]) == "ab") }
    }

    @Test func valueIsRefusedInAMenuTag() {
        let text =
            "#SELFCARE 1.0 ussd;\nroot menu main;\nmenu main prompt p {\n 1 => op plan.change {value = next};\n}\n"
        do {
            _ = try CompiledGrammar(text: text, path: "v.grammar")
            Issue.record("expected an error")
        } catch let errors as GrammarErrors {
            #expect(errors.description.contains("`value` only means something in a rule bound to a slot"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func twoGrammarsForOneChannelAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("g-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = "#SELFCARE 1.0 sms;\nroot $c;\n$c = CXYE {op = query.balance};\n"
        try a.write(to: dir.appendingPathComponent("a.grammar"), atomically: true, encoding: .utf8)
        try a.write(to: dir.appendingPathComponent("b.grammar"), atomically: true, encoding: .utf8)
        do {
            _ = try GrammarSet(directory: dir.path, prompts: nil)
            Issue.record("expected an error")
        } catch let errors as GrammarErrors {
            #expect(errors.description.contains("a second grammar for channel `sms`"))
        }
    }
}
