/// Service tier (分层服务), highest first.
public enum Tier: String, Sendable, Codable, CaseIterable, Comparable {
    /// 至尊
    case supreme
    /// 钻石
    case diamond
    /// 金
    case gold
    /// 银
    case silver
    /// VIP: the lowest tier that the shipped IVR grammar greets with its own menu and priority queue.
    case vip
    /// The default and lowest tier; a number that is not a subscriber's is served as standard.
    case standard

    private var rank: Int {
        switch self {
        case .supreme: 5
        case .diamond: 4
        case .gold: 3
        case .silver: 2
        case .vip: 1
        case .standard: 0
        }
    }

    /// Whether `lhs` ranks below `rhs`: `standard` is the lowest tier, `supreme` the highest.
    public static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.rank < rhs.rank }
}
