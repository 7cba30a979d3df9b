import Foundation
import SelfCareCore
import SelfCareGrammar

/// One thing the voice platform does: play a prompt, collect digits, transfer, or hang up.
public struct IVRAction: Sendable, Equatable, CustomStringConvertible {
    /// What the platform is told to do: `play` a prompt, `collect` digits, `transfer` the call to a queue, or
    /// `hangup`.
    public enum Kind: String, Sendable { case play, collect, transfer, hangup }

    /// What the platform does.
    public var kind: Kind
    /// The prompt text for the TTS engine (play, collect).
    public var text: String?
    /// A recording to play instead of the TTS, when the prompts name one (`ivr.audio.KEY`).
    public var audio: String?
    /// Digits to collect at most; `#` ends the entry early.
    public var maxDigits: Int?
    /// Seconds to wait for the first key (collect).
    public var noInputTimeout: Int?
    /// Seconds to wait between keys before the entry counts as ended (collect).
    public var interDigitTimeout: Int?
    /// The agent queue of a transfer.
    public var queue: String?
    /// The transfer's priority in its queue, higher served first: the caller's tier (0 for standard to 5 for
    /// supreme), 9 for a menu option that transfers.
    public var priority: Int?
    /// The keys a one-key step accepts (a menu's options, `0` agent, `*` back, `#` repeat), for a
    /// voice browser's DTMF grammar; nil for an entry of digits ended by `#`.
    public var keys: [String]?

    /// Plays `text`, or the recording `audio` where the prompts name one.
    public static func play(_ text: String, audio: String? = nil) -> IVRAction {
        IVRAction(kind: .play, text: text, audio: audio)
    }

    /// Ends the call.
    public static func hangup() -> IVRAction { IVRAction(kind: .hangup) }

    /// The action in one line, as `selfcare ivr` prints it.
    public var description: String {
        switch kind {
        case .play: "play: \(text ?? "")" + (audio.map { " [\($0)]" } ?? "")
        case .collect:
            "collect (max \(maxDigits ?? 1), # ends, no input \(noInputTimeout ?? 0)s, between keys "
                + "\(interDigitTimeout ?? 0)s): \(text ?? "")"
        case .transfer: "transfer: \(queue ?? "") (priority \(priority ?? 0))"
        case .hangup: "hangup"
        }
    }
}

/// Settings of the IVR channel.
public struct IVRConfiguration: Sendable {
    /// Seconds the platform waits for the first key of an entry before it reports no input.
    public var noInputTimeout = 5
    /// Seconds the platform waits between keys before it takes the entry as ended.
    public var interDigitTimeout = 3
    /// No-input or no-match events at one step before the call goes to an agent.
    public var maxFailures = 3
    /// Where callers who fail too often go: an agent, or a goodbye.
    public var transferOnFailure = true
    /// The agent queue callers are transferred to (key `0`, or too many failures), unless their tier has a menu of
    /// its own.
    public var agentQueue = "agent"
    /// The queue of callers whose tier has a root menu of its own (分层服务).
    public var priorityQueue = "agent-vip"

    /// The carrier's defaults.
    public init() {}
}

/// Where an IVR call is.
public struct IVRSession: Sendable, Codable {
    enum Step: Sendable, Codable {
        case menu
        case collecting(SlotCollection)
        /// Choosing an entry for `slot` from `codes`; `prompt` is the whole spoken list, for repeats.
        case choosing(SlotCollection, slot: String, codes: [String], prompt: String)
        case confirming(prompt: String)
        /// The satisfaction question after a transaction: 1 to 5 rates it, any other key or none skips it.
        case rating(SurveyAsk, prompt: String)
    }

    var caller: String
    var language: Language
    var tier: Tier
    var menus: [String]
    var step = Step.menu
    /// No-input and no-match events at the current step, counted apart as VoiceXML does.
    var noInputs = 0
    var noMatches = 0
    /// Where the call's requests come from (`SessionLimits.perSource`).
    var source = ""

    mutating func resetCounts() {
        noInputs = 0
        noMatches = 0
    }
}

extension IVRSession: SessionState {
    /// The caller's number: at most `SessionLimits.perCaller` live calls each.
    public var sessionCaller: String { caller }
    /// The voice browser's address the call's requests come from; empty: not limited.
    public var sessionSource: String { source }
    /// At a menu, nothing keyed in is lost; in a digit entry, a plan choice or a confirmation, something is.
    public var standing: SessionStanding {
        if case .menu = step { return .browsing }
        return .engaged
    }
}

/// IVR menus on the session engine: DTMF menus that name each key, digit collection with `#`,
/// `*` back, `0` for an agent at any menu, no-input and no-match counts, typed-ahead digits, and a
/// menu and priority queue of their own for callers of tier vip and above. Collected password digits
/// are never played, shown, logged or recorded.
public final class IVRChannel: Sendable {
    /// The engine every operation of a call goes through.
    public let engine: OperationEngine
    /// The slot collection, plan choice and confirmation the IVR shares with USSD.
    var flow: SessionFlow { SessionFlow(engine: engine, channel: .ivr) }
    /// The grammars; the `ivr` channel's gives the menus.
    public let grammars: GrammarSet
    /// Where live calls are kept between steps.
    public let sessions: any SessionStore<IVRSession>
    /// The channel's settings.
    public let configuration: IVRConfiguration

    /// An IVR channel on `engine`, whose calls are kept 600 seconds idle by default.
    public init(
        engine: OperationEngine, grammars: GrammarSet,
        sessions: any SessionStore<IVRSession> = MemorySessionStore<IVRSession>(idleTimeout: 600),
        configuration: IVRConfiguration = IVRConfiguration()
    ) {
        self.engine = engine
        self.grammars = grammars
        self.sessions = sessions
        self.configuration = configuration
    }

    /// A new call: the greeting menu for the caller's tier. `source` is where the request came from (a voice
    /// browser's address), which the session store limits calls by.
    public func start(callID: String, caller: String, source: String = "") async -> [IVRAction] {
        let number = normalizeNumber(caller) ?? caller
        let profile = await engine.callerProfile(number)
        let prompts = engine.prompts
        guard let grammar = grammars.grammar(for: .ivr), let root = grammar.rootMenu else {
            return [.play(prompts.render(.refusedInternalError, in: prompts.defaultLanguage)), .hangup()]
        }
        let start = grammar.tierRootMenus.first { profile.tier >= $0.tier }?.menu ?? root
        var session = IVRSession(caller: number, language: profile.language, tier: profile.tier, menus: [start])
        session.source = source
        await sessions.save(callID, session, now: engine.now())
        return [menuAction(session, grammar)]
    }

    /// The most keys one step takes (typed ahead, they walk the steps that follow, each of which may run an
    /// operation): more is a platform's mistake or an attack, refused by the adapters.
    public static let maxKeysPerStep = 64

    /// The caller's keys at the current step; nil or empty is no input (the timeout passed).
    /// Digits typed ahead are applied to the steps that follow.
    public func input(callID: String, digits: String?) async -> [IVRAction] {
        guard var session = await sessions.load(callID, now: engine.now()), let grammar = grammars.grammar(for: .ivr)
        else {
            return [.hangup()]
        }
        var actions: [IVRAction] = []
        // Typed-ahead digits walk the following steps; the adapters refuse more than `maxKeysPerStep`.
        var keys = Substring((digits ?? "").prefix(Self.maxKeysPerStep))
        if keys.isEmpty {
            actions = await noInput(&session, callID: callID, grammar)
        }
        while !keys.isEmpty {
            let (step, rest) = await handle(&session, keys, callID: callID, grammar)
            // Only the last step's prompt is a question for the caller: earlier collects were answered
            // by the digits typed ahead.
            actions.removeAll { $0.kind == .collect }
            actions += step
            keys = rest
            if actions.last?.kind == .hangup || actions.last?.kind == .transfer { break }
        }
        if let last = actions.last, last.kind == .hangup || last.kind == .transfer {
            await sessions.remove(callID)
        } else {
            await sessions.save(callID, session, now: engine.now())
        }
        return actions
    }

    /// Keys the voice platform found outside the step's grammar (VoiceXML `nomatch`): counted as a no-match.
    public func noMatch(callID: String) async -> [IVRAction] {
        guard var session = await sessions.load(callID, now: engine.now()), let grammar = grammars.grammar(for: .ivr)
        else {
            return [.hangup()]
        }
        let actions = retry(&session, grammar, reason: .noMatch)
        if let last = actions.last, last.kind == .hangup || last.kind == .transfer {
            await sessions.remove(callID)
        } else {
            await sessions.save(callID, session, now: engine.now())
        }
        return actions
    }

    /// The language of a live call (nil once it is over).
    public func language(ofCall callID: String) async -> Language? {
        await sessions.load(callID, now: engine.now())?.language
    }

    /// The caller hung up: the call's state goes at once, not at its idle timeout.
    public func hangUp(callID: String) async { await sessions.remove(callID) }

    // MARK: - Steps

    private func text(_ key: PromptKey, _ session: IVRSession, _ values: [String: String] = [:]) -> String {
        engine.prompts.render(key, in: session.language, values)
    }

    private func audio(_ key: PromptKey, _ session: IVRSession) -> String? {
        engine.prompts.templates[session.language]?[PromptKey.audio(of: key).rawValue]
    }

    private func collect(_ text: String, maxDigits: Int, audio: String? = nil) -> IVRAction {
        IVRAction(
            kind: .collect, text: text, audio: audio, maxDigits: maxDigits,
            noInputTimeout: configuration.noInputTimeout, interDigitTimeout: configuration.interDigitTimeout)
    }

    /// Choosing one of `count` plans: one key, or two from ten plans on.
    private func planChoice(_ prompt: String, count: Int) -> IVRAction {
        var action = collect(prompt, maxDigits: count >= 10 ? 2 : 1)
        if count < 10 { action.keys = (1...max(count, 1)).map(String.init) + ["0", "*"] }
        return action
    }

    /// `1` confirms; any other key cancels.
    private func confirmation(_ prompt: String) -> IVRAction {
        var action = collect(prompt, maxDigits: 1)
        action.keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"]
        return action
    }

    private func transferToAgent(_ session: IVRSession, _ grammar: CompiledGrammar) -> [IVRAction] {
        let priority = grammar.tierRootMenus.contains { session.tier >= $0.tier }
        return [
            .play(text(.ivrTransfer, session)),
            IVRAction(
                kind: .transfer, queue: priority ? configuration.priorityQueue : configuration.agentQueue,
                priority: Tier.allCases.count - 1 - (Tier.allCases.firstIndex(of: session.tier) ?? 0)),
        ]
    }

    private func menuAction(_ session: IVRSession, _ grammar: CompiledGrammar, prefix: String = "") -> IVRAction {
        // A reload may have removed the menu a call was in: start again from the root.
        guard let menu = grammar.menus[session.menus.last ?? ""] ?? grammar.rootMenu.flatMap({ grammar.menus[$0] })
        else {
            return .hangup()
        }
        let separator = text(.ivrOptionSeparator, session)
        var parts = menu.options.map {
            text(.ivrOption, session, ["label": text(PromptKey($0.label ?? $0.key), session), "key": $0.key])
        }
        parts.append(text(.ivrAgentOption, session))
        if session.menus.count > 1 { parts.append(text(.ivrBackOption, session)) }
        var title = text(PromptKey(menu.prompt), session)
        if let last = title.trimmingCharacters(in: .whitespaces).last, !".。!！?？".contains(last) {
            title += text(.ivrTitleEnd, session)
        }
        let spoken = prefix + title + parts.joined(separator: separator) + text(.ivrMenuEnd, session)
        var action = collect(spoken, maxDigits: 1, audio: audio(PromptKey(menu.prompt), session))
        action.keys = menu.options.map(\.key).filter { !["0", "*", "#"].contains($0) } + ["0", "*", "#"]
        return action
    }

    /// Why a step is asked again: the browser heard nothing, or keys no option takes.
    enum Failure {
        case noInput, noMatch

        /// The apology played before the step again.
        var apology: PromptKey { self == .noInput ? .ivrNoinput : .ivrNomatch }
    }

    /// Repeats the current step after a failure, or gives up after too many.
    private func retry(_ session: inout IVRSession, _ grammar: CompiledGrammar, reason: Failure) -> [IVRAction] {
        let count: Int
        switch reason {
        case .noInput:
            session.noInputs += 1
            count = session.noInputs
        case .noMatch:
            session.noMatches += 1
            count = session.noMatches
        }
        if count >= configuration.maxFailures {
            return configuration.transferOnFailure
                ? transferToAgent(session, grammar) : [.play(text(.ivrGoodbye, session)), .hangup()]
        }
        let apology = text(reason.apology, session)
        switch session.step {
        case .menu: return [menuAction(session, grammar, prefix: apology)]
        case .collecting(let call):
            let slot = call.remaining[0].name
            return [
                collect(apology + text(.ask(slot, on: .ivr), session), maxDigits: SlotCollection.maxDigits(of: slot))
            ]
        case .choosing(_, _, let codes, let prompt):
            return [planChoice(apology + prompt, count: codes.count)]
        case .confirming(let prompt): return [confirmation(apology + prompt)]
        case .rating(_, let prompt): return [ratingQuestion(apology + prompt)]
        }
    }

    private func noInput(_ session: inout IVRSession, callID: String, _ grammar: CompiledGrammar) async -> [IVRAction] {
        if case .rating(let ask, _) = session.step {
            // Silence skips the question.
            session.step = .menu
            let outcome = await engine.rate(ask, rating: nil, caller: session.caller, channel: .ivr, session: callID)
            return [.play(outcome.reply), menuAction(session, grammar)]
        }
        if case .collecting(var call) = session.step, call.remaining.first?.optional == true {
            _ = call.take("")  // an optional slot is skipped by no input
            return await proceed(&session, call, callID: callID, grammar, typedAhead: false)
        }
        return retry(&session, grammar, reason: .noInput)
    }

    /// Handles the keys at one step; returns the actions and the keys left for the next step.
    private func handle(
        _ session: inout IVRSession, _ keys: Substring, callID: String, _ grammar: CompiledGrammar
    )
        async -> ([IVRAction], Substring)
    {
        switch session.step {
        case .menu:
            let key = String(keys.first!)
            let rest = keys.dropFirst()
            if key == "*" {
                if session.menus.count > 1 { session.menus.removeLast() }
                session.resetCounts()
                return ([menuAction(session, grammar)], rest)
            }
            if key == "0" { return (transferToAgent(session, grammar), "") }
            if key == "#" { return (rest.isEmpty ? [menuAction(session, grammar)] : [], rest) }
            guard let menu = grammar.menus[session.menus.last ?? ""] else {
                session.menus = [grammar.rootMenu ?? ""]
                return ([menuAction(session, grammar)], "")
            }
            guard let option = menu.options.first(where: { $0.key == key }) else {
                return (retry(&session, grammar, reason: .noMatch), "")
            }
            session.resetCounts()
            switch option.target {
            case .menu(let name, _):
                session.menus.append(name)
                return (rest.isEmpty ? [menuAction(session, grammar)] : [], rest)
            case .operation(let op, let collect, let assignments, _):
                let call = SlotCollection(operation: OperationName(op), collect: collect, assignments: assignments)
                return (await proceed(&session, call, callID: callID, grammar, typedAhead: !rest.isEmpty), rest)
            case .transfer(let queue, _):
                return (
                    [.play(text(.ivrTransfer, session)), IVRAction(kind: .transfer, queue: queue, priority: 9)], ""
                )
            case .end(let prompt, _):
                return ([.play(text(prompt.map { PromptKey($0) } ?? .ivrGoodbye, session)), .hangup()], "")
            }
        case .collecting(var call):
            // One entry: up to `#` (or everything typed); `*` alone goes back.
            let entry: Substring
            let rest: Substring
            if let hash = keys.firstIndex(of: "#") {
                entry = keys[..<hash]
                rest = keys[keys.index(after: hash)...]
            } else {
                entry = keys
                rest = ""
            }
            if entry == "*" {
                session.step = .menu
                session.resetCounts()
                return ([menuAction(session, grammar)], rest)
            }
            switch call.take(String(entry)) {
            case .taken, .skipped: break
            case .missing:
                session.step = .collecting(call)
                return (retry(&session, grammar, reason: .noInput), "")
            case .invalid:
                session.step = .collecting(call)
                return (retry(&session, grammar, reason: .noMatch), "")
            }
            session.resetCounts()
            return (await proceed(&session, call, callID: callID, grammar, typedAhead: !rest.isEmpty), rest)
        case .choosing(var call, let slot, let codes, _):
            let key = keys.first!
            // Ten plans or more take two digits (or one and `#`).
            var entry = Substring(String(key))
            var rest = keys.dropFirst()
            if codes.count >= 10, key.isNumber {
                entry = keys.prefix { $0 != "#" }.prefix(2)
                rest = keys.dropFirst(entry.count)
                if rest.first == "#" { rest = rest.dropFirst() }
            }
            guard let n = Int(entry), n >= 1, n <= codes.count else {
                if key == "*" {
                    session.step = .menu
                    return ([menuAction(session, grammar)], keys.dropFirst())
                }
                if key == "0" { return (transferToAgent(session, grammar), "") }
                return (retry(&session, grammar, reason: .noMatch), "")
            }
            call.choose(slot, code: codes[n - 1])
            session.resetCounts()
            return (await proceed(&session, call, callID: callID, grammar, typedAhead: !rest.isEmpty), rest)
        case .confirming:
            session.step = .menu
            let outcome = await flow.answerConfirmation(
                String(keys.first!), session: callID, caller: session.caller, cancelled: .ivrCancelled)
            return (outcomeActions(&session, outcome, grammar), keys.dropFirst())
        case .rating(let ask, _):
            // 1 to 5 rates, 0 skips; any other key is no answer and the question comes again.
            guard let value = Int(String(keys.first!)), (0...5).contains(value) else {
                return (retry(&session, grammar, reason: .noMatch), "")
            }
            session.step = .menu
            session.resetCounts()
            let outcome = await engine.rate(
                ask, rating: value == 0 ? nil : value, caller: session.caller, channel: .ivr, session: callID)
            return ([.play(outcome.reply), menuAction(session, grammar)], keys.dropFirst())
        }
    }

    /// What the caller hears of an outcome: the reply, then the menu again, or the satisfaction question when the
    /// survey samples the transaction.
    private func outcomeActions(
        _ session: inout IVRSession, _ outcome: OperationOutcome, _ grammar: CompiledGrammar
    ) -> [IVRAction] {
        guard let ask = engine.surveyAsk(after: outcome) else {
            session.step = .menu
            return [.play(outcome.reply), menuAction(session, grammar)]
        }
        let prompt = text(.surveyAsk(on: .ivr), session)
        session.step = .rating(ask, prompt: prompt)
        return [.play(outcome.reply), ratingQuestion(prompt)]
    }

    /// The survey's one key: 1 to 5, or 0 to skip.
    private func ratingQuestion(_ prompt: String) -> IVRAction {
        var action = collect(prompt, maxDigits: 1)
        action.keys = ["1", "2", "3", "4", "5", "0"]
        return action
    }

    /// Asks for the next slot, offers the plans, or runs the operation when every slot is in.
    private func proceed(
        _ session: inout IVRSession, _ call: SlotCollection, callID: String, _ grammar: CompiledGrammar,
        typedAhead: Bool
    ) async -> [IVRAction] {
        switch await flow.next(call, session: callID, caller: session.caller, language: session.language) {
        case .ask(let slot):
            session.step = .collecting(call)
            let prompt = text(.ask(slot.name, on: .ivr), session)
            return typedAhead ? [] : [collect(prompt, maxDigits: SlotCollection.maxDigits(of: slot.name))]
        case .choose(let slot, let choices):
            var parts = choices.enumerated().map { i, choice in
                text(PromptKey.ivrItem(slot), session, choice.values.merging(["key": String(i + 1)]) { $1 })
            }
            parts += [text(.ivrAgentOption, session), text(.ivrBackOption, session)]
            let prompt =
                text(.ask(slot, on: .ivr), session) + parts.joined(separator: text(.ivrOptionSeparator, session))
                + text(.ivrMenuEnd, session)
            session.step = .choosing(call, slot: slot, codes: choices.map(\.code), prompt: prompt)
            return [planChoice(prompt, count: choices.count)]
        case .noChoices(let slot):
            session.step = .menu
            return [.play(text(PromptKey.ussdNoChoice(slot), session)), menuAction(session, grammar)]
        case .confirm(let summary):
            let prompt = text(.ivrAskConfirm, session, ["summary": summary])
            session.step = .confirming(prompt: prompt)
            return [confirmation(prompt)]
        case .done(let outcome):
            return outcomeActions(&session, outcome, grammar)
        }
    }
}
