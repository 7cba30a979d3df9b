import SelfCareCore

extension ServiceRecord {
    /// Makes the record that follows `prevHash` with the given `id` from `draft`, made storable first
    /// (`RecordDraft.storable`), so that the record read back is the record hashed.
    public static func chained(_ draft: RecordDraft, id: Int64, prevHash: String) -> ServiceRecord {
        let draft = draft.storable
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

}

/// Checks a chain of records read oldest first.
///
/// Feed records in id order. Every break is noted and the walk goes on from the broken record, so that
/// tampering later in the chain is not hidden behind an earlier break.
public struct RecordChainVerifier: Sendable {
    public typealias Break = RecordChainReport.Break

    /// The most breaks listed in a report; all are counted.
    public static let maxListed = 1_000

    public private(set) var checked = 0
    public private(set) var breaks: [Break] = []
    public private(set) var brokenCount = 0
    private var lastID: Int64 = 0
    private var lastHash = ServiceRecord.genesisHash
    /// The hash each checkpoint signed, by the record it covers.
    private var signed: [Int64: RecordCheckpoint] = [:]

    /// A verifier that also holds each record `checkpoints` cover to the hash they signed.
    public init(checkpoints: [RecordCheckpoint] = []) {
        for checkpoint in checkpoints { signed[checkpoint.lastID] = checkpoint }
    }

    /// The first break, if any.
    public var firstBreak: Break? { breaks.first }

    /// The result so far.
    public var report: RecordChainReport {
        RecordChainReport(checked: checked, breaks: breaks, brokenCount: brokenCount)
    }

    private mutating func note(_ broken: Break) {
        brokenCount += 1
        if breaks.count < Self.maxListed { breaks.append(broken) }
    }

    /// Checks the next record.
    public mutating func check(_ record: ServiceRecord) {
        checked += 1
        if record.prevHash != lastHash {
            let missing =
                record.id == lastID + 2
                ? " (record \(lastID + 1) missing?)"
                : record.id > lastID + 2 ? " (records \(lastID + 1)…\(record.id - 1) missing?)" : ""
            let previous = lastID == 0 ? "the chain's start" : "record \(lastID)'s hash"
            note(Break(recordID: record.id, problem: "prev_hash does not match \(previous)\(missing)"))
        }
        if record.computedHash() != record.hash {
            note(Break(recordID: record.id, problem: "hash does not match its contents (record altered)"))
        }
        if let checkpoint = signed.removeValue(forKey: record.id), checkpoint.hash != record.hash {
            note(
                Break(
                    recordID: record.id,
                    problem:
                        "hash differs from the one checkpoint \(checkpoint.id) signed at \(checkpoint.time) (the chain was rewritten)"
                ))
        }
        lastID = record.id
        lastHash = record.hash
    }

    /// Checks the chain's end against the head the store keeps (last id and hash), which catches
    /// records deleted from the end, and a head deleted to hide that.
    public mutating func finish(head: (id: Int64, hash: String)?) {
        // Checkpoints are read before the walk's snapshot and the head only moves forward: every record one covers
        // was there to be walked.
        for checkpoint in signed.values.sorted(by: { $0.id < $1.id }) {
            note(
                Break(
                    recordID: checkpoint.lastID,
                    problem: "missing: checkpoint \(checkpoint.id) signed at \(checkpoint.time) covers it"))
        }
        signed = [:]
        guard let head else {
            if checked > 0 {
                note(Break(recordID: lastID, problem: "the chain head is missing (record_chain deleted?)"))
            }
            return
        }
        if head.id != lastID || head.hash != lastHash {
            note(
                Break(
                    recordID: head.id,
                    problem: lastID < head.id
                        ? "missing: the chain head says the last record is \(head.id), found \(lastID)"
                        : "chain head does not match the last record"))
        }
    }
}

/// Signs record checkpoints, and checks their signatures: HMAC-SHA256 of the checkpoint's payload under a key
/// derived from the pepper (`Pepper.derivedKey(purpose: "record checkpoints")`), which stays outside the database.
public struct RecordCheckpointSigner: Sendable {
    private let key: [UInt8]

    /// A signer under the pepper's checkpoint key.
    public init(pepper: Pepper) { key = pepper.derivedKey(purpose: "record checkpoints") }

    /// The signature of `checkpoint` (its `signature` field aside), in lower-case hexadecimal.
    public func sign(_ checkpoint: RecordCheckpoint) -> String {
        LibCrypto.hmacSHA256(key: key, data: Array(checkpoint.payload.utf8)).hexString
    }

    /// Whether `checkpoint` carries the signature of its fields under this key (compared in constant time).
    public func isValid(_ checkpoint: RecordCheckpoint) -> Bool {
        LibCrypto.constantTimeEqual(Array(sign(checkpoint).utf8), Array(checkpoint.signature.utf8))
    }
}
