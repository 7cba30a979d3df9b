import Foundation

/// One call in the detail list (通话详单).
public struct CallDetail: Hashable, Sendable {
    /// The subscriber's number, digits only.
    public var msisdn: String
    /// When the call started (an instant; replies show it in local time).
    public var startedAt: Date
    /// The other party's number.
    public var peer: String
    /// Whether the subscriber placed the call; false when they received it.
    public var outgoing: Bool
    /// The call's length in seconds.
    public var durationSeconds: Int
    /// What the call cost, in fen.
    public var chargeFen: Int

    /// One call with every field given, as the billing system supplies it.
    public init(msisdn: String, startedAt: Date, peer: String, outgoing: Bool, durationSeconds: Int, chargeFen: Int) {
        self.msisdn = msisdn
        self.startedAt = startedAt
        self.peer = peer
        self.outgoing = outgoing
        self.durationSeconds = durationSeconds
        self.chargeFen = chargeFen
    }
}
