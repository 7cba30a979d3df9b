/// A placeholder of a prompt text (`{balance}` in `您的余额为{balance}元`), with the longest value it can take.
///
/// Declared once, here: `selfcare check` takes the known placeholders and their widths from `Placeholder.all` (an
/// unknown one is an error, and each SMS text is measured with every placeholder at its width), and the rules fill
/// reply values by these names (`values[.balance]`).
public struct Placeholder: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The name between the braces (`balance` for `{balance}`).
    public let rawValue: String
    /// The longest value it can take, in characters.
    public let width: Int

    /// The placeholder named `rawValue`, with a width of 0; the declared ones below carry their widths.
    public init(rawValue: String) {
        self.rawValue = rawValue
        width = 0
    }

    /// The placeholder named `rawValue`, whose values are at most `width` characters long.
    public init(_ rawValue: String, width: Int) {
        self.rawValue = rawValue
        self.width = width
    }

    /// The placeholder as a prompt writes it (`{balance}`).
    public var description: String { "{\(rawValue)}" }

    /// The subscriber's name.
    public static let name = Placeholder("name", width: 20)
    /// A phone number.
    public static let number = Placeholder("number", width: 15)
    /// An amount in yuan.
    public static let balance = Placeholder("balance", width: 13)
    /// Charges in yuan: this month's so far, or the billed month's.
    public static let charges = Placeholder("charges", width: 13)
    /// A monthly fee in yuan.
    public static let fee = Placeholder("fee", width: 10)
    /// A month, `YYYY-MM`: the current one, or the billed one.
    public static let month = Placeholder("month", width: 7)
    /// A plan's name in the reply's language.
    public static let plan = Placeholder("plan", width: 20)
    /// The plan code the customer asked for, upper-case.
    public static let planCode = Placeholder("plan_code", width: 16)
    /// The name of the plan a pending change moves to.
    public static let pendingPlan = Placeholder("pending_plan", width: 20)
    /// The day a pending plan change takes effect, `YYYY-MM-DD`.
    public static let pendingDate = Placeholder("pending_date", width: 10)
    /// A local date, `YYYY-MM-DD`: when a scheduled change takes effect.
    public static let date = Placeholder("date", width: 10)
    /// A local date and time, `YYYY-MM-DD HH:mm`: of a loss report or its cancellation, a call, a failed password
    /// attempt.
    public static let time = Placeholder("time", width: 16)
    /// A local date and time.
    public static let until = Placeholder("until", width: 16)
    /// Loyalty points.
    public static let points = Placeholder("points", width: 9)
    /// The SIM's PUK (masked in records).
    public static let puk = Placeholder("puk", width: 8)
    /// The plan's monthly data, in MB.
    public static let dataTotal = Placeholder("data_total", width: 7)
    /// Data used this month, in MB.
    public static let dataUsed = Placeholder("data_used", width: 7)
    /// Data left this month, in MB.
    public static let dataLeft = Placeholder("data_left", width: 7)
    /// Voice minutes left this month.
    public static let voiceLeft = Placeholder("voice_left", width: 5)
    /// Text messages left this month.
    public static let smsLeft = Placeholder("sms_left", width: 5)
    /// Voice minutes used in the billed month.
    public static let voice = Placeholder("voice", width: 5)
    /// Text messages used in the billed month.
    public static let sms = Placeholder("sms", width: 5)
    /// Data used in the billed month, in MB.
    public static let data = Placeholder("data", width: 7)
    /// How many calls the list of recent calls holds.
    public static let count = Placeholder("count", width: 1)
    /// The list of recent calls.
    public static let calls = Placeholder("calls", width: 230)
    /// Password tries left.
    public static let remaining = Placeholder("remaining", width: 2)
    /// The pending changes a cancellation drops, as a list.
    public static let changes = Placeholder("changes", width: 60)
    /// The pending changes, as a list, or `-` when there are none.
    public static let pending = Placeholder("pending", width: 60)
    /// The day the contract ends, `YYYY-MM-DD` (`-` when there is none).
    public static let contractEnd = Placeholder("contract_end", width: 10)
    /// The subscriber's state (`normal`, `lost`, `arrears`, `suspended`, `closed`).
    public static let status = Placeholder("status", width: 9)
    /// `Y` for a premium number 靓号, else `N`.
    public static let premium = Placeholder("premium", width: 1)
    /// The name of a malformed argument (`month`, `plan`, `when`, `number`, `new_password`).
    public static let argument = Placeholder("argument", width: 12)
    /// What was given for a malformed argument, long runs of digits masked.
    public static let value = Placeholder("value", width: 16)
    /// The weak-password rule a new password breaks (`repeated_digit`).
    public static let rule = Placeholder("rule", width: 14)
    /// The prepaid period that stops a loss report (`recharge`, `locked`, or `-` when none is on file).
    public static let period = Placeholder("period", width: 8)
    /// The minutes the customer has to confirm a transaction.
    public static let minutes = Placeholder("minutes", width: 2)
    /// The other party of a call.
    public static let peer = Placeholder("peer", width: 15)
    /// A call's length, `m:ss`.
    public static let duration = Placeholder("duration", width: 6)
    /// A call's charge, in yuan.
    public static let charge = Placeholder("charge", width: 8)
    /// What a transaction will do.
    public static let summary = Placeholder("summary", width: 160)
    /// The label of an IVR menu option, as spoken.
    public static let label = Placeholder("label", width: 24)
    /// The key that picks an IVR option or plan.
    public static let key = Placeholder("key", width: 2)
    /// The recent payments, as a list.
    public static let payments = Placeholder("payments", width: 160)
    /// A payment's amount, in yuan.
    public static let amount = Placeholder("amount", width: 10)
    /// How a payment was made, in the reply's language.
    public static let method = Placeholder("method", width: 8)
    /// Another phone's number, masked.
    public static let caller = Placeholder("caller", width: 15)

    /// A recharge card's serial, all but its last four digits masked.
    public static let card = Placeholder("card", width: 20)
    /// The days of validity a recharge card adds.
    public static let days = Placeholder("days", width: 4)
    /// A data pack's name in the reply's language.
    public static let pack = Placeholder("pack", width: 20)
    /// A basic service's name in the reply's language.
    public static let service = Placeholder("service", width: 20)
    /// The basic services on the account, as a list (`-` when none).
    public static let services = Placeholder("services", width: 60)
    /// The call forwarding set, as a list (`-` when none).
    public static let forwarding = Placeholder("forwarding", width: 60)
    /// A kind of call forwarding, in the reply's language.
    public static let kind = Placeholder("kind", width: 12)
    /// A call-forwarding target number.
    public static let target = Placeholder("target", width: 20)
    /// The international roaming deposit, in yuan.
    public static let deposit = Placeholder("deposit", width: 10)
    /// `on` or `off`: international roaming, in the reply's language.
    public static let roaming = Placeholder("roaming", width: 4)
    /// A reward's name in the reply's language.
    public static let reward = Placeholder("reward", width: 20)
    /// The points a reward costs.
    public static let cost = Placeholder("cost", width: 9)
    /// A complaint ticket's number (`TS00000042`).
    public static let ticket = Placeholder("ticket", width: 10)
    /// The caller's recent tickets, as a list.
    public static let tickets = Placeholder("tickets", width: 120)
    /// A complaint's category, in the reply's language.
    public static let category = Placeholder("category", width: 12)
    /// Where a ticket stands, in the reply's language.
    public static let progress = Placeholder("progress", width: 12)
    /// The back office's answer to a ticket, when it gave one.
    public static let answer = Placeholder("answer", width: 40)
    /// The operation a satisfaction question is about, in the reply's language.
    public static let operation = Placeholder("operation", width: 12)

    /// Every placeholder a prompt may hold.
    public static let all: [Placeholder] = [
        .name, .number, .balance, .charges, .fee, .month, .plan, .planCode, .pendingPlan, .pendingDate, .date, .time,
        .until, .points, .puk, .dataTotal, .dataUsed, .dataLeft, .voiceLeft, .smsLeft, .voice, .sms, .data, .count,
        .calls, .remaining, .changes, .pending, .contractEnd, .status, .premium, .argument, .value, .rule, .period,
        .minutes, .peer, .duration, .charge, .summary, .label, .key, .caller, .payments, .amount, .method,
        .card, .days, .pack, .service, .services, .forwarding, .kind, .target, .deposit, .roaming, .reward, .cost,
        .ticket, .tickets, .category, .progress, .answer, .operation,
    ]
}

extension Dictionary where Key == String, Value == String {
    /// The value of `placeholder` in a prompt's values.
    public subscript(_ placeholder: Placeholder) -> String? {
        get { self[placeholder.rawValue] }
        set { self[placeholder.rawValue] = newValue }
    }
}
