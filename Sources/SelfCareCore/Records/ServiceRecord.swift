import Foundation

/// A service record 服务记录 before the store gives it an id and chains it.
public struct RecordDraft: Sendable, Equatable {
    public var time: Date
    public var channel: Channel
    public var session: String?
    public var caller: String
    public var subject: String
    public var operation: String
    /// The attempt's inputs with every secret removed.
    public var inputs: [String: String]
    public var auth: AuthOutcome
    public var result: ResultKind
    public var reason: ReasonCode
    /// The text sent back.
    public var reply: String
    public var durationMS: Int

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
    public var id: Int64
    /// ISO 8601 UTC with milliseconds (`2026-11-24T21:00:00.123Z`).
    public var time: String
    public var channel: String
    public var session: String?
    public var caller: String
    public var subject: String
    public var operation: String
    /// A JSON object with sorted keys.
    public var inputs: String
    public var auth: String
    public var result: String
    public var reason: String
    public var reply: String
    public var durationMS: Int
    public var prevHash: String
    public var hash: String

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

    /// Makes the record that follows `prevHash` with the given `id` from `draft`.
    public static func chained(_ draft: RecordDraft, id: Int64, prevHash: String) -> ServiceRecord {
        var record = ServiceRecord(
            id: id, time: ISOTime.format(draft.time), channel: draft.channel.rawValue, session: draft.session,
            caller: draft.caller, subject: draft.subject, operation: draft.operation,
            inputs: canonicalJSON(draft.inputs), auth: draft.auth.rawValue, result: draft.result.rawValue,
            reason: draft.reason.rawValue, reply: draft.reply, durationMS: draft.durationMS, prevHash: prevHash,
            hash: "")
        record.hash = record.computedHash()
        return record
    }

    /// SHA-256 over the previous hash and every field, each length-prefixed so no two records collide.
    public func computedHash() -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(256 + reply.utf8.count + inputs.utf8.count)
        func put(_ name: String, _ value: String?) {
            bytes.append(contentsOf: name.utf8)
            if let value {
                bytes.append(contentsOf: ":\(value.utf8.count):".utf8)
                bytes.append(contentsOf: value.utf8)
            } else {
                bytes.append(contentsOf: ":-:".utf8)
            }
            bytes.append(0x0a)
        }
        put("selfcare-record-v1", nil)
        put("prev_hash", prevHash)
        put("id", String(id))
        put("time", time)
        put("channel", channel)
        put("session", session)
        put("caller", caller)
        put("subject", subject)
        put("operation", operation)
        put("inputs", inputs)
        put("auth", auth)
        put("result", result)
        put("reason", reason)
        put("reply", reply)
        put("duration_ms", String(durationMS))
        return LibCrypto.sha256(bytes).hexString
    }

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

    /// One CSV row (RFC 4180 quoting), `inputs` as its JSON text.
    public var csvLine: String {
        [
            String(id), time, channel, session ?? "", caller, subject, operation, inputs, auth, result, reason, reply,
            String(durationMS), prevHash, hash,
        ].map(csvField).joined(separator: ",")
    }
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

/// `text` quoted for CSV when it needs to be.
public func csvField(_ text: String) -> String {
    if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return text
}

/// Checks a chain of records read oldest first.
///
/// Feed records in id order; the first problem is kept and later ones ignored.
public struct RecordChainVerifier: Sendable {
    /// The first broken record and what is wrong with it.
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        public var recordID: Int64
        public var problem: String
        public var description: String { "record \(recordID): \(problem)" }
    }

    public private(set) var checked = 0
    public private(set) var firstBreak: Break?
    private var lastID: Int64 = 0
    private var lastHash = ServiceRecord.genesisHash

    public init() {}

    /// Checks the next record.
    public mutating func check(_ record: ServiceRecord) {
        guard firstBreak == nil else { return }
        checked += 1
        if record.prevHash != lastHash {
            let missing =
                record.id == lastID + 2
                ? " (record \(lastID + 1) missing?)"
                : record.id > lastID + 2 ? " (records \(lastID + 1)…\(record.id - 1) missing?)" : ""
            let previous = lastID == 0 ? "the chain's start" : "record \(lastID)'s hash"
            firstBreak = Break(recordID: record.id, problem: "prev_hash does not match \(previous)\(missing)")
        } else if record.computedHash() != record.hash {
            firstBreak = Break(recordID: record.id, problem: "hash does not match its contents (record altered)")
        }
        lastID = record.id
        lastHash = record.hash
    }

    /// Checks the chain's end against the head the store keeps (last id and hash), which catches
    /// records deleted from the end, and a head deleted to hide that.
    public mutating func finish(head: (id: Int64, hash: String)?) {
        guard firstBreak == nil else { return }
        guard let head else {
            if checked > 0 {
                firstBreak = Break(recordID: lastID, problem: "the chain head is missing (record_chain deleted?)")
            }
            return
        }
        if head.id != lastID || head.hash != lastHash {
            firstBreak = Break(
                recordID: head.id,
                problem: lastID < head.id
                    ? "missing: the chain head says the last record is \(head.id), found \(lastID)"
                    : "chain head does not match the last record")
        }
    }
}
