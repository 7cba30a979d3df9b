import Foundation

/// The satisfaction survey 满意度调查 (docs/operations.md): which transactions are rated, how many of them, and how
/// often an SMS customer is asked.
public struct SurveyPolicy: Sendable, Equatable {
    /// The share of transactions whose customer is asked, 0 (never, the default) to 1 (after every one). Chosen by
    /// the transaction record's hash: the same transaction is always in or out, on every node.
    public var sampleRate: Double = 0
    /// The operations whose transactions may be rated.
    public var operations: Set<OperationName> = SurveyPolicy.defaultOperations
    /// An SMS customer is asked by notice at most once in this long.
    public var smsInterval: TimeInterval = 7 * 86_400

    /// No survey.
    public init() {}

    /// Every transaction that changes the account (complaints and spam reports are answered by their ticket).
    public static let defaultOperations: Set<OperationName> = Set(
        OperationName.all.filter { $0.isTransaction && $0 != .complaintFile && $0 != .spamReport })

    /// Whether the customer of the transaction `record` is asked to rate it: it succeeded, its operation is rated,
    /// and its hash falls in the sample.
    public func asks(after record: ServiceRecord) -> Bool {
        guard sampleRate > 0, record.result == ResultKind.ok.rawValue,
            operations.contains(OperationName(record.operation)), let sample = UInt32(record.hash.prefix(8), radix: 16)
        else { return false }
        return sampleRate >= 1 || Double(sample) / 4_294_967_296 < sampleRate
    }

    /// Reads `operation1,operation2` (or `all`); nil when a name is no operation.
    public static func operations(parsing text: String) -> Set<OperationName>? {
        if text.lowercased() == "all" { return defaultOperations }
        var names = Set<OperationName>()
        for part in text.split(separator: ",") {
            let name = OperationName(part.trimmingCharacters(in: .whitespaces))
            guard OperationName.all.contains(name) else { return nil }
            names.insert(name)
        }
        return names.isEmpty ? nil : names
    }
}

/// A rating asked on a session channel after a transaction: what is rated.
public struct SurveyAsk: Sendable, Codable, Equatable {
    /// The operation rated.
    public var operation: String
    /// The rated transaction's record.
    public var record: Int64

    /// The question about the transaction `record` of `operation`.
    public init(operation: String, record: Int64) {
        self.operation = operation
        self.record = record
    }
}

extension OperationEngine {
    /// The question to ask after `outcome` on a session channel, when the survey samples it; nil otherwise.
    public func surveyAsk(after outcome: OperationOutcome) -> SurveyAsk? {
        guard let record = outcome.record, configuration.survey.asks(after: record) else { return nil }
        return SurveyAsk(operation: record.operation, record: record.id)
    }

    /// Records the answer to a survey question on `channel`: `rating` 1 to 5, or nil when the customer skipped it
    /// (any other key, or no key). One `survey.rate` record, whose inputs name the rated operation, its record and
    /// the rating (`skipped`); the reply thanks a rating.
    public func rate(
        _ ask: SurveyAsk, rating: Int?, caller: String, channel: Channel, session: String?
    ) async -> OperationOutcome {
        let rated = rating.flatMap { (1...5).contains($0) ? $0 : nil }
        return await recordChannelAttempt(
            channel: channel, session: session, caller: caller, operation: .surveyRate,
            inputs: [
                "operation": ask.operation, "record": String(ask.record), "channel": channel.rawValue,
                "rating": rated.map(String.init) ?? "skipped",
            ],
            result: .ok, reason: .ok, replyKey: rated == nil ? .surveySkipped : .surveyThanks)
    }

    /// An SMS customer's answer to the survey notice (`PJ 5`): the rating of the transaction the last notice
    /// asked about, recorded as `survey.rate` with the notice's question cleared, in one transaction. Refused
    /// `no_survey` when no question waits, `invalid_argument` for a rating outside 1 to 5.
    public func rateBySMS(
        rating: String, caller: String, session: String?, languageHint: Language?, receivedAt: Date?,
        admission: Admission?
    ) async -> OperationOutcome {
        let number = normalizeNumber(caller) ?? caller
        let started = receivedAt ?? clock.now()
        let prompts = self.prompts
        var request = OperationRequest(
            operation: .surveyRate, channel: .sms, session: session, caller: number, receivedAt: started)
        request.languageHint = languageHint
        request.admission = admission
        let frozen = Attempt(request: request, started: started, prompts: prompts)
        return await observed(channel: .sms, operation: .surveyRate, timed: false) { [self] in
            do {
                return try await transaction(at: clock.now(), for: number) { tx in
                    var attempt = frozen
                    if let refused = try tx.admit(attempt) { return refused }
                    let subscriber = try tx.writer.subscriber(number)
                    attempt.language = prompts.language(for: subscriber?.language ?? languageHint)
                    var features = try tx.writer.features(number)
                    guard subscriber != nil, let question = features.surveyPending else {
                        return try tx.refuse(attempt, .noSurvey).0
                    }
                    guard let value = Int(rating), (1...5).contains(value) else {
                        attempt.values[.argument] = "rating"
                        attempt.values[.value] = String(rating.prefix(8))
                        return try tx.refuse(attempt, .invalidArgument).0
                    }
                    features.surveyPending = nil
                    try tx.writer.save(features, of: number)
                    attempt.inputs = [
                        "operation": question.operation, "record": String(question.record),
                        "channel": question.channel, "rating": String(value),
                    ]
                    let reply = prompts.render(.surveyThanks, in: attempt.language, attempt.values)
                    let record = try tx.writer.append(
                        attempt.draft(now: tx.now, auth: .none, result: .ok, reason: .ok, reply: reply))
                    return OperationOutcome(
                        result: .ok, reason: .ok, reply: reply, language: attempt.language, record: record)
                }
            } catch {
                logger.error(
                    "survey rating failed", metadata: ["caller": "\(maskNumber(number))", "error": "\(error)"])
                return await failure(frozen)
            }
        }
    }
}

extension EngineTransaction {
    /// After an SMS transaction `record` applied for `subject`: when the survey samples it and the number was not
    /// asked within the policy's interval, queues the survey notice and remembers the question, in this
    /// transaction.
    func askSurveyBySMS(_ record: ServiceRecord, subject: Subscriber, prompts: PromptCatalog) throws {
        let policy = configuration.survey
        // Only the account holder who did it is asked: not the owner of a number someone else recharged.
        guard record.channel == Channel.sms.rawValue, record.caller == record.subject, policy.asks(after: record)
        else { return }
        var features = try writer.features(subject.msisdn)
        if let asked = features.surveyAskedAt, asked > now - policy.smsInterval, asked <= now { return }
        features.surveyAskedAt = now
        features.surveyPending = SurveyQuestion(operation: record.operation, channel: record.channel, record: record.id)
        try writer.save(features, of: subject.msisdn)
        let language = prompts.language(for: subject.language)
        let text = prompts.render(
            .noticeSurvey, in: language,
            ["operation": prompts.render(PromptKey.operationName(OperationName(record.operation)), in: language)])
        try queueNotice(to: subject.msisdn, .noticeSurvey, text: text, record: record)
    }
}

/// The satisfaction ratings of `survey.rate` records, by week, operation and channel (`selfcare survey report`).
public struct SurveyReport: Sendable {
    /// One week's ratings of one operation on one channel.
    public struct Row: Sendable, Equatable {
        /// The Monday the local week starts on.
        public var week: LocalDate
        /// The operation rated.
        public var operation: String
        /// The channel the rated transaction came through.
        public var channel: String
        /// How many ratings of 1, 2, 3, 4 and 5 (index 0 is 1).
        public var counts = [0, 0, 0, 0, 0]
        /// Questions skipped (any other key, or none).
        public var skipped = 0

        /// Ratings given.
        public var rated: Int { counts.reduce(0, +) }

        /// The average rating to two decimals, empty when there is none.
        public var average: String {
            guard rated > 0 else { return "" }
            let sum = counts.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
            let hundredths = (sum * 100 + rated / 2) / rated
            return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
        }

        /// The values of a CSV row, in `csvHeader`'s order.
        public var cells: [String] {
            [week.description, operation, channel, String(rated), String(skipped), average] + counts.map(String.init)
        }
    }

    /// The columns of the report.
    public static let columns = [
        "week", "operation", "channel", "rated", "skipped", "average", "r1", "r2", "r3", "r4", "r5",
    ]

    private let calendar: LocalCalendar
    private var table: [String: Row] = [:]

    /// An empty report counting weeks on `calendar`.
    public init(calendar: LocalCalendar) { self.calendar = calendar }

    /// Counts `record` when it is a `survey.rate` record that succeeded; anything else is passed over.
    public mutating func add(_ record: ServiceRecord) {
        guard record.operation == OperationName.surveyRate.rawValue, record.result == ResultKind.ok.rawValue,
            let time = ISOTime.parse(record.time),
            let inputs = (try? JSONSerialization.jsonObject(with: Data(record.inputs.utf8))) as? [String: String],
            let operation = inputs["operation"], let rating = inputs["rating"]
        else { return }
        let channel = inputs["channel"] ?? record.channel
        let week = calendar.weekStart(of: time)
        let key = "\(week)|\(operation)|\(channel)"
        var row = table[key] ?? Row(week: week, operation: operation, channel: channel)
        if let value = Int(rating), (1...5).contains(value) {
            row.counts[value - 1] += 1
        } else {
            row.skipped += 1
        }
        table[key] = row
    }

    /// The rows, by week, then operation, then channel.
    public var rows: [Row] {
        table.values.sorted { ($0.week, $0.operation, $0.channel) < ($1.week, $1.operation, $1.channel) }
    }
}
