import Foundation

/// A service record 服务记录 before the store gives it an id and chains it.
public struct RecordDraft: Sendable, Equatable {
    /// When the record is written; stored as ISO 8601 UTC with milliseconds.
    public var time: Date
    /// The channel the attempt came through.
    public var channel: Channel
    /// The channel session: the SMS message id, the USSD session id, the IVR call id, `tick`; nil without one.
    public var session: String?
    /// The number the request came from, normalised; `system` for the gateway's own records, the operator for
    /// `password.set`.
    public var caller: String
    /// The number the operation concerned.
    public var subject: String
    /// The operation name (`loss.cancel`), or one the gateway records itself (`help`, `sms`, `password.notice`).
    public var operation: String
    /// The attempt's inputs with every secret removed.
    public var inputs: [String: String]
    /// How the service password figured in the attempt.
    public var auth: AuthOutcome
    /// How the attempt ended.
    public var result: ResultKind
    /// Why it ended so (`ok` on success).
    public var reason: ReasonCode
    /// The text sent back.
    public var reply: String
    /// Milliseconds from the request's arrival to the record (0 on a stopped clock).
    public var durationMS: Int

    /// A draft with every field given.
    public init(
        time: Date, channel: Channel, session: String?, caller: String, subject: String, operation: String,
        inputs: [String: String], auth: AuthOutcome, result: ResultKind, reason: ReasonCode, reply: String,
        durationMS: Int
    ) {
        self.time = time
        self.channel = channel
        self.session = session
        self.caller = caller
        self.subject = subject
        self.operation = operation
        self.inputs = inputs
        self.auth = auth
        self.result = result
        self.reason = reason
        self.reply = reply
        self.durationMS = durationMS
    }
}

/// One appended, chained service record, as stored and exported.
///
/// Text fields are kept exactly as stored, so the hash can be recomputed from them.
public struct ServiceRecord: Sendable, Equatable {
    /// The record's place in the chain: 1, 2, 3… without gaps, in the order written.
    public var id: Int64
    /// ISO 8601 UTC with milliseconds (`2026-11-24T21:00:00.123Z`).
    public var time: String
    /// The channel's name (`sms`, `ussd`, `ivr`, `api`).
    public var channel: String
    /// The channel session: the SMS message id, the USSD session id, the IVR call id, `tick`; nil without one.
    public var session: String?
    /// The number the request came from; `system` for the gateway's own records, the operator for `password.set`.
    public var caller: String
    /// The number the operation concerned.
    public var subject: String
    /// The operation name (`loss.cancel`), or one the gateway records itself (`help`, `sms`, `password.notice`).
    public var operation: String
    /// A JSON object with sorted keys.
    public var inputs: String
    /// How the service password figured: `none`, `ok`, `failed` or `locked` (`AuthOutcome`).
    public var auth: String
    /// How the attempt ended: `ok`, `refused` or `error` (`ResultKind`).
    public var result: String
    /// The reason code, `ok` on success.
    public var reason: String
    /// The text sent back, except that the PUK of a `query.puk` reply is masked.
    public var reply: String
    /// Milliseconds from the request's arrival to the record (0 on a stopped clock).
    public var durationMS: Int
    /// The previous record's `hash`; `genesisHash` (64 zeros) for record 1.
    public var prevHash: String
    /// The SHA-256 over `prevHash` and every other field, 64 lower-case hex digits (docs/records.md, "The hash
    /// chain").
    public var hash: String

    /// A record with every field given, as stored.
    public init(
        id: Int64, time: String, channel: String, session: String?, caller: String, subject: String,
        operation: String, inputs: String, auth: String, result: String, reason: String, reply: String,
        durationMS: Int, prevHash: String, hash: String
    ) {
        self.id = id
        self.time = time
        self.channel = channel
        self.session = session
        self.caller = caller
        self.subject = subject
        self.operation = operation
        self.inputs = inputs
        self.auth = auth
        self.result = result
        self.reason = reason
        self.reply = reply
        self.durationMS = durationMS
        self.prevHash = prevHash
        self.hash = hash
    }

    /// The `prev_hash` of the first record.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// `inputs` as a dictionary (empty when it is not a JSON object of strings).
    public var inputValues: [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(inputs.utf8))) as? [String: String] ?? [:]
    }

    /// One JSON Lines row with the fields of SPEC §1 in their order.
    public var jsonLine: String {
        var s = "{"
        s += "\"id\":\(id),\"time\":\(jsonString(time)),\"channel\":\(jsonString(channel)),"
        s += "\"session\":\(session.map(jsonString) ?? "null"),\"caller\":\(jsonString(caller)),"
        s += "\"subject\":\(jsonString(subject)),\"operation\":\(jsonString(operation)),\"inputs\":\(inputs),"
        s += "\"auth\":\(jsonString(auth)),\"result\":\(jsonString(result)),\"reason\":\(jsonString(reason)),"
        s += "\"reply\":\(jsonString(reply)),\"duration_ms\":\(durationMS),"
        s += "\"prev_hash\":\(jsonString(prevHash)),\"hash\":\(jsonString(hash))}"
        return s
    }

    /// The CSV header matching `csvLine`.
    public static let csvHeader =
        "id,time,channel,session,caller,subject,operation,inputs,auth,result,reason,reply,duration_ms,prev_hash,hash"

    /// What ends every line of the CSV export, the header's included: CRLF, as RFC 4180 has it.
    public static let csvLineEnd = "\r\n"

    /// One CSV row without its line end: RFC 4180 quoting, `inputs` as its JSON text, and every cell a
    /// spreadsheet would run as a formula neutralised (`csvCell`). A neutralised cell differs from the text the
    /// record's hash covers: recompute hashes from `jsonLine`.
    public var csvLine: String {
        [
            String(id), time, channel, session ?? "", caller, subject, operation, inputs, auth, result, reason, reply,
            String(durationMS), prevHash, hash,
        ].map(csvCell).joined(separator: ",")
    }
}

/// The characters that make a spreadsheet read a cell as a formula when it starts with one (OWASP, CSV
/// Injection): `=`, `+`, `-`, `@`, tab and carriage return, and the full-width `＝`, `＋`, `－`, `＠` that
/// spreadsheets in Chinese and Japanese locales may read as them (a Chinese phone's keyboard types them).
public let csvFormulaLeaders: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]

/// `text` as one cell of an export a person may open in a spreadsheet: a single quote `'` before a leading
/// `csvFormulaLeaders` character, so the cell is read as text and never run (OWASP's advice against CSV
/// injection), then quoted for CSV when it needs to be (`csvField`).
///
/// ```swift
/// csvCell("=SUM(A1:A9)")  // the cell '=SUM(A1:A9)
/// csvCell("@cmd,x")       // the cell "'@cmd,x" (quoted for its comma)
/// csvCell("a,b")          // the cell "a,b"
/// csvCell("150 yuan")     // as it is
/// ```
public func csvCell(_ text: String) -> String {
    guard let first = text.unicodeScalars.first, csvFormulaLeaders.contains(first) else { return csvField(text) }
    return csvField("'" + text)
}

/// A JSON object of string values with sorted keys and no white space.
public func canonicalJSON(_ values: [String: String]) -> String {
    "{" + values.keys.sorted().map { "\(jsonString($0)):\(jsonString(values[$0]!))" }.joined(separator: ",") + "}"
}

/// `text` as a JSON string literal.
public func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// `text` quoted for CSV when it needs to be (RFC 4180: a comma, a double quote or a line break inside).
public func csvField(_ text: String) -> String {
    // By scalar: CRLF is one Character, equal to neither "\r" nor "\n".
    if text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return text
}

/// What a walk of the record chain found: how many records were checked and every break.
public struct RecordChainReport: Sendable, Equatable {
    /// A broken record and what is wrong with it.
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        /// The broken record's id.
        public var recordID: Int64
        /// What is wrong with it, in one line.
        public var problem: String
        /// The break of record `recordID`.
        public init(recordID: Int64, problem: String) {
            self.recordID = recordID
            self.problem = problem
        }
        /// `record ID: PROBLEM`.
        public var description: String { "record \(recordID): \(problem)" }
    }

    /// How many records the walk checked.
    public var checked: Int
    /// The breaks found, oldest first (at most `RecordChainVerifier.maxListed` of them).
    public var breaks: [Break]
    /// How many breaks there are, listed or not.
    public var brokenCount: Int

    /// The first break: where the chain stops being trustworthy.
    public var firstBreak: Break? { breaks.first }

    /// A report of `breaks`; `brokenCount` is their number unless given (when only some are listed).
    public init(checked: Int, breaks: [Break], brokenCount: Int? = nil) {
        self.checked = checked
        self.breaks = breaks
        self.brokenCount = brokenCount ?? breaks.count
    }

    /// A report of at most one break.
    public init(checked: Int, firstBreak: Break?) {
        self.init(checked: checked, breaks: firstBreak.map { [$0] } ?? [])
    }
}

/// What a record's text fields may hold, so that every record is stored exactly as it was hashed and no
/// request can make records large. Lengths count Unicode scalars.
public enum RecordLimits {
    /// Scalars kept of the caller and subject numbers.
    public static let number = 64
    /// Scalars kept of a session or message id, and of an operation name.
    public static let identifier = 256
    /// Scalars kept of an input's value (an SMS text) and of its name.
    public static let input = 1_024
    /// Scalars kept of the reply.
    public static let reply = 4_096
    /// What ends a value cut at its limit.
    public static let cutMark = "…"
}

extension RecordDraft {
    /// The draft as it is stored and hashed: a NUL character (SQLite's text binding stops at it, so the
    /// stored text would no longer match its hash) becomes U+FFFD, and each text field is cut at its
    /// `RecordLimits` length with `…`.
    public var storable: RecordDraft {
        // Scalar by scalar: a NUL followed by a combining mark or an emoji modifier is one `Character`
        // with it, and one character can hold thousands of combining marks.
        func clean(_ text: String, _ limit: Int) -> String {
            let scalars = text.unicodeScalars
            guard scalars.count > limit || scalars.contains("\u{0}") else { return text }
            var out = String.UnicodeScalarView()
            for scalar in scalars.prefix(scalars.count > limit ? limit - 1 : limit) {
                out.append(scalar == "\u{0}" ? "\u{FFFD}" : scalar)
            }
            if scalars.count > limit { out.append(contentsOf: RecordLimits.cutMark.unicodeScalars) }
            return String(out)
        }
        var out = self
        out.session = session.map { clean($0, RecordLimits.identifier) }
        out.caller = clean(caller, RecordLimits.number)
        out.subject = clean(subject, RecordLimits.number)
        out.operation = clean(operation, RecordLimits.identifier)
        out.inputs = Dictionary(
            inputs.map { (clean($0.key, RecordLimits.input), clean($0.value, RecordLimits.input)) },
            uniquingKeysWith: { first, _ in first })
        out.reply = clean(reply, RecordLimits.reply)
        return out
    }
}
