import Foundation

/// A signed statement of the record chain's head at one moment: the last record's id and hash, signed with a key
/// kept outside the database (HMAC-SHA256 under a key derived from the pepper).
///
/// The chain alone shows a record altered, inserted or removed, but whoever can write the database can also
/// recompute every hash after a change and leave a chain that verifies. A checkpoint cannot be recomputed without
/// the key: a chain rewritten below a checkpoint no longer has the hash the checkpoint signed. Checkpoints are
/// numbered, and each signs its own number, so one cannot stand in for another.
public struct RecordCheckpoint: Sendable, Equatable {
    /// 1, 2, 3… in the order they were written.
    public var id: Int64
    /// When it was written (ISO 8601, UTC).
    public var time: String
    /// The last record it covers.
    public var lastID: Int64
    /// That record's hash.
    public var hash: String
    /// The signature of `payload`, in lower-case hexadecimal.
    public var signature: String

    /// A checkpoint of the fields given.
    public init(id: Int64, time: String, lastID: Int64, hash: String, signature: String) {
        self.id = id
        self.time = time
        self.lastID = lastID
        self.hash = hash
        self.signature = signature
    }

    /// The text signed: every field but the signature, each named.
    public var payload: String {
        "selfcare-checkpoint-v1\nid:\(id)\ntime:\(time)\nlast_id:\(lastID)\nhash:\(hash)\n"
    }

    /// `checkpoint ID at TIME: records up to LAST_ID, hash HASH, signature SIGNATURE`, for logs kept elsewhere.
    public var line: String {
        "checkpoint \(id) at \(time): records up to \(lastID), hash \(hash), signature \(signature)"
    }
}
