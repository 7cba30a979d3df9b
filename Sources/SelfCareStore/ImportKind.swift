import Foundation
import SelfCareCore

/// What an import file holds.
public enum ImportKind: String, Sendable, CaseIterable {
    /// The plan catalogue (`plans.csv`).
    case plans
    /// Subscribers and their state (`subscribers.csv`).
    case subscribers
    /// Monthly usage and charges (`usage.csv`).
    case usage
    /// Call detail rows for 通话详单 (an extension of SPEC §3).
    case calls
    /// Payment history 缴费历史.
    case payments
    /// Subscriber change events 用户异动.
    case events
    /// Billing's answers to service orders (工单回执): accepted or rejected, by key.
    case answers
    /// Recharge cards from the voucher system 充值卡 (`cards.csv`): serial, PIN, value, validity, expiry, state.
    case cards
    /// The data-pack catalogue 流量包 (`packs.csv`).
    case packs
    /// The basic-service catalogue 基础业务 (`services.csv`).
    case services
    /// The points catalogue 积分兑换 (`rewards.csv`).
    case rewards

    /// The columns every file of this kind must have, in SPEC §3's order.
    public var requiredColumns: [String] {
        switch self {
        case .plans:
            [
                "code", "name_zh", "name_en", "monthly_fee_fen", "voice_minutes", "sms", "data_mb", "payment",
                "on_sale",
                "contract_ok",
            ]
        case .subscribers:
            [
                "msisdn", "name", "status", "payment", "prepaid_period", "plan", "balance_fen", "points", "tier",
                "language", "premium", "contract_end", "blacklist", "password",
            ]
        case .usage: ["msisdn", "month", "voice_used", "sms_used", "data_used_mb", "charges_fen"]
        case .calls: ["msisdn", "started_at", "peer", "direction", "duration_s", "charge_fen"]
        case .payments: ["id", "msisdn", "paid_at", "amount_fen", "method"]
        case .events: ["id", "msisdn", "at", "kind"]
        case .answers: ["key", "result"]
        case .cards: ["serial", "pin", "value_fen", "validity_days", "expires", "state"]
        case .packs: ["code", "name_zh", "name_en", "fee_fen", "data_mb", "payment", "on_sale"]
        case .services: ["code", "name_zh", "name_en", "monthly_fee_fen", "on_sale"]
        case .rewards: ["code", "name_zh", "name_en", "points", "value_fen"]
        }
    }

    /// Columns a file may add. `action` makes the file a delta (add, change or close a row).
    public var optionalColumns: [String] {
        switch self {
        case .subscribers: ["puk", "password_hash", "action"]
        case .plans: ["action"]
        case .events: ["detail"]
        case .answers: ["reason"]
        case .cards: ["used_at"]
        case .packs: ["plans"]
        case .usage, .calls, .payments, .services, .rewards: []
        }
    }

    /// The kinds that hold billing's data (every kind but `answers`, which answers the gateway's own orders): what
    /// a data folder of a scenario may hold.
    public static let dataKinds: [ImportKind] = allCases.filter { $0 != .answers }

    /// The kind's code in a feed file's name (`SUBS_BOSS_20261206_000123.csv`).
    public var feedCode: String {
        switch self {
        case .plans: "PLAN"
        case .subscribers: "SUBS"
        case .usage: "USAGE"
        case .calls: "CALL"
        case .payments: "PAY"
        case .events: "EVENT"
        case .answers: "ACK"
        case .cards: "CARD"
        case .packs: "PACK"
        case .services: "SERVICE"
        case .rewards: "REWARD"
        }
    }

    /// Whether files of this kind can be snapshots or deltas with an `action` column; the others only add or
    /// replace rows.
    public var hasLifeCycle: Bool { self == .subscribers || self == .plans }
}
