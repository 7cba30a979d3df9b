/// Parses grammar text into a `GrammarFile`; the first syntax error is thrown as a `Diagnostic`.
struct Parser {
    private var tokens: [Token]
    private var position = 0
    private let lexer: Lexer
    /// Groups (`(…)`, `[…]`) open around the item being parsed.
    private var depth = 0
    /// Groups nested deeper than this are refused: the parser and the compiler recurse once a level, and a
    /// grammar a person writes needs a handful.
    static let maximumDepth = 64

    init(text: String, path: String) throws {
        var lexer = Lexer(text: text, path: path)
        tokens = try lexer.tokenize()
        self.lexer = lexer
    }

    private var current: Token { tokens[position] }

    private mutating func next() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private func error(_ message: String, at location: SourceLocation? = nil) -> Diagnostic {
        lexer.diagnostic(message, at: location ?? current.location)
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .ruleName(let n): "`$\(n)`"
        case .word(let w): "`\(w)`"
        case .quoted(let q): "\"\(q)\""
        case .punct(let p): "`\(p)`"
        case .header: "`#SELFCARE`"
        case .end: "the end of the file"
        }
    }

    private func isPunct(_ p: String) -> Bool { current.kind == .punct(p) }

    private func isWord(_ w: String) -> Bool { current.kind == .word(w) }

    private mutating func expect(_ p: String, _ context: String) throws {
        guard isPunct(p) else { throw error("expected `\(p)` \(context), found \(describe(current))") }
        _ = next()
    }

    private mutating func word(_ what: String) throws -> (String, SourceLocation) {
        let token = current
        switch token.kind {
        case .word(let w), .quoted(let w):
            _ = next()
            return (w, token.location)
        default:
            throw error("expected \(what), found \(describe(token))")
        }
    }

    mutating func parseFile() throws -> GrammarFile {
        guard current.kind == .header else {
            throw error("a grammar file starts with `#SELFCARE 1.0 CHANNEL;` (CHANNEL is sms, ussd or ivr)")
        }
        _ = next()
        let (version, versionLocation) = try word("a version such as `1.0`")
        guard version == "1.0" else {
            throw error("unsupported grammar version `\(version)`; expected `1.0`", at: versionLocation)
        }
        let (channel, channelLocation) = try word("a channel: sms, ussd or ivr")
        guard ["sms", "ussd", "ivr"].contains(channel) else {
            throw error("unknown channel `\(channel)`; expected sms, ussd or ivr", at: channelLocation)
        }
        try expect(";", "after the header")
        var file = GrammarFile(path: lexer.path, channel: channel, channelLocation: channelLocation)
        while current.kind != .end {
            let token = current
            switch token.kind {
            case .ruleName(let name):
                _ = next()
                try expect("=", "after the rule name `$\(name)`")
                let body = try parseAlternatives()
                guard isPunct(";") else {
                    // `$a = x {…}` then `$b = …` on the next line: the `;` was forgotten after the rule,
                    // and `$b` was read as part of it. Point just past the rule's last real token.
                    if isPunct("="), position >= 2, case .ruleName = tokens[position - 1].kind {
                        let last = tokens[position - 2]
                        let end = SourceLocation(line: last.location.line, column: last.location.column + last.length)
                        throw error("expected `;` at the end of rule `$\(name)`", at: end)
                    }
                    throw error("expected `;` at the end of rule `$\(name)`, found \(describe(current))")
                }
                _ = next()
                file.rules.append(RuleDeclaration(name: name, body: body, location: token.location))
            case .word("root"):
                _ = next()
                if isWord("menu") {
                    _ = next()
                    let menu = try word("a menu name")
                    if isWord("for") {
                        _ = next()
                        let (tier, tierLocation) = try word("a tier such as `vip`")
                        file.tierRoots.append((menu.0, tier, tierLocation))
                    } else {
                        file.rootMenu = menu
                    }
                } else if case .ruleName(let name) = current.kind {
                    file.rootRule = (name, current.location)
                    _ = next()
                } else {
                    throw error("expected `$rule` or `menu NAME` after `root`, found \(describe(current))")
                }
                try expect(";", "after the root declaration")
            case .word("separators"):
                _ = next()
                guard case .quoted(let text) = current.kind else {
                    throw error("expected a quoted list of separator characters, such as \" #+，\"")
                }
                _ = next()
                file.separators = text
                try expect(";", "after the separators")
            case .word("menu"):
                file.menus.append(try parseMenu())
            default:
                throw error("expected a rule (`$name = …;`), `root`, `separators` or `menu`, found \(describe(token))")
            }
        }
        return file
    }

    private mutating func parseAlternatives() throws -> Expansion {
        let start = current.location
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else {
            throw error("groups nested more than \(Self.maximumDepth) deep", at: start)
        }
        var options = [try parseSequence()]
        while isPunct("|") {
            _ = next()
            options.append(try parseSequence())
        }
        return options.count == 1 ? options[0] : .alternatives(options, start)
    }

    private func startsItem(_ token: Token) -> Bool {
        switch token.kind {
        case .word, .quoted, .ruleName: true
        case .punct(let p): p == "(" || p == "[" || p == "{"
        default: false
        }
    }

    private mutating func parseSequence() throws -> Expansion {
        var items: [Expansion] = []
        while startsItem(current) { items.append(try parseItem()) }
        guard !items.isEmpty else {
            throw error("expected a word, `$rule`, `(`, `[` or `{`, found \(describe(current))")
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func parseItem() throws -> Expansion {
        let token = current
        if isPunct("{") { return try parseTag() }
        var item: Expansion
        switch token.kind {
        case .word(let w), .quoted(let w):
            _ = next()
            item = .literal(w, token.location)
        case .ruleName(let n):
            _ = next()
            item = .reference(n, token.location)
        case .punct("("):
            _ = next()
            let inner = try parseAlternatives()
            guard isPunct(")") else {
                throw error("unbalanced `(`: expected `)` before \(describe(current))", at: token.location)
            }
            _ = next()
            item = inner
        case .punct("["):
            _ = next()
            let inner = try parseAlternatives()
            guard isPunct("]") else {
                throw error("unbalanced `[`: expected `]` before \(describe(current))", at: token.location)
            }
            _ = next()
            item = .optional(inner, token.location)
        default:
            throw error("expected a word, `$rule`, `(`, `[` or `{`, found \(describe(token))")
        }
        if isPunct("<") {
            let open = current.location
            _ = next()
            var text = ""
            while !isPunct(">") {
                guard case .word(let w) = current.kind else {
                    throw error("unbalanced `<`: expected a repeat count and `>` before \(describe(current))", at: open)
                }
                text += w
                _ = next()
            }
            _ = next()
            let (min, max) = try parseRange(text, at: open)
            item = .repetition(item, min: min, max: max, open)
        }
        if isPunct(":") {
            _ = next()
            let (slot, location) = try word("a slot name after `:`")
            item = .bound(item, slot: slot, location)
        }
        return item
    }

    private func parseRange(_ text: String, at location: SourceLocation) throws -> (Int, Int?) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let min = Int(parts[0]), min >= 0, parts.count == 1 || parts[1].isEmpty || Int(parts[1]) != nil else {
            throw error("bad repeat range <\(text)>: expected <n>, <m-n> or <m->", at: location)
        }
        let max: Int? = parts.count == 1 ? min : parts[1].isEmpty ? nil : Int(parts[1])!
        if let max, max < min {
            throw error("bad repeat range <\(text)>: the maximum \(max) is below the minimum \(min)", at: location)
        }
        if max == 0 { throw error("bad repeat range <\(text)>: it matches nothing", at: location) }
        if let max, max > 32 { throw error("bad repeat range <\(text)>: at most 32 repeats", at: location) }
        return (min, max)
    }

    private mutating func parseTag() throws -> Expansion {
        let open = current.location
        _ = next()
        var assignments: [Assignment] = []
        while !isPunct("}") {
            if current.kind == .end || isPunct(";") && assignments.isEmpty {
                throw error("unbalanced `{`: expected `}` before \(describe(current))", at: open)
            }
            let (name, location) = try word("a tag such as `op = query.balance`")
            guard isPunct("=") else {
                throw error("expected `=` after `\(name)` in the tag, found \(describe(current))")
            }
            _ = next()
            let (value, valueLocation) = try word("a value after `\(name) =`")
            assignments.append(Assignment(name: name, value: value, location: location, valueLocation: valueLocation))
            if isPunct(";") {
                _ = next()
            } else if !isPunct("}") {
                throw error("unbalanced `{`: expected `;` or `}` before \(describe(current))", at: open)
            }
        }
        _ = next()
        return .tag(assignments, open)
    }

    private mutating func parseMenu() throws -> MenuDeclaration {
        let start = current.location
        _ = next()
        let (name, _) = try word("a menu name")
        guard isWord("prompt") else {
            throw error("expected `prompt KEY` after the menu name, found \(describe(current))")
        }
        _ = next()
        let (prompt, promptLocation) = try word("a prompt key")
        let open = current.location
        try expect("{", "to open the options of menu `\(name)`")
        var options: [MenuOption] = []
        while !isPunct("}") {
            if current.kind == .end {
                throw error("unbalanced `{`: menu `\(name)` is never closed with `}`", at: open)
            }
            let (key, keyLocation) = try word("an option key such as `1`")
            var label: String?
            var labelLocation: SourceLocation?
            if !isPunct("=>") {
                let l = try word("a prompt key naming the option, or `=>`")
                label = l.0
                labelLocation = l.1
            }
            try expect("=>", "after the option key `\(key)`")
            let target = try parseTarget()
            try expect(";", "after the option `\(key)`")
            options.append(
                MenuOption(key: key, label: label, labelLocation: labelLocation, target: target, location: keyLocation))
        }
        _ = next()
        return MenuDeclaration(
            name: name, prompt: prompt, promptLocation: promptLocation, options: options, location: start)
    }

    private mutating func parseTarget() throws -> MenuTarget {
        let (kind, location) = try word("a target: menu, op, transfer or end")
        switch kind {
        case "menu":
            let (name, l) = try word("a menu name")
            return .menu(name, l)
        case "op":
            let (name, l) = try word("an operation name")
            var collect: [SlotRequest] = []
            var assignments: [Assignment] = []
            if isWord("collect") {
                _ = next()
                repeat {
                    if isPunct(",") { _ = next() }
                    if isPunct("[") {
                        let open = current.location
                        _ = next()
                        let (slot, sl) = try word("a slot name")
                        guard isPunct("]") else {
                            throw error("unbalanced `[`: expected `]` after `\(slot)`", at: open)
                        }
                        _ = next()
                        collect.append(SlotRequest(name: slot, optional: true, location: sl))
                    } else {
                        let (slot, sl) = try word("a slot name")
                        collect.append(SlotRequest(name: slot, optional: false, location: sl))
                    }
                } while isPunct(",")
            }
            if isPunct("{"), case .tag(let a, _) = try parseTag() { assignments = a }
            return .operation(name, collect: collect, assignments: assignments, l)
        case "transfer":
            let (queue, l) = try word("a queue name")
            return .transfer(queue, l)
        case "end":
            if case .word(let w) = current.kind {
                let l = current.location
                _ = next()
                return .end(w, l)
            }
            return .end(nil, location)
        default:
            throw error("unknown target `\(kind)`; expected menu, op, transfer or end", at: location)
        }
    }
}
