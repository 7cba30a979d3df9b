import SelfCareCore

/// Names the grammar language knows: operations, slots and built-in token classes.
public enum GrammarVocabulary {
    /// Operations a channel handles itself rather than the engine.
    public static let channelOperations = [
        OperationName.help.rawValue, OperationName.confirm.rawValue, OperationName.surveyRate.rawValue,
    ]
    /// Every operation name a grammar may set.
    public static var operations: [String] { OperationName.all.map(\.rawValue) + channelOperations }
    /// Slots an operation can take.
    public static let slots = [
        "subject", "password", "new_password", "new_password_again", "month", "plan", "when", "card", "pin", "pack",
        "service", "kind", "target", "reward", "category", "text", "offender", "rating",
    ]
    /// Slots whose values are secrets: never echoed, logged or recorded (a recharge card's PIN among them).
    public static let secretSlots: Set<String> = ["password", "new_password", "new_password_again", "pin"]
    /// Slots that keep the customer's own characters (not folded to half-width upper case): free text.
    public static let verbatimSlots: Set<String> = ["text"]
    /// Built-in token classes.
    public static let builtins = ["NUMBER", "PASSWORD", "PLAN", "CODE", "MONTH", "DIGITS", "TEXT", "NULL"]
    /// Names a tag may assign besides slots.
    public static let tagNames = ["op", "lang", "value"]
    /// Keys the session channels' navigation takes before a menu sees them, by channel, with what they do.
    /// A menu option on one of them could never be chosen. The USSD channel's defaults come from here.
    public static let reservedKeys: [String: [String: String]] = [
        "ussd": ["0": "back", "*": "back", "00": "home", "99": "next page", "#": "ends a USSD string"],
        "ivr": ["0": "transfer to an agent", "*": "back", "#": "end of key entry"],
    ]
    /// Channels whose menus take a single key press.
    public static let singleKeyMenus: Set<String> = ["ivr"]
}

/// One instruction of the compiled matcher (a backtracking VM over folded scalars).
enum Instruction: Sendable {
    /// A literal: `count` scalars at `start` of the literal pool; `boundary`: it ends in an ASCII
    /// letter or digit, so the next scalar must not be an ASCII letter.
    case literal(start: Int, count: Int, boundary: Bool)
    /// A maximal run of ASCII digits of `min...max` length.
    case digits(min: Int, max: Int)
    /// A phone number: an optional `+`, then 7 to 15 digits.
    case number
    /// `YYYYMM` or `YYYY-MM` with a real month.
    case month
    /// A plan code: a letter, then letters and digits, 2 to 16 in all.
    case plan
    /// A catalogue code: a whole run of 2 to 16 ASCII letters and digits holding at least one letter.
    case code
    /// The rest of the message, at least one character that is not a separator (free text).
    case rest
    /// Try `first`; on failure, resume at `second`.
    case split(Int, Int)
    case jump(Int)
    case open(slot: Int)
    case close(slot: Int)
    case setSlot(slot: Int, value: Int)
    case setOperation(Int)
    case setLanguage(Int)
    case match
}

/// A grammar compiled for matching, with its menus for the session channels.
public struct CompiledGrammar: Sendable {
    public let path: String
    public let channel: Channel
    public let menus: [String: MenuDeclaration]
    public let rootMenu: String?
    /// Menus that callers of a tier and above start in instead of the root, highest tier first.
    public let tierRootMenus: [(tier: Tier, menu: String)]
    let program: [Instruction]
    let literalPool: [UInt32]
    let separators: Set<UInt32>
    /// Separators below 128 as a bit mask, for the hot path.
    let asciiSeparatorMask: (UInt64, UInt64)
    let constants: [String]

    /// Parses, checks and compiles grammar `text`.
    /// - Parameters:
    ///   - promptKeys: the prompt keys that exist; nil skips the check.
    /// - Throws: `GrammarErrors` with every error found (a syntax error stops at the first).
    public init(text: String, path: String, promptKeys: Set<String>? = nil) throws {
        var parser: Parser
        let file: GrammarFile
        do {
            parser = try Parser(text: text, path: path)
            file = try parser.parseFile()
        } catch let d as Diagnostic {
            throw GrammarErrors([d])
        }
        var compiler = Compiler(file: file, text: text, promptKeys: promptKeys)
        compiler.check()
        let errors = compiler.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty { throw GrammarErrors(compiler.diagnostics.sorted { $0.location < $1.location }) }
        compiler.emitProgram()
        self.path = path
        channel = Channel(rawValue: file.channel)
        menus = Dictionary(file.menus.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        rootMenu = file.rootMenu?.0
        tierRootMenus = file.tierRoots.compactMap { root in Tier(rawValue: root.tier).map { ($0, root.menu) } }
            .sorted { $0.0 > $1.0 }
        program = compiler.program
        literalPool = compiler.literalPool
        separators = compiler.separators
        var low: UInt64 = 0
        var high: UInt64 = 0
        for s in compiler.separators where s < 128 {
            if s < 64 { low |= 1 << UInt64(s) } else { high |= 1 << UInt64(s - 64) }
        }
        asciiSeparatorMask = (low, high)
        constants = compiler.constants
    }
}

struct Compiler {
    let file: GrammarFile
    let lines: [String]
    let promptKeys: Set<String>?
    var rules: [String: RuleDeclaration] = [:]
    var diagnostics: [Diagnostic] = []
    var program: [Instruction] = []
    var literalPool: [UInt32] = []
    var constants: [String] = []
    var separators: Set<UInt32>

    init(file: GrammarFile, text: String, promptKeys: Set<String>?) {
        self.file = file
        self.promptKeys = promptKeys
        lines = splitLines(text).map(String.init)
        var seps: Set<UInt32> = [0x20, 0x09, 0x0A, 0x0D]
        for scalar in (file.separators ?? " ").unicodeScalars { seps.insert(TextNormalizer.fold(scalar.value)) }
        separators = seps
    }

    mutating func error(_ message: String, at location: SourceLocation) {
        let line = location.line >= 1 && location.line <= lines.count ? lines[location.line - 1] : ""
        diagnostics.append(Diagnostic(path: file.path, location: location, message: message, sourceLine: line))
    }

    private func hint(_ word: String, _ candidates: [String], prefix: String = "") -> String {
        suggestion(for: word, among: candidates).map { "; did you mean `\(prefix)\($0)`?" } ?? ""
    }

    // MARK: - Checks

    mutating func check() {
        for rule in file.rules {
            if let first = rules[rule.name] {
                error("rule `$\(rule.name)` is already defined at line \(first.location.line)", at: rule.location)
            } else if GrammarVocabulary.builtins.contains(rule.name) {
                error("`$\(rule.name)` is a built-in class and cannot be redefined", at: rule.location)
            } else {
                rules[rule.name] = rule
            }
        }
        if let (root, location) = file.rootRule {
            if rules[root] == nil {
                error("unknown rule `$\(root)`\(hint(root, Array(rules.keys), prefix: "$"))", at: location)
            }
        } else if file.channel == "sms" {
            error(
                "no `root` declaration: add `root $RULE;` naming the rule texts are matched against",
                at: file.channelLocation)
        }
        if file.channel != "sms" && file.rootMenu == nil {
            error("no `root menu NAME;`: a \(file.channel) grammar starts from a menu", at: file.channelLocation)
        }
        // The checks below follow references recursively: a chain deeper than the limit stops here.
        guard checkReferenceDepth() else { return }
        for rule in file.rules { checkExpansion(rule.body, inRule: rule.name) }
        checkRecursion()
        if diagnostics.isEmpty, let (root, _) = file.rootRule, rules[root] != nil { checkCommands(root) }
        checkMenus()
    }

    private mutating func checkExpansion(_ e: Expansion, inRule rule: String) {
        switch e {
        case .literal(let text, let location):
            if text.isEmpty { error("an empty literal matches nothing; remove it", at: location) }
        case .reference(let name, let location):
            if name == "DIGITS" {
                error("`$DIGITS` needs a length, such as `$DIGITS<6>` or `$DIGITS<4-8>`", at: location)
            } else if rules[name] == nil && !GrammarVocabulary.builtins.contains(name) {
                let candidates = Array(rules.keys) + GrammarVocabulary.builtins
                error("unknown rule `$\(name)`\(hint(name, candidates, prefix: "$"))", at: location)
            }
        case .sequence(let items):
            for item in items { checkExpansion(item, inRule: rule) }
        case .alternatives(let options, _):
            for option in options { checkExpansion(option, inRule: rule) }
        case .optional(let inner, _):
            checkExpansion(inner, inRule: rule)
        case .repetition(let inner, _, let max, let location):
            if case .reference("DIGITS", _) = inner { return }
            checkExpansion(inner, inRule: rule)
            if max == nil && nullable(inner, seen: []) {
                error("this repeat has no upper bound but can match nothing, so it would never end", at: location)
            }
        case .bound(let inner, let slot, let location):
            checkExpansion(inner, inRule: rule)
            if !GrammarVocabulary.slots.contains(slot) {
                error("unknown slot `\(slot)`\(hint(slot, GrammarVocabulary.slots))", at: location)
            }
        case .tag(let assignments, _):
            for a in assignments { checkAssignment(a, allowValue: true) }
        }
    }

    private mutating func checkAssignment(_ a: Assignment, allowValue: Bool) {
        switch a.name {
        case "op":
            if !GrammarVocabulary.operations.contains(a.value) {
                error(
                    "unknown operation `\(a.value)`\(hint(a.value, GrammarVocabulary.operations))", at: a.valueLocation)
            }
        case "lang":
            if Language(parsing: a.value) == nil {
                error("unknown language `\(a.value)`; expected zh-CN or en", at: a.valueLocation)
            }
        case "value":
            if !allowValue {
                error("`value` only means something in a rule bound to a slot; set the slot instead", at: a.location)
            }
        default:
            if !GrammarVocabulary.slots.contains(a.name) {
                let names = GrammarVocabulary.tagNames + GrammarVocabulary.slots
                error(
                    "unknown tag `\(a.name)`"
                        + (hint(a.name, names).isEmpty
                            ? "; a tag sets op, lang, value or a slot"
                            : "\(hint(a.name, names)) A tag sets op, lang, value or a slot."),
                    at: a.location)
            }
        }
    }

    /// Whether `e` can match without consuming a token.
    private func nullable(_ e: Expansion, seen: Set<String>) -> Bool {
        switch e {
        case .literal: return false
        case .reference(let name, _):
            if name == "NULL" { return true }
            guard let rule = rules[name], !seen.contains(name) else { return false }
            return nullable(rule.body, seen: seen.union([name]))
        case .sequence(let items): return items.allSatisfy { nullable($0, seen: seen) }
        case .alternatives(let options, _): return options.contains { nullable($0, seen: seen) }
        case .optional, .tag: return true
        case .repetition(let inner, let min, _, _): return min == 0 || nullable(inner, seen: seen)
        case .bound(let inner, _, _): return nullable(inner, seen: seen)
        }
    }

    private func references(_ e: Expansion) -> [(String, SourceLocation)] {
        switch e {
        case .reference(let n, let l): return [(n, l)]
        case .literal, .tag: return []
        case .sequence(let items): return items.flatMap(references)
        case .alternatives(let options, _): return options.flatMap(references)
        case .optional(let i, _), .repetition(let i, _, _, _), .bound(let i, _, _): return references(i)
        }
    }

    /// Rules may refer to rules this deep at most: the checks and the program's emission recurse once a reference,
    /// and a grammar a person writes needs a handful.
    static let maximumReferenceDepth = 256

    /// Whether no chain of references is deeper than `maximumReferenceDepth`, walked without recursion (a cycle
    /// counts once; `checkRecursion` reports it); one error at the first rule past it otherwise.
    private mutating func checkReferenceDepth() -> Bool {
        var depth: [String: Int] = [:]
        var inProgress: Set<String> = []
        for start in file.rules where depth[start.name] == nil {
            var stack: [(name: String, expanded: Bool)] = [(start.name, false)]
            while let (name, expanded) = stack.popLast() {
                guard let rule = rules[name] else { continue }
                let refs = references(rule.body).map(\.0)
                if expanded {
                    inProgress.remove(name)
                    let d = 1 + (refs.compactMap { depth[$0] }.max() ?? 0)
                    depth[name] = d
                    if d > Self.maximumReferenceDepth {
                        error(
                            "rules refer to rules more than \(Self.maximumReferenceDepth) deep from `$\(name)`",
                            at: rule.location)
                        return false
                    }
                } else if depth[name] == nil, !inProgress.contains(name) {
                    inProgress.insert(name)
                    stack.append((name, true))
                    for ref in refs where depth[ref] == nil && !inProgress.contains(ref) { stack.append((ref, false)) }
                }
            }
        }
        return true
    }

    private mutating func checkRecursion() {
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        func visit(_ name: String, path: [String], at location: SourceLocation, _ c: inout Compiler) {
            guard let rule = c.rules[name] else { return }
            if state[name] == 2 { return }
            if state[name] == 1 {
                let cycle = (path.drop { $0 != name } + [name]).map { "$\($0)" }.joined(separator: " → ")
                c.error("rule `$\(name)` refers to itself (\(cycle)); grammars cannot be recursive", at: location)
                return
            }
            state[name] = 1
            for (ref, l) in c.references(rule.body) { visit(ref, path: path + [name], at: l, &c) }
            state[name] = 2
        }
        for rule in file.rules { visit(rule.name, path: [], at: rule.location, &self) }
    }

    /// The top-level commands: the root's alternatives, following rules that are only references.
    private func commands(_ e: Expansion) -> [Expansion] {
        switch e {
        case .alternatives(let options, _): return options.flatMap(commands)
        case .reference(let name, _):
            if let rule = rules[name], case .alternatives = rule.body { return commands(rule.body) }
            return [e]
        default: return [e]
        }
    }

    private func operations(_ e: Expansion) -> [String] {
        switch e {
        case .tag(let assignments, _): return assignments.filter { $0.name == "op" }.map(\.value)
        case .literal: return []
        case .reference(let n, _): return rules[n].map { operations($0.body) } ?? []
        case .sequence(let items): return items.flatMap(operations)
        case .alternatives(let options, _): return options.flatMap(operations)
        case .optional(let i, _), .repetition(let i, _, _, _), .bound(let i, _, _): return operations(i)
        }
    }

    /// The literals that can begin `e`, with where they are written.
    private func firstLiterals(_ e: Expansion) -> [(String, SourceLocation)] {
        switch e {
        case .literal(let text, let l): return [(TextNormalizer.normalizedString(text), l)]
        case .tag: return []
        case .reference(let n, _): return rules[n].map { firstLiterals($0.body) } ?? []
        case .sequence(let items):
            var out: [(String, SourceLocation)] = []
            for item in items {
                out += firstLiterals(item)
                if !nullable(item, seen: []) { break }
            }
            return out
        case .alternatives(let options, _): return options.flatMap(firstLiterals)
        case .optional(let i, _), .repetition(let i, _, _, _), .bound(let i, _, _): return firstLiterals(i)
        }
    }

    private mutating func checkCommands(_ root: String) {
        var owner: [String: (operation: String, location: SourceLocation)] = [:]
        for command in commands(.reference(root, SourceLocation(line: 1, column: 1))) {
            let ops = Set(operations(command))
            guard let op = ops.sorted().first else {
                error("this command sets no operation; add a tag such as `{op = query.balance}`", at: command.location)
                continue
            }
            for (keyword, location) in firstLiterals(command) {
                if let first = owner[keyword], first.operation != op {
                    error(
                        "keyword `\(keyword)` is already used for `\(first.operation)` at line \(first.location.line); "
                            + "a keyword can start only one command", at: location)
                } else if owner[keyword] == nil {
                    owner[keyword] = (op, location)
                }
            }
        }
    }

    private mutating func checkMenus() {
        guard !file.menus.isEmpty else { return }
        var byName: [String: MenuDeclaration] = [:]
        for menu in file.menus {
            if let first = byName[menu.name] {
                error("menu `\(menu.name)` is already defined at line \(first.location.line)", at: menu.location)
            } else {
                byName[menu.name] = menu
            }
        }
        let names = Array(byName.keys)
        var brokenLinks = false
        for menu in file.menus {
            checkPrompt(menu.prompt, at: menu.promptLocation)
            var keys: [String: SourceLocation] = [:]
            for option in menu.options {
                if let first = keys[option.key] {
                    error(
                        "key `\(option.key)` is already used in menu `\(menu.name)` at line \(first.line)",
                        at: option.location)
                }
                keys[option.key] = option.location
                if !option.key.isEmpty && !option.key.unicodeScalars.allSatisfy({ $0 >= "0" && $0 <= "9" })
                    && GrammarVocabulary.reservedKeys[file.channel]?[option.key] == nil
                {
                    error(
                        "key `\(option.key)` cannot be pressed: a menu key is made of the digits 0 to 9 of a phone's "
                            + "keypad",
                        at: option.location)
                } else if let reserved = GrammarVocabulary.reservedKeys[file.channel]?[option.key] {
                    error(
                        "key `\(option.key)` is reserved in \(file.channel) menus (\(reserved)): the caller could never "
                            + "choose this option; use another key",
                        at: option.location)
                } else if GrammarVocabulary.singleKeyMenus.contains(file.channel) && option.key.count != 1 {
                    error(
                        "key `\(option.key)` cannot be chosen: \(file.channel) menus take one key press; use 1 to 9",
                        at: option.location)
                }
                if let label = option.label, let l = option.labelLocation { checkPrompt(label, at: l) }
                switch option.target {
                case .menu(let target, let l):
                    if byName[target] == nil {
                        brokenLinks = true
                        error("unknown menu `\(target)`\(hint(target, names))", at: l)
                    }
                case .operation(let op, let collect, let assignments, let l):
                    if !OperationName.all.map(\.rawValue).contains(op) {
                        error("unknown operation `\(op)`\(hint(op, OperationName.all.map(\.rawValue)))", at: l)
                    }
                    for slot in collect where !GrammarVocabulary.slots.contains(slot.name) {
                        error(
                            "unknown slot `\(slot.name)`\(hint(slot.name, GrammarVocabulary.slots))", at: slot.location)
                    }
                    for a in assignments { checkAssignment(a, allowValue: false) }
                case .transfer: break
                case .end(let prompt, let l):
                    if let prompt { checkPrompt(prompt, at: l) }
                }
            }
        }
        guard let (root, rootLocation) = file.rootMenu else {
            // ussd and ivr grammars were already told they need a root menu.
            if file.channel == "sms" { error("menus need a root: add `root menu NAME;`", at: file.menus[0].location) }
            return
        }
        guard byName[root] != nil else {
            error("unknown menu `\(root)`\(hint(root, names))", at: rootLocation)
            return
        }
        guard !brokenLinks else { return }  // reachability means little until the links are fixed
        for tierRoot in file.tierRoots {
            if Tier(rawValue: tierRoot.tier) == nil {
                error(
                    "unknown tier `\(tierRoot.tier)`\(hint(tierRoot.tier, Tier.allCases.map(\.rawValue)))",
                    at: tierRoot.location)
            }
            if byName[tierRoot.menu] == nil {
                error("unknown menu `\(tierRoot.menu)`\(hint(tierRoot.menu, names))", at: tierRoot.location)
                return
            }
        }
        var reached: Set<String> = Set([root] + file.tierRoots.map(\.menu))
        var queue = Array(reached)
        while let name = queue.popLast() {
            for option in byName[name]?.options ?? [] {
                if case .menu(let target, _) = option.target, byName[target] != nil, reached.insert(target).inserted {
                    queue.append(target)
                }
            }
        }
        for menu in file.menus where !reached.contains(menu.name) && byName[menu.name]?.location == menu.location {
            error(
                file.tierRoots.isEmpty
                    ? "menu `\(menu.name)` is unreachable: no option of the root menu `\(root)` or its submenus leads to it"
                    : "menu `\(menu.name)` is unreachable: no option of the root menus "
                        + ([root] + file.tierRoots.map(\.menu)).map { "`\($0)`" }.joined(separator: ", ")
                        + " or their submenus leads to it",
                at: menu.location)
        }
    }

    private mutating func checkPrompt(_ key: String, at location: SourceLocation) {
        guard let promptKeys, !promptKeys.contains(key) else { return }
        error("unknown prompt key `\(key)`\(hint(key, Array(promptKeys)))", at: location)
    }

    // MARK: - Code generation

    mutating func emitProgram() {
        guard let (root, _) = file.rootRule, let rule = rules[root] else { return }
        emit(rule.body, bound: nil)
        program.append(.match)
    }

    private mutating func constant(_ text: String) -> Int {
        if let i = constants.firstIndex(of: text) { return i }
        constants.append(text)
        return constants.count - 1
    }

    private mutating func emit(_ e: Expansion, bound: Int?) {
        switch e {
        case .literal(let text, _):
            let scalars = TextNormalizer.normalize(text)
            let last = scalars.last ?? 0
            let boundary = (last >= 0x41 && last <= 0x5A) || (last >= 0x30 && last <= 0x39)
            program.append(.literal(start: literalPool.count, count: scalars.count, boundary: boundary))
            literalPool.append(contentsOf: scalars)
        case .reference(let name, _):
            switch name {
            case "NUMBER": program.append(.number)
            case "PASSWORD": program.append(.digits(min: 6, max: 6))
            case "PLAN": program.append(.plan)
            case "MONTH": program.append(.month)
            case "CODE": program.append(.code)
            case "TEXT": program.append(.rest)
            case "NULL": break
            default: if let rule = rules[name] { emit(rule.body, bound: bound) }
            }
        case .sequence(let items):
            for item in items { emit(item, bound: bound) }
        case .alternatives(let options, _):
            var jumps: [Int] = []
            for (i, option) in options.enumerated() {
                if i < options.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, -1))
                    emit(option, bound: bound)
                    jumps.append(program.count)
                    program.append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                } else {
                    emit(option, bound: bound)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case .optional(let inner, _):
            let split = program.count
            program.append(.split(split + 1, -1))
            emit(inner, bound: bound)
            program[split] = .split(split + 1, program.count)
        case .repetition(let inner, let min, let max, _):
            if case .reference("DIGITS", _) = inner {
                program.append(.digits(min: min, max: max ?? 64))
                return
            }
            for _ in 0..<min { emit(inner, bound: bound) }
            if let max {
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    program.append(.split(program.count + 1, -1))
                    emit(inner, bound: bound)
                }
                for s in splits { program[s] = .split(s + 1, program.count) }
            } else {
                let loop = program.count
                program.append(.split(loop + 1, -1))
                emit(inner, bound: bound)
                program.append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        case .bound(let inner, let slot, _):
            let index = GrammarVocabulary.slots.firstIndex(of: slot)!
            program.append(.open(slot: index))
            emit(inner, bound: index)
            program.append(.close(slot: index))
        case .tag(let assignments, _):
            for a in assignments {
                switch a.name {
                case "op": program.append(.setOperation(constant(a.value)))
                case "lang": program.append(.setLanguage(constant(Language(parsing: a.value)!.rawValue)))
                case "value": if let bound { program.append(.setSlot(slot: bound, value: constant(a.value))) }
                default:
                    program.append(
                        .setSlot(slot: GrammarVocabulary.slots.firstIndex(of: a.name)!, value: constant(a.value)))
                }
            }
        }
    }
}
