import Foundation
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

    /// A verifier of the records after `record` (id and hash), already checked.
    public init(after record: (id: Int64, hash: String)) {
        lastID = record.id
        lastHash = record.hash
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

/// Checks several record chains at once (a store with one chain per partition of numbers): each chain is walked on
/// its own, with the checkpoints that cover it and against its own head. Feed each chain's records in id order;
/// the chains may come one after another or interleaved.
public struct RecordChainsVerifier: Sendable {
    private var chains: [Int: RecordChainVerifier] = [:]
    private var checkpoints: [Int: [RecordCheckpoint]] = [:]
    /// The highest `idsThrough` of the checkpoints, and the checkpoint that signed it.
    private let bound: RecordCheckpoint?
    /// Each chain's last checkpointed record.
    private let covered: [Int: Int64]
    private var extra: [RecordChainReport.Break] = []

    /// A verifier that holds each record a checkpoint covers to the hash it signed, chain by chain, and each
    /// record with an id the last round of checkpoints had handed out to a place at or below its chain's
    /// checkpoint (`RecordCheckpoint.idsThrough`).
    public init(checkpoints: [RecordCheckpoint] = []) {
        self.checkpoints = Dictionary(grouping: checkpoints, by: \.chain)
        bound = checkpoints.filter { $0.idsThrough != nil }.max { $0.idsThrough! < $1.idsThrough! }
        covered = checkpoints.reduce(into: [:]) { $0[$1.chain] = max($0[$1.chain] ?? 0, $1.lastID) }
    }

    /// Checks the next record of chain `chain`.
    public mutating func check(_ record: ServiceRecord, chain: Int) {
        chains[chain, default: RecordChainVerifier(checkpoints: checkpoints.removeValue(forKey: chain) ?? [])]
            .check(record)
        if let bound, let through = bound.idsThrough, record.id <= through, record.id > covered[chain] ?? 0 {
            note(
                record.id,
                "chain \(chain): its id was handed out before checkpoint \(bound.id) (ids through \(through), at "
                    + "\(bound.time)), which it is not under: put in afterwards with an old id")
        }
    }

    /// Notes a break the caller found (a record in a chain it cannot be in).
    public mutating func note(_ recordID: Int64, _ problem: String) {
        extra.append(RecordChainReport.Break(recordID: recordID, problem: problem))
    }

    /// Checks each chain's end against its head, and that every chain with a head, or with a checkpoint, was seen.
    /// Returns the breaks of every chain, each problem naming its chain when there are several.
    public mutating func finish(heads: [Int: (id: Int64, hash: String)]) -> RecordChainReport {
        for chain in Set(heads.keys).union(checkpoints.keys) where chains[chain] == nil {
            chains[chain] = RecordChainVerifier(checkpoints: checkpoints.removeValue(forKey: chain) ?? [])
        }
        let several = chains.count > 1 || chains.keys.contains { $0 != 1 }
        var checked = 0
        var breaks = extra
        var count = extra.count
        for chain in chains.keys.sorted() {
            var verifier = chains[chain]!
            verifier.finish(head: heads[chain])
            let report = verifier.report
            checked += report.checked
            count += report.brokenCount
            breaks += report.breaks.map {
                several ? RecordChainReport.Break(recordID: $0.recordID, problem: "chain \(chain): \($0.problem)") : $0
            }
        }
        breaks.sort { $0.recordID < $1.recordID }
        return RecordChainReport(
            checked: checked, breaks: Array(breaks.prefix(RecordChainVerifier.maxListed)), brokenCount: count)
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

extension RecordCheckpointSigner {
    /// Why a checkpoint was not signed: the records or checkpoints are not what the last checkpoint vouched for.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        /// What is wrong, in one line.
        public let description: String
    }

    /// Signs a checkpoint of each chain's head that moved, as of a snapshot, once the chain from its last checkpoint
    /// to that head is intact: the last checkpoint's signature, the record it covers still with its hash, every
    /// record after it linked and unaltered. A chain rewritten since, or checkpoints removed, is never signed.
    ///
    /// - Parameter seen: the highest checkpoint id this process has seen; fewer in the store means checkpoints
    ///   were deleted.
    /// - Returns: the checkpoints written, one per chain that moved; none when no record came since the last ones,
    ///   or another node wrote some meanwhile.
    /// - Throws: `Refusal` when a chain or the checkpoints were tampered with; the store's faults.
    public func writeCheckpoints(
        to store: any ServiceStore, now: Date, seen: Int64 = 0
    ) async throws
        -> [RecordCheckpoint]
    {
        let checkpoints = try store.checkpoints()
        let last = checkpoints.last
        guard (last?.id ?? 0) == Int64(checkpoints.count) else {
            throw Refusal(
                description: "checkpoint ids do not run 1…\(checkpoints.count): checkpoints were deleted or renumbered")
        }
        guard (last?.id ?? 0) >= seen else {
            throw Refusal(description: "checkpoint \(seen) was seen before and is gone: checkpoints were deleted")
        }
        var moved: [(chain: Int, head: (id: Int64, hash: String))] = []
        // The heads, and the ids handed out, as of a moment when no write was under way (a write holding the whole
        // store): every id up to `issued` belongs to a record at or below its chain's head, or to none.
        let (heads, issued) = try await store.write { writer in
            (try writer.recordChainHeads(), try writer.recordIDsIssued())
        }
        for (chain, head) in heads.sorted(by: { $0.key < $1.key }) {
            let previous = checkpoints.last { $0.chain == chain }
            if let previous {
                guard isValid(previous) else {
                    throw Refusal(
                        description: "checkpoint \(previous.id)'s signature does not match (forged or altered)")
                }
                if previous.lastID >= head.id { continue }
            }
            try checkChain(chain, of: store, from: previous, to: head)
            moved.append((chain, head))
        }
        // A chain's checkpoints with no head left: the head row was removed.
        for chain in Set(checkpoints.map(\.chain)).sorted() where heads[chain] == nil {
            throw Refusal(description: "chain \(chain) has checkpoints and no head (its head was deleted)")
        }
        if moved.isEmpty { return [] }
        let (signer, time, due) = (self, ISOTime.format(now), moved)
        return try await store.write { writer in
            // Another node may have written some since the snapshot: then there is nothing to add.
            guard try writer.latestCheckpoint()?.id == last?.id else { return [] }
            var written: [RecordCheckpoint] = []
            for (offset, each) in due.enumerated() {
                var checkpoint = RecordCheckpoint(
                    id: (last?.id ?? 0) + Int64(offset) + 1, chain: each.chain, time: time, lastID: each.head.id,
                    hash: each.head.hash, signature: "", idsThrough: issued)
                checkpoint.signature = signer.sign(checkpoint)
                try writer.insert(checkpoint)
                written.append(checkpoint)
            }
            return written
        }
    }

    /// Signs checkpoints (`writeCheckpoints`) and returns the last one written, if any.
    public func writeCheckpoint(
        to store: any ServiceStore, now: Date, seen: Int64 = 0
    ) async throws
        -> RecordCheckpoint?
    {
        try await writeCheckpoints(to: store, now: now, seen: seen).last
    }

    /// Walks chain `chain` from the record `last` covers up to `head`; throws `Refusal` at the first break.
    private func checkChain(
        _ chain: Int, of store: any ServiceStore, from last: RecordCheckpoint?, to head: (id: Int64, hash: String)
    ) throws {
        var verifier = RecordChainVerifier()
        var problem: String?
        var started = last == nil
        let name = chain == 1 ? "" : "chain \(chain): "
        try store.forEachRecord(inChain: chain, afterID: last.map { $0.lastID - 1 }) { record in
            guard problem == nil, record.id <= head.id else { return }
            if !started, let last {
                started = true
                guard record.id == last.lastID, record.hash == last.hash, record.computedHash() == record.hash else {
                    problem =
                        "\(name)record \(last.lastID) is not the one checkpoint \(last.id) signed (the chain was rewritten)"
                    return
                }
                verifier = RecordChainVerifier(after: (record.id, record.hash))
                return
            }
            verifier.check(record)
        }
        if !started, let last { problem = "\(name)record \(last.lastID), which checkpoint \(last.id) signed, is gone" }
        verifier.finish(head: head)
        if let problem { throw Refusal(description: problem) }
        if let broken = verifier.firstBreak { throw Refusal(description: "\(name)\(broken)") }
    }
}
