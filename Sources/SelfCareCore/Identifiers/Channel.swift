/// The channel an attempt came through.
public struct Channel: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The channel's name as records and metrics spell it (`sms`).
    public let rawValue: String
    /// The channel named `rawValue`.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The channel named by a literal (`"sms"`), as `init(rawValue:)`.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The channel's name as records spell it.
    public var description: String { rawValue }

    /// The SMS short-code channel (`SMSChannel`).
    public static let sms: Channel = "sms"
    /// USSD menus dialled from the phone (`USSDChannel`).
    public static let ussd: Channel = "ussd"
    /// The voice menus of the IVR (`IVRChannel`).
    public static let ivr: Channel = "ivr"
    /// Operations named directly rather than through a menu or a text: `selfcare op`, the pending changes `tick`
    /// applies, `selfcare password set`.
    public static let api: Channel = "api"
    /// The web console (`/console`): operators' actions on a subscriber's behalf, and the access records of
    /// subscriber data viewed there.
    public static let console: Channel = "console"
}
