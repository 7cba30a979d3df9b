/// A placeholder of a prompt text (`{balance}` in `您的余额为{balance}元`), with the longest value it can take.
///
/// Declared once, here: `selfcare check` takes the known placeholders and their widths from `Placeholder.all` (an
/// unknown one is an error, and each SMS text is measured with every placeholder at its width), and the rules fill
/// reply values by these names (`values[.balance]`).
public struct Placeholder: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    /// The longest value it can take, in characters.
    public let width: Int

    public init(rawValue: String) {
        self.rawValue = rawValue
        width = 0
    }

    public init(_ rawValue: String, width: Int) {
        self.rawValue = rawValue
        self.width = width
    }

    public var description: String { "{\(rawValue)}" }

    /// The subscriber's name.
    public static let name = Placeholder("name", width: 20)
    /// A phone number.
    public static let number = Placeholder("number", width: 15)
    /// An amount in yuan.
    public static let balance = Placeholder("balance", width: 13)
    public static let charges = Placeholder("charges", width: 13)
    /// A monthly fee in yuan.
    public static let fee = Placeholder("fee", width: 10)
    public static let month = Placeholder("month", width: 7)
    public static let plan = Placeholder("plan", width: 20)
    public static let planCode = Placeholder("plan_code", width: 16)
    public static let pendingPlan = Placeholder("pending_plan", width: 20)
    public static let pendingDate = Placeholder("pending_date", width: 10)
    public static let date = Placeholder("date", width: 10)
    public static let time = Placeholder("time", width: 16)
    /// A local date and time.
    public static let until = Placeholder("until", width: 16)
    public static let points = Placeholder("points", width: 9)
    /// The SIM's PUK (masked in records).
    public static let puk = Placeholder("puk", width: 8)
    public static let dataTotal = Placeholder("data_total", width: 7)
    public static let dataUsed = Placeholder("data_used", width: 7)
    public static let dataLeft = Placeholder("data_left", width: 7)
    public static let voiceLeft = Placeholder("voice_left", width: 5)
    public static let smsLeft = Placeholder("sms_left", width: 5)
    public static let voice = Placeholder("voice", width: 5)
    public static let sms = Placeholder("sms", width: 5)
    public static let data = Placeholder("data", width: 7)
    public static let count = Placeholder("count", width: 1)
    /// The list of recent calls.
    public static let calls = Placeholder("calls", width: 230)
    /// Password tries left.
    public static let remaining = Placeholder("remaining", width: 2)
    public static let changes = Placeholder("changes", width: 60)
    public static let pending = Placeholder("pending", width: 60)
    public static let contractEnd = Placeholder("contract_end", width: 10)
    public static let status = Placeholder("status", width: 9)
    public static let premium = Placeholder("premium", width: 1)
    public static let argument = Placeholder("argument", width: 12)
    public static let value = Placeholder("value", width: 16)
    public static let rule = Placeholder("rule", width: 14)
    public static let period = Placeholder("period", width: 8)
    public static let minutes = Placeholder("minutes", width: 2)
    public static let peer = Placeholder("peer", width: 15)
    public static let duration = Placeholder("duration", width: 6)
    public static let charge = Placeholder("charge", width: 8)
    /// What a transaction will do.
    public static let summary = Placeholder("summary", width: 160)
    public static let label = Placeholder("label", width: 24)
    public static let key = Placeholder("key", width: 2)
    /// Another phone's number, masked.
    public static let caller = Placeholder("caller", width: 15)

    /// Every placeholder a prompt may hold.
    public static let all: [Placeholder] = [
        .name, .number, .balance, .charges, .fee, .month, .plan, .planCode, .pendingPlan, .pendingDate, .date, .time,
        .until, .points, .puk, .dataTotal, .dataUsed, .dataLeft, .voiceLeft, .smsLeft, .voice, .sms, .data, .count,
        .calls, .remaining, .changes, .pending, .contractEnd, .status, .premium, .argument, .value, .rule, .period,
        .minutes, .peer, .duration, .charge, .summary, .label, .key, .caller,
    ]
}

extension Dictionary where Key == String, Value == String {
    /// The value of `placeholder` in a prompt's values.
    public subscript(_ placeholder: Placeholder) -> String? {
        get { self[placeholder.rawValue] }
        set { self[placeholder.rawValue] = newValue }
    }
}
