import Foundation
import SelfCareCore
import SelfCareGrammar

/// One USSD screen, as an aggregator gets it: `CON text` continues the session, `END text` ends it.
public struct USSDScreen: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The screen's text, lines separated by line feeds.
    public var text: String
    /// Whether the screen ends the session (`END`) rather than waiting for the customer's reply (`CON`).
    public var ends: Bool
    /// A screen showing `text`, ending the session when `ends`.
    public init(text: String, ends: Bool) {
        self.text = text
        self.ends = ends
    }
    /// `CON text` or `END text`, as an aggregator gets it.
    public var description: String { (ends ? "END " : "CON ") + text }
}

/// Settings of the USSD channel.
public struct USSDConfiguration: Sendable {
    /// Characters a screen holds when its text fits GSM 7-bit.
    public var gsmScreen = 182
    /// Characters a screen holds when its text needs UCS-2 (any Chinese character).
    public var ucs2Screen = 80
    // The navigation keys; `selfcare check` refuses menu options on them (GrammarVocabulary.reservedKeys).
    /// Keys that go back one menu; from a step that asks for a value, back to the menu it started from.
    public var backKeys: Set<String> = ["0", "*"]
    /// The key that goes to the main menu.
    public var homeKey = "00"
    /// The key that shows the next page of a long menu or plan list.
    public var moreKey = "99"
    /// Keys one request may carry at most: a direct string's (`*100*1*1#`), or an aggregator's new inputs. Each
    /// key draws a screen; a real session takes a handful, and a request of thousands only burns CPU. The
    /// adapters refuse more (400); the channel walks no more of a direct string than this.
    public var maxInputsPerRequest = 24

    /// The carrier's defaults.
    public init() {}
}

/// Where a USSD session is.
public struct USSDSession: Sendable, Codable {
    enum Step: Sendable, Codable {
        case menu
        case collecting(SlotCollection)
        /// Choosing an entry for `slot` (a plan, pack, service or reward); `page` is the index of the first entry on
        /// the screen.
        case choosing(SlotCollection, slot: String, codes: [String], labels: [String], page: Int)
        /// The transaction waits for its confirmation (its password digits are not kept).
        case confirming
        /// A confirmation question too long for one screen: `pages` left to show, the last one with the keys.
        case readingConfirmation(pages: [String])
        /// Reading an outcome too long for one screen: `pages` left to show, the last one ending the session or,
        /// with `survey`, asking the rating.
        case reading(pages: [String], survey: SurveyAsk?)
        /// The satisfaction question after a transaction: 1 to 5 rates it, any other key skips it.
        case rating(SurveyAsk)
    }

    var caller: String
    var language: Language
    var menus: [String]
    /// The index of the menu's first option on the screen.
    var page = 0
    /// The index of the first line after the screen's, when the screen offered more (`moreKey`): the next page
    /// starts there, whatever made the screen shorter (an error line above the menu).
    var nextPage: Int?
    var step = Step.menu
    /// Where the session's requests come from (`SessionLimits.perSource`).
    var source = ""
    /// Inputs taken since the session opened (a direct string's keys not counted), and the last screen: an
    /// adapter finds the new inputs of a cumulative `text` and answers a repeated request with them.
    var inputsTaken = 0
    var lastScreen: USSDScreen?
}

extension USSDSession: SessionState {
    /// The caller's number: at most `SessionLimits.perCaller` live sessions each.
    public var sessionCaller: String { caller }
    /// The aggregator's address the session's requests come from; empty: not limited.
    public var sessionSource: String { source }
    /// At a menu, nothing typed is lost; anywhere else (a password, a value, a plan, a confirmation) something is.
    public var standing: SessionStanding {
        if case .menu = step { return .browsing }
        return .engaged
    }
}

/// How far a live USSD session has come: the inputs it has taken and the screen it last showed.
public struct USSDProgress: Sendable, Equatable {
    /// The inputs the session has taken since it opened, the keys of a direct string not counted.
    public var inputs: Int
    /// The last screen the session showed.
    public var screen: USSDScreen
}

/// USSD menus on the session engine: screens within the size limits with paging, back and home keys,
/// direct strings (`*100*1*1#`), password entry as a step whose digits are never shown, a confirmation
/// step for transactions, and `END` on the last screen. Every operation attempt writes its record
/// with the session id.
public final class USSDChannel: Sendable {
    /// The engine every operation of a session goes through.
    public let engine: OperationEngine
    /// The slot collection, plan choice and confirmation USSD shares with the IVR.
    var flow: SessionFlow { SessionFlow(engine: engine, channel: .ussd) }
    /// The grammars; the `ussd` channel's gives the menus.
    public let grammars: GrammarSet
    /// Where live sessions are kept between steps.
    public let sessions: any SessionStore<USSDSession>
    /// The channel's settings.
    public let configuration: USSDConfiguration

    /// A USSD channel on `engine`, whose sessions are kept 120 seconds idle by default.
    public init(
        engine: OperationEngine, grammars: GrammarSet,
        sessions: any SessionStore<USSDSession> = MemorySessionStore<USSDSession>(),
        configuration: USSDConfiguration = USSDConfiguration()
    ) {
        self.engine = engine
        self.grammars = grammars
        self.sessions = sessions
        self.configuration = configuration
    }

    /// Handles one step: the dialled `serviceCode` opens the session (walking a direct string's keys, at most
    /// `maxInputsPerRequest`), then each `input` is the customer's reply to the last screen. `source` is where
    /// the request came from (an aggregator's address), which the session store limits sessions by.
    public func handle(
        sessionID: String, caller: String, serviceCode: String, input: String?, source: String = ""
    ) async -> USSDScreen {
        let now = engine.now()
        let number = normalizeNumber(caller) ?? caller
        let prompts = engine.prompts
        guard let grammar = grammars.grammar(for: .ussd), let root = grammar.rootMenu else {
            return USSDScreen(text: prompts.render(.refusedInternalError, in: prompts.defaultLanguage), ends: true)
        }
        var session: USSDSession
        var keys: [String]
        if let input, let existing = await sessions.load(sessionID, now: now) {
            session = existing
            keys = [input]
        } else if input != nil {
            let language = await languageOf(number)
            return USSDScreen(text: prompts.render(.ussdExpired, in: language), ends: true)
        } else {
            session = USSDSession(caller: number, language: await languageOf(number), menus: [root])
            session.source = source
            keys = Array(Self.directKeys(serviceCode).prefix(configuration.maxInputsPerRequest))
        }
        // A new session starts on its root menu; a session taking an input answers with what the input does (its
        // screen as it stands is not drawn again: that would forget where an error line cut its page short).
        var screen = input == nil ? render(&session, grammar) : USSDScreen(text: "", ends: false)
        for key in keys {
            screen = await step(&session, key.trimmingCharacters(in: .whitespaces), sessionID: sessionID, grammar)
            if screen.ends { break }
        }
        if input != nil { session.inputsTaken += 1 }
        session.lastScreen = screen
        if screen.ends { await sessions.remove(sessionID) } else { await sessions.save(sessionID, session, now: now) }
        return screen
    }

    /// The inputs a live session has taken and its last screen; nil when there is no such session (never
    /// opened, ended, expired or evicted).
    public func progress(sessionID: String) async -> USSDProgress? {
        guard let session = await sessions.load(sessionID, now: engine.now()), let screen = session.lastScreen else {
            return nil
        }
        return USSDProgress(inputs: session.inputsTaken, screen: screen)
    }

    /// `*100*1*2#` → `["1", "2"]`; `*100#` → `[]`.
    public static func directKeys(_ code: String) -> [String] {
        var body = code.trimmingCharacters(in: .whitespaces)
        if body.hasSuffix("#") { body.removeLast() }
        if body.hasPrefix("*") { body.removeFirst() }
        return Array(body.split(separator: "*", omittingEmptySubsequences: false).dropFirst().map(String.init))
    }

    private func languageOf(_ number: String) async -> Language {
        await engine.callerProfile(number).language
    }

    private func text(_ key: PromptKey, _ session: USSDSession, _ values: [String: String] = [:]) -> String {
        engine.prompts.render(key, in: session.language, values)
    }

    // MARK: - Steps

    private func step(
        _ session: inout USSDSession, _ key: String, sessionID: String, _ grammar: CompiledGrammar
    ) async
        -> USSDScreen
    {
        let isBack = configuration.backKeys.contains(key)
        let isHome = key == configuration.homeKey
        switch session.step {
        case .menu:
            break
        case .collecting(var call):
            if isBack || isHome { return navigate(&session, home: isHome, grammar) }
            switch call.take(key) {
            case .taken, .skipped: return await proceed(&session, call, sessionID: sessionID)
            case .missing, .invalid: return ask(&session, call, invalid: true)
            }
        case .choosing(var call, let slot, let codes, let labels, let page):
            if isBack || isHome { return navigate(&session, home: isHome, grammar) }
            if key == configuration.moreKey {
                let next = session.nextPage ?? page
                session.step = .choosing(call, slot: slot, codes: codes, labels: labels, page: next)
                return choiceScreen(&session, slot: slot, labels: labels, page: next)
            }
            guard let n = Int(key), n >= 1, n <= codes.count else {
                return choiceScreen(&session, slot: slot, labels: labels, page: page, invalid: true)
            }
            call.choose(slot, code: codes[n - 1])
            return await proceed(&session, call, sessionID: sessionID)
        case .confirming:
            let outcome = await flow.answerConfirmation(
                key, session: sessionID, caller: session.caller, cancelled: .ussdCancelled)
            return outcomeScreen(&session, outcome)
        case .readingConfirmation(let pages):
            // Any key shows the next page of the question; its last page takes the answer.
            return confirmationScreen(&session, pages: pages)
        case .reading(let pages, let survey):
            // Any key shows the next page of the outcome; the last one ends the session or asks the rating.
            return outcomeScreen(&session, pages: pages, survey: survey)
        case .rating(let ask):
            // 1 to 5 rates, 0 (or back) skips; anything else asks again.
            guard let value = Int(key), (0...5).contains(value) else {
                return USSDScreen(
                    text: text(.ussdInvalid, session) + "\n" + text(.surveyAsk(on: .ussd), session), ends: false)
            }
            let outcome = await engine.rate(
                ask, rating: value == 0 ? nil : value, caller: session.caller, channel: .ussd, session: sessionID)
            return USSDScreen(text: outcome.reply, ends: true)
        }
        // A menu key.
        if isBack || isHome { return navigate(&session, home: isHome, grammar) }
        if key == configuration.moreKey {
            session.page = session.nextPage ?? session.page
            return render(&session, grammar)
        }
        guard let menu = grammar.menus[session.menus.last!], let option = menu.options.first(where: { $0.key == key })
        else {
            return render(&session, grammar, invalid: true)
        }
        switch option.target {
        case .menu(let name, _):
            session.menus.append(name)
            session.page = 0
            return render(&session, grammar)
        case .operation(let op, let collect, let assignments, _):
            let call = SlotCollection(operation: OperationName(op), collect: collect, assignments: assignments)
            return await proceed(&session, call, sessionID: sessionID)
        case .transfer(let queue, _):
            return USSDScreen(text: queue, ends: true)
        case .end(let prompt, _):
            return USSDScreen(
                text: prompt.map { text(PromptKey($0), session) } ?? text(.ussdCancelled, session), ends: true)
        }
    }

    private func navigate(_ session: inout USSDSession, home: Bool, _ grammar: CompiledGrammar) -> USSDScreen {
        if home {
            session.menus = [session.menus[0]]
        } else if case .menu = session.step, session.menus.count > 1 {
            session.menus.removeLast()
        }
        session.step = .menu
        session.page = 0
        return render(&session, grammar)
    }

    /// Asks for the next slot, offers a list, or runs the operation when every slot is in.
    private func proceed(_ session: inout USSDSession, _ call: SlotCollection, sessionID: String) async -> USSDScreen {
        switch await flow.next(call, session: sessionID, caller: session.caller, language: session.language) {
        case .ask: return ask(&session, call, invalid: false)
        case .choose(let slot, let choices):
            let labels = choices.map { text(PromptKey.ussdItem(slot), session, $0.values) }
            session.step = .choosing(call, slot: slot, codes: choices.map(\.code), labels: labels, page: 0)
            return choiceScreen(&session, slot: slot, labels: labels, page: 0)
        case .noChoices(let slot): return USSDScreen(text: text(PromptKey.ussdNoChoice(slot), session), ends: true)
        case .confirm(let summary):
            // The password was checked; no digits stay in the session. A question longer than a screen is paged,
            // the confirm and cancel keys on its last page.
            let pages = Self.pages(
                of: text(.ussdAskConfirm, session, ["summary": summary]),
                more: "\(configuration.moreKey). \(text(.ussdNavMore, session))", limit: limit)
            return confirmationScreen(&session, pages: pages)
        case .done(let outcome): return outcomeScreen(&session, outcome)
        }
    }

    /// The screen of an outcome: the whole reply ending the session when it fits one screen, else its first page
    /// with the more key, the rest kept for the next keys. When the survey samples the transaction, its question
    /// follows the reply on the last page, which then waits for the rating.
    private func outcomeScreen(_ session: inout USSDSession, _ outcome: OperationOutcome) -> USSDScreen {
        let survey = engine.surveyAsk(after: outcome)
        let shown = survey.map { _ in outcome.reply + "\n" + text(.surveyAsk(on: .ussd), session) } ?? outcome.reply
        let more = "\(configuration.moreKey). \(text(.ussdNavMore, session))"
        return outcomeScreen(&session, pages: Self.pages(of: shown, more: more, limit: limit), survey: survey)
    }

    private func confirmationScreen(_ session: inout USSDSession, pages: [String]) -> USSDScreen {
        let rest = Array(pages.dropFirst())
        session.step = rest.isEmpty ? .confirming : .readingConfirmation(pages: rest)
        return USSDScreen(text: pages.first ?? "", ends: false)
    }

    private func outcomeScreen(_ session: inout USSDSession, pages: [String], survey: SurveyAsk?) -> USSDScreen {
        guard let first = pages.first else { return USSDScreen(text: "", ends: true) }
        let rest = Array(pages.dropFirst())
        if rest.isEmpty {
            guard let survey else { return USSDScreen(text: first, ends: true) }
            session.step = .rating(survey)
            return USSDScreen(text: first, ends: false)
        }
        session.step = .reading(pages: rest, survey: survey)
        return USSDScreen(text: first, ends: false)
    }

    /// Characters a long line is best cut after: spaces and punctuation, Chinese and ASCII.
    static let breaksAfter: Set<Character> = [" ", "，", "。", "；", "：", "、", "！", "？", ",", ";", "!", "?", "）", ")"]

    /// `text` cut into screens within `limit` characters, every screen but the last ending with the line `more`.
    /// Lines are kept whole where they fit; a line longer than a screen is cut between characters.
    public static func pages(of text: String, more: String, limit: (String) -> Int) -> [String] {
        func fits(_ candidate: String) -> Bool { candidate.unicodeScalars.count <= limit(candidate) }
        if fits(text) { return [text] }
        var pages: [String] = []
        var current = ""
        var pieces: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            pieces.append(String(line))
        }
        var index = 0
        while index < pieces.count {
            let line = pieces[index]
            let candidate = current.isEmpty ? line : current + "\n" + line
            // Room is kept for the more line on every page but the last.
            let isLast = index == pieces.count - 1
            if fits(isLast ? candidate : candidate + "\n" + more) || (isLast && fits(candidate)) {
                current = candidate
                index += 1
                continue
            }
            if current.isEmpty {
                // One line longer than a screen: cut it where the screen ends.
                var head = ""
                var tail = Substring(line)
                while let c = tail.first, fits(head + String(c) + "\n" + more) {
                    head.append(c)
                    tail = tail.dropFirst()
                }
                if head.isEmpty, let c = tail.first {
                    head.append(c)
                    tail = tail.dropFirst()
                }
                // Rather after a word, a number or a clause than inside one, when that keeps most of the page.
                if !tail.isEmpty, let cut = head.lastIndex(where: { Self.breaksAfter.contains($0) }),
                    head.distance(from: head.startIndex, to: cut) >= head.count / 2
                {
                    let after = head.index(after: cut)
                    tail = head[after...] + tail
                    head = String(head[..<after])
                }
                pages.append(head + "\n" + more)
                pieces[index] = String(tail)
                continue
            }
            pages.append(current + "\n" + more)
            current = ""
        }
        if !current.isEmpty { pages.append(current) }
        return pages
    }

    private func ask(_ session: inout USSDSession, _ call: SlotCollection, invalid: Bool) -> USSDScreen {
        session.step = .collecting(call)
        let question = text(.ask(call.remaining[0].name, on: .ussd), session)
        return USSDScreen(text: invalid ? text(.ussdInvalid, session) + "\n" + question : question, ends: false)
    }

    // MARK: - Screens

    private func limit(_ text: String) -> Int {
        SMSSegmenter.encoding(of: text) == .gsm7 ? configuration.gsmScreen : configuration.ucs2Screen
    }

    /// A title and numbered lines from `lines[start]` on, as many as fit the screen, and where the next page
    /// starts when some are left (nil when the screen shows the last line). A `start` past the end shows the last
    /// line.
    private func paged(
        title: String, lines given: [String], nav: [String], start: Int, session: USSDSession
    ) -> (text: String, next: Int?) {
        let more = "\(configuration.moreKey). \(text(.ussdNavMore, session))"
        var lines = given
        func fits(_ candidate: ArraySlice<String>, withMore: Bool) -> Bool {
            let body = ([title] + candidate + nav + (withMore ? [more] : [])).joined(separator: "\n")
            return body.unicodeScalars.count <= limit(body + lines.joined())
        }
        guard !lines.isEmpty else { return (([title] + nav).joined(separator: "\n"), nil) }
        // A line that would not fit a screen of its own (an imported name of a hundred characters) is cut short.
        for i in lines.indices where !fits([lines[i]], withMore: true) {
            var cut = lines[i]
            while !cut.isEmpty, !fits([cut + "…"], withMore: true) { cut.removeLast() }
            lines[i] = cut + "…"
        }
        let first = max(0, min(start, lines.count - 1))
        var end = lines.count
        if !fits(lines[first...], withMore: false) {
            // At least one line a screen; then more while they fit with room left for "more".
            end = first + 1
            while end < lines.count, fits(lines[first...end], withMore: true) { end += 1 }
        }
        let shown = Array(lines[first..<end])
        let next = end < lines.count ? end : nil
        return (([title] + shown + nav + (next != nil ? [more] : [])).joined(separator: "\n"), next)
    }

    private func render(_ session: inout USSDSession, _ grammar: CompiledGrammar, invalid: Bool = false) -> USSDScreen {
        guard let menu = grammar.menus[session.menus.last!] else {
            return USSDScreen(text: text(.refusedInternalError, session), ends: true)
        }
        let lines = menu.options.map { "\($0.key). \(text(PromptKey($0.label ?? $0.key), session))" }
        var nav: [String] = []
        if session.menus.count > 1 {
            nav = [
                "0. \(text(.ussdNavBack, session))", "\(configuration.homeKey). \(text(.ussdNavHome, session))",
            ]
        }
        let title = (invalid ? text(.ussdInvalid, session) + "\n" : "") + text(PromptKey(menu.prompt), session)
        let screen = paged(title: title, lines: lines, nav: nav, start: session.page, session: session)
        session.nextPage = screen.next
        return USSDScreen(text: screen.text, ends: false)
    }

    private func choiceScreen(
        _ session: inout USSDSession, slot: String, labels: [String], page: Int, invalid: Bool = false
    ) -> USSDScreen {
        let lines = labels.enumerated().map { "\($0.offset + 1). \($0.element)" }
        let title = (invalid ? text(.ussdInvalid, session) + "\n" : "") + text(.ask(slot, on: .ussd), session)
        let nav = ["0. \(text(.ussdNavBack, session))"]
        let screen = paged(title: title, lines: lines, nav: nav, start: page, session: session)
        session.nextPage = screen.next
        return USSDScreen(text: screen.text, ends: false)
    }
}
