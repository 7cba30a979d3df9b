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
        }
    }

    /// Columns a file may add.
    public var optionalColumns: [String] { self == .subscribers ? ["puk", "password_hash"] : [] }
}
