/// `name = value` inside a tag `{ … }`.
public struct Assignment: Hashable, Sendable {
    public var name: String
    public var value: String
    public var location: SourceLocation
    public var valueLocation: SourceLocation

    public init(name: String, value: String, location: SourceLocation, valueLocation: SourceLocation) {
        self.name = name
        self.value = value
        self.location = location
        self.valueLocation = valueLocation
    }
}

/// The right-hand side of a rule, as written.
indirect enum Expansion: Sendable {
    case literal(String, SourceLocation)
    /// `$name`: a rule of the file or a built-in class.
    case reference(String, SourceLocation)
    case sequence([Expansion])
    case alternatives([Expansion], SourceLocation)
    case optional(Expansion, SourceLocation)
    /// `item<m-n>`; `max` nil for `<m->`.
    case repetition(Expansion, min: Int, max: Int?, SourceLocation)
    /// `item:slot`.
    case bound(Expansion, slot: String, SourceLocation)
    /// `{ name = value; … }`, applied when the matcher gets past it.
    case tag([Assignment], SourceLocation)

    var location: SourceLocation {
        switch self {
        case .literal(_, let l), .reference(_, let l), .alternatives(_, let l), .optional(_, let l),
            .repetition(_, _, _, let l), .bound(_, _, let l), .tag(_, let l):
            return l
        case .sequence(let items): return items.first?.location ?? SourceLocation(line: 1, column: 1)
        }
    }
}

struct RuleDeclaration: Sendable {
    var name: String
    var body: Expansion
    var location: SourceLocation
}

/// A slot a menu option collects before running its operation; `[slot]` is optional.
public struct SlotRequest: Hashable, Sendable, Codable {
    public var name: String
    public var optional: Bool
    public var location: SourceLocation

    public init(name: String, optional: Bool, location: SourceLocation) {
        self.name = name
        self.optional = optional
        self.location = location
    }
}

/// Where a menu option leads.
public enum MenuTarget: Hashable, Sendable {
    /// Another menu.
    case menu(String, SourceLocation)
    /// An operation, after collecting slots; `assignments` fix slots (`{when = next}`).
    case operation(String, collect: [SlotRequest], assignments: [Assignment], SourceLocation)
    /// A transfer to an agent queue.
    case transfer(String, SourceLocation)
    /// The end of the session, with an optional goodbye prompt key.
    case end(String?, SourceLocation)
}

/// One option of a menu: the key pressed, the prompt key that names it, and the target.
public struct MenuOption: Hashable, Sendable {
    public var key: String
    public var label: String?
    public var labelLocation: SourceLocation?
    public var target: MenuTarget
    public var location: SourceLocation
}

/// `menu name prompt key { options }`.
public struct MenuDeclaration: Hashable, Sendable {
    public var name: String
    public var prompt: String
    public var promptLocation: SourceLocation
    public var options: [MenuOption]
    public var location: SourceLocation
}

/// A parsed grammar file.
struct GrammarFile: Sendable {
    var path: String
    var channel: String
    var channelLocation: SourceLocation
    var rootRule: (String, SourceLocation)?
    var rootMenu: (String, SourceLocation)?
    /// `root menu NAME for TIER;`: callers of that tier and above start there (分层服务).
    var tierRoots: [(menu: String, tier: String, location: SourceLocation)] = []
    var separators: String?
    var rules: [RuleDeclaration] = []
    var menus: [MenuDeclaration] = []
}
