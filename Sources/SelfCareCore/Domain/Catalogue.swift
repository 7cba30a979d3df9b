import Foundation

/// Something with a name in each reply language (a plan, a pack, a service, a reward).
public protocol NamedInBothLanguages {
    /// The name in Chinese replies.
    var nameZh: String { get }
    /// The name in English replies.
    var nameEn: String { get }
}

extension NamedInBothLanguages {
    /// The name in `language`.
    public func name(in language: Language) -> String { language == .english ? nameEn : nameZh }
}

/// An entry of one of the catalogues stored as JSON by code (`CatalogueKind`): read, saved and imported alike.
public protocol CatalogueEntry: NamedInBothLanguages, Codable, Equatable, Sendable {
    /// The catalogue the type's entries belong to.
    static var kind: CatalogueKind { get }
    /// The entry's code, its key in the catalogue.
    var code: String { get }
}

/// A data pack 流量包 from the plan catalogue: extra mobile data for one month, for a fee from the balance.
public struct DataPack: CatalogueEntry, Hashable {
    /// Packs are entries of the `pack` catalogue.
    public static let kind = CatalogueKind.pack
    /// The pack's code, what customers key in: ASCII letters and digits, stored upper-case (`D10`).
    public var code: String
    /// The pack's name in Chinese replies (`10元100MB流量包`).
    public var nameZh: String
    /// The pack's name in English replies.
    public var nameEn: String
    /// The fee in fen, taken from the balance when the pack is ordered.
    public var feeFen: Int
    /// The data the pack adds for its month, in MB.
    public var dataMB: Int
    /// Which payment types may order it.
    public var payment: Plan.Eligibility
    /// The plan codes whose subscribers may order it; empty: every plan.
    public var plans: [String]
    /// Whether new orders are accepted.
    public var onSale: Bool

    /// A pack with every field given, as the plan catalogue supplies it.
    public init(
        code: String, nameZh: String, nameEn: String, feeFen: Int, dataMB: Int, payment: Plan.Eligibility,
        plans: [String], onSale: Bool
    ) {
        self.code = code
        self.nameZh = nameZh
        self.nameEn = nameEn
        self.feeFen = feeFen
        self.dataMB = dataMB
        self.payment = payment
        self.plans = plans
        self.onSale = onSale
    }

    /// Whether `subscriber` may order the pack: on sale, for its payment type, and for its plan.
    public func allows(_ subscriber: Subscriber) -> Bool {
        onSale && payment.allows(subscriber.payment) && (plans.isEmpty || plans.contains(subscriber.planCode))
    }
}

/// A basic service 基础业务 from the service catalogue: caller ID, ring-back tone, three-way calling and the like.
public struct BasicService: CatalogueEntry, Hashable {
    /// Services are entries of the `service` catalogue.
    public static let kind = CatalogueKind.service
    /// The service's code, upper-case ASCII letters and digits (`CLIP`, `CRBT`, `3WAY`).
    public var code: String
    /// The service's name in Chinese replies (`来电显示`).
    public var nameZh: String
    /// The service's name in English replies.
    public var nameEn: String
    /// The monthly fee in fen, billed by the billing system (0 for a free service).
    public var monthlyFeeFen: Int
    /// Whether new subscriptions are accepted.
    public var onSale: Bool

    /// A service with every field given, as the service catalogue supplies it.
    public init(code: String, nameZh: String, nameEn: String, monthlyFeeFen: Int, onSale: Bool) {
        self.code = code
        self.nameZh = nameZh
        self.nameEn = nameEn
        self.monthlyFeeFen = monthlyFeeFen
        self.onSale = onSale
    }

    /// The code of three-way calling 三方通话, which turning international roaming on closes.
    public static let threeWayCalling = "3WAY"
}

/// A reward of the points catalogue 积分兑换: recharge value for points.
public struct Reward: CatalogueEntry, Hashable {
    /// Rewards are entries of the `reward` catalogue.
    public static let kind = CatalogueKind.reward
    /// The reward's code, upper-case ASCII letters and digits (`R10`).
    public var code: String
    /// The reward's name in Chinese replies (`10元话费`).
    public var nameZh: String
    /// The reward's name in English replies.
    public var nameEn: String
    /// The points it costs.
    public var points: Int
    /// The recharge value it adds to the balance, in fen.
    public var valueFen: Int

    /// A reward with every field given, as the points catalogue supplies it.
    public init(code: String, nameZh: String, nameEn: String, points: Int, valueFen: Int) {
        self.code = code
        self.nameZh = nameZh
        self.nameEn = nameEn
        self.points = points
        self.valueFen = valueFen
    }

}

/// A recharge card 充值卡 as the voucher system supplies it: its serial, its PIN's keyed digest, value and state.
public struct RechargeCard: Hashable, Sendable {
    /// Where a card stands.
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Sold, not yet used: it may recharge a number.
        case unused
        /// Already used (`usedAt` says when).
        case used
        /// Past its expiry date, as the voucher system marked it.
        case expired
        /// Frozen by the voucher system (reported stolen, a batch withdrawn).
        case frozen
    }

    /// The card's serial number 卡号, digits (10 to 20), printed on the card.
    public var serial: String
    /// The keyed digest of the card's PIN 密码 (`PasswordHasher.cardPINDigest`), never the PIN itself.
    public var pinDigest: String
    /// The recharge value in fen.
    public var valueFen: Int
    /// The days of validity a prepaid number gains.
    public var validityDays: Int
    /// The last day the card may be used.
    public var expires: LocalDate
    /// Where the card stands.
    public var state: State
    /// When the card was used, once it is.
    public var usedAt: Date?
    /// The number it recharged, once used (kept for the audit; never told to another caller).
    public var usedFor: String?

    /// A card with every field given, as stored.
    public init(
        serial: String, pinDigest: String, valueFen: Int, validityDays: Int, expires: LocalDate, state: State,
        usedAt: Date? = nil, usedFor: String? = nil
    ) {
        self.serial = serial
        self.pinDigest = pinDigest
        self.valueFen = valueFen
        self.validityDays = validityDays
        self.expires = expires
        self.state = state
        self.usedAt = usedAt
        self.usedFor = usedFor
    }

    /// Whether `text` has the shape of a card serial: 10 to 20 ASCII digits.
    public static func isSerial(_ text: String) -> Bool {
        (10...20).contains(text.utf8.count) && text.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }
}

/// A kind of call forwarding 呼叫转移.
public enum ForwardingKind: String, Sendable, Codable, CaseIterable {
    /// Every call 无条件转移.
    case unconditional
    /// When busy 遇忙转移.
    case busy
    /// When not answered 无应答转移.
    case noAnswer = "no_answer"
    /// When unreachable 不可及转移.
    case unreachable

    /// Reads the kind's name, its number on a menu (1 to 4) or its SMS keyword (`WTJ`, `YM`, `WYD`, `BKJ`).
    public init?(argument: String) {
        switch argument.lowercased() {
        case "unconditional", "1", "wtj", "all", "无条件": self = .unconditional
        case "busy", "2", "ym", "遇忙": self = .busy
        case "no_answer", "3", "wyd", "noanswer", "无应答": self = .noAnswer
        case "unreachable", "4", "bkj", "不可及", "关机": self = .unreachable
        default: return nil
        }
    }
}

/// A data pack on a subscriber's account, for one month. Two are the same pack when their code and month are.
public struct PackSubscription: Hashable, Sendable, Codable {
    /// The pack's code.
    public var code: String
    /// The month it adds data to (`2026-12`).
    public var month: String
    /// The fee paid for it, in fen: what a cancellation refunds (nil: not known, the catalogue's fee).
    public var feeFen: Int?

    /// The pack `code` for `month`, paid `feeFen`.
    public init(code: String, month: String, feeFen: Int? = nil) {
        self.code = code
        self.month = month
        self.feeFen = feeFen
    }

    /// Whether `a` and `b` are the same pack for the same month, whatever was paid.
    public static func == (a: PackSubscription, b: PackSubscription) -> Bool { a.code == b.code && a.month == b.month }

    /// Hashes the code and month (`==`).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(month)
    }

    enum CodingKeys: String, CodingKey {
        case code, month, feeFen = "fee_fen"
    }
}

/// What a subscriber's account holds beyond the billing system's subscriber row: basic services, call forwarding,
/// international roaming, data packs, a prepaid number's validity and the satisfaction survey's last question.
/// Stored apart from the subscriber, so the queries that need none of it never read it.
public struct SubscriberFeatures: Hashable, Sendable, Codable {
    /// The basic services subscribed, by code.
    public var services: Set<String> = []
    /// Call forwarding set, by kind (`ForwardingKind.rawValue`) to the target number.
    public var forwarding: [String: String] = [:]
    /// Whether international roaming 国际漫游 is on.
    public var roaming = false
    /// The roaming deposit held, in fen (0 when waived); refunded by billing once roaming is off.
    public var roamingDepositFen = 0
    /// The data packs ordered, this month's and next month's.
    public var packs: [PackSubscription] = []
    /// A prepaid number's last valid day (有效期至), when known.
    public var validUntil: LocalDate?
    /// When the satisfaction survey last asked this number by SMS.
    public var surveyAskedAt: Date?
    /// The operation a survey question sent by SMS is about, until the customer answers it.
    public var surveyPending: SurveyQuestion?

    /// Nothing subscribed, nothing set.
    public init() {}

    /// The canonical JSON the stores keep: sorted keys, no white space.
    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISOTime.format(date))
        }
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The features `text` (as `encoded()` writes it) holds; throws when it is not such JSON.
    public static func decoded(_ text: String) throws -> SubscriberFeatures {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = ISOTime.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: text))
            }
            return date
        }
        return try decoder.decode(SubscriberFeatures.self, from: Data(text.utf8))
    }

    enum CodingKeys: String, CodingKey {
        case services, forwarding, roaming, roamingDepositFen = "roaming_deposit_fen", packs
        case validUntil = "valid_until", surveyAskedAt = "survey_asked_at", surveyPending = "survey_pending"
    }

    /// Features as `encode(to:)` writes them; a key left out holds its empty value.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        services = try c.decodeIfPresent(Set<String>.self, forKey: .services) ?? []
        forwarding = try c.decodeIfPresent([String: String].self, forKey: .forwarding) ?? [:]
        roaming = try c.decodeIfPresent(Bool.self, forKey: .roaming) ?? false
        roamingDepositFen = try c.decodeIfPresent(Int.self, forKey: .roamingDepositFen) ?? 0
        packs = try c.decodeIfPresent([PackSubscription].self, forKey: .packs) ?? []
        validUntil = try c.decodeIfPresent(String.self, forKey: .validUntil).flatMap { LocalDate(iso: $0) }
        surveyAskedAt = try c.decodeIfPresent(Date.self, forKey: .surveyAskedAt)
        surveyPending = try c.decodeIfPresent(SurveyQuestion.self, forKey: .surveyPending)
    }

    /// Writes only what is set, services sorted: the same features are always the same JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if !services.isEmpty { try c.encode(services.sorted(), forKey: .services) }
        if !forwarding.isEmpty { try c.encode(forwarding, forKey: .forwarding) }
        if roaming { try c.encode(roaming, forKey: .roaming) }
        if roamingDepositFen != 0 { try c.encode(roamingDepositFen, forKey: .roamingDepositFen) }
        if !packs.isEmpty { try c.encode(packs, forKey: .packs) }
        try c.encodeIfPresent(validUntil?.description, forKey: .validUntil)
        try c.encodeIfPresent(surveyAskedAt, forKey: .surveyAskedAt)
        try c.encodeIfPresent(surveyPending, forKey: .surveyPending)
    }
}

/// A satisfaction question sent by SMS, waiting for its answer.
public struct SurveyQuestion: Hashable, Sendable, Codable {
    /// The operation rated.
    public var operation: String
    /// The channel the rated transaction came through.
    public var channel: String
    /// The rated transaction's record.
    public var record: Int64

    /// A question about `operation` on `channel`, recorded as `record`.
    public init(operation: String, channel: String, record: Int64) {
        self.operation = operation
        self.channel = channel
        self.record = record
    }
}

/// A complaint 投诉建议 or a spam report 垃圾短信举报: a ticket for the back office, handed over as a service order.
public struct Ticket: Hashable, Sendable {
    /// What the customer filed.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// A complaint or suggestion.
        case complaint
        /// A report of a spam SMS.
        case spam
    }

    /// 1, 2, 3… in the order filed.
    public var id: Int64
    /// The number that filed it.
    public var msisdn: String
    /// A complaint or a spam report.
    public var kind: Kind
    /// The category (`network`, `billing`, `service`, `other`; `spam` for a spam report).
    public var category: String
    /// The customer's words, or the spam's text.
    public var text: String
    /// The number that sent the spam (spam reports only).
    public var offender: String?
    /// When it was filed.
    public var created: Date

    /// A ticket with every field given, as stored.
    public init(
        id: Int64, msisdn: String, kind: Kind, category: String, text: String, offender: String?, created: Date
    ) {
        self.id = id
        self.msisdn = msisdn
        self.kind = kind
        self.category = category
        self.text = text
        self.offender = offender
        self.created = created
    }

    /// The ticket number customers quote: `TS` and eight digits (`TS00000042`).
    public var number: String { Self.number(id) }

    /// The ticket number of id `id`.
    public static func number(_ id: Int64) -> String {
        let digits = String(id)
        return "TS" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The categories a complaint may name; anything else is `other`.
    public static let categories = ["network", "billing", "service", "other"]
}
