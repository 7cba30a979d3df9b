import Foundation

/// A signed statement of the record chain's head at one moment: the last record's id and hash, signed with a key
/// kept outside the database (HMAC-SHA256 under a key derived from the pepper).
///
/// The chain alone shows a record altered, inserted or removed, but whoever can write the database can also
/// recompute every hash after a change and leave a chain that verifies. A checkpoint cannot be recomputed without
/// the key: a chain rewritten below a checkpoint no longer has the hash the checkpoint signed. Checkpoints are
/// numbered, and each signs its own number, so one cannot stand in for another. A store with several chains (the
/// PostgreSQL store, one chain per partition of numbers) writes one checkpoint per chain, and each signs its chain.
public struct RecordCheckpoint: Sendable, Equatable {
    /// 1, 2, 3… in the order they were written, across the chains.
    public var id: Int64
    /// The chain it covers: 1 on a store with one chain.
    public var chain: Int
    /// When it was written (ISO 8601, UTC).
    public var time: String
    /// The last record it covers.
    public var lastID: Int64
    /// That record's hash.
    public var hash: String
    /// The signature of `payload`, in lower-case hexadecimal.
    public var signature: String
    /// On a store with several chains: every record id up to this one had been handed out, and belonged to a record
    /// of its chain at or below that chain's head, when the round of checkpoints this one belongs to was taken. A
    /// record found later with an id this low above its chain's checkpoint was put in afterwards, with an old id.
    /// Nil on a store with one chain.
    public var idsThrough: Int64?

    /// A checkpoint of the fields given.
    public init(
        id: Int64, chain: Int = 1, time: String, lastID: Int64, hash: String, signature: String,
        idsThrough: Int64? = nil
    ) {
        self.id = id
        self.chain = chain
        self.idsThrough = idsThrough
        self.time = time
        self.lastID = lastID
        self.hash = hash
        self.signature = signature
    }

    /// The text signed: every field but the signature, each named. Chain 1's text is the one checkpoints had before
    /// there were several chains, so that their signatures still hold.
    public var payload: String {
        let chainLine = chain == 1 ? "" : "chain:\(chain)\n"
        let boundLine = idsThrough.map { "ids_through:\($0)\n" } ?? ""
        return
            "selfcare-checkpoint-v1\nid:\(id)\n\(chainLine)time:\(time)\nlast_id:\(lastID)\nhash:\(hash)\n\(boundLine)"
    }

    /// `checkpoint ID at TIME: records up to LAST_ID, hash HASH, signature SIGNATURE`, for logs kept elsewhere.
    public var line: String {
        "checkpoint \(id) at \(time): \(chain == 1 ? "" : "chain \(chain), ")records up to \(lastID), hash \(hash), signature \(signature)"
    }
}
