import Foundation

/// The answer of a password check.
public struct PasswordVerification: Sendable, Equatable {
    /// Whether the password matched the stored hash.
    public var matches: Bool
    /// Whether the stored hash should be replaced with one at the configured cost.
    public var needsRehash: Bool

    /// A check's answer with both fields given.
    public init(matches: Bool, needsRehash: Bool) {
        self.matches = matches
        self.needsRehash = needsRehash
    }
}

/// Hashes service passwords and checks them against stored hashes.
///
/// Implementation requirements:
/// - The stored string names its algorithm and cost (PHC style) so the cost can be raised later.
/// - Each hash has its own random salt; a server-side pepper kept outside the database is mixed in.
/// - Comparisons run in constant time.
/// - Neither the password nor anything derived from it reaches a log, an error or a description.
/// - The calls are slow on purpose and synchronous; callers run them on a `BlockingWorkPool`.
public protocol PasswordHasher: Sendable {
    /// A new stored string for `password`.
    func hash(_ password: Secret) throws -> String
    /// Checks `password` against `stored`. A malformed `stored` string does not match.
    func verify(_ password: Secret, against stored: String) throws -> PasswordVerification
    /// The keyed digest a recharge card's PIN is stored and checked as: 64 hex digits of HMAC-SHA256 under a key
    /// derived from the pepper, over the card's serial and PIN. Fast (cards are imported by the hundred thousand)
    /// and useless without the pepper; the same serial and PIN give the same digest.
    func cardPINDigest(_ pin: Secret, serial: String) throws -> String
}

extension PasswordHasher {
    /// A hasher without a pepper has no key to digest card PINs with: every recharge by card fails.
    public func cardPINDigest(_ pin: Secret, serial: String) throws -> String { throw CardPINKeyUnavailable() }
}

/// The hasher in use has no pepper-derived key for card PINs.
public struct CardPINKeyUnavailable: Error, CustomStringConvertible {
    /// The fault.
    public init() {}
    /// What a log says of it.
    public var description: String { "no key to digest recharge card PINs with (the hasher has no pepper)" }
}

/// A PHC-style hash string: `$pbkdf2-sha256$v=1$i=160000,l=32$<salt>$<hash>`.
///
/// `v` is the pepper scheme (1: the password is first HMAC-SHA256'd with the pepper), `i` the
/// iteration count, `l` the derived length; salt and hash are unpadded standard base64, as PHC says.
public struct PHCString: Equatable, Sendable {
    /// The algorithm's name (`pbkdf2-sha256`).
    public var algorithm: String
    /// The pepper scheme (`v=`): 1 is the password HMAC-SHA256'd with the pepper first.
    public var version: Int
    /// The cost parameters, names and values in their order (`i=160000`, `l=32`).
    public var parameters: [(String, Int)]
    /// The hash's own random salt, as raw bytes.
    public var salt: [UInt8]
    /// The derived hash, as raw bytes.
    public var hash: [UInt8]

    /// A hash string with every field given.
    public init(algorithm: String, version: Int, parameters: [(String, Int)], salt: [UInt8], hash: [UInt8]) {
        self.algorithm = algorithm
        self.version = version
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    /// Whether `a` and `b` hold the same algorithm, version, parameters (in order), salt and hash.
    public static func == (a: PHCString, b: PHCString) -> Bool {
        a.algorithm == b.algorithm && a.version == b.version && a.salt == b.salt && a.hash == b.hash
            && a.parameters.map(\.0) == b.parameters.map(\.0) && a.parameters.map(\.1) == b.parameters.map(\.1)
    }

    /// The value of parameter `name`.
    public func parameter(_ name: String) -> Int? { parameters.first { $0.0 == name }?.1 }

    /// Parses a stored string; nil when it is not of this shape.
    public init?(parsing text: String) {
        let fields = text.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0].isEmpty, !fields[1].isEmpty, fields[2].hasPrefix("v="),
            let version = Int(fields[2].dropFirst(2)),
            let salt = PHCString.decodeBase64(fields[4]), let hash = PHCString.decodeBase64(fields[5])
        else { return nil }
        var parameters: [(String, Int)] = []
        for pair in fields[3].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let value = Int(kv[1]) else { return nil }
            parameters.append((String(kv[0]), value))
        }
        self.init(algorithm: String(fields[1]), version: version, parameters: parameters, salt: salt, hash: hash)
    }

    /// The stored form.
    public var encoded: String {
        let params = parameters.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        return "$\(algorithm)$v=\(version)$\(params)$\(PHCString.encodeBase64(salt))$\(PHCString.encodeBase64(hash))"
    }

    /// `bytes` in unpadded standard base64, as PHC strings write salts and hashes.
    public static func encodeBase64(_ bytes: [UInt8]) -> String {
        var s = Data(bytes).base64EncodedString()
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }

    /// The bytes of unpadded standard base64 `text`; nil when it is empty, padded or not base64.
    public static func decodeBase64(_ text: Substring) -> [UInt8]? {
        var s = String(text)
        guard !s.isEmpty, !s.contains("=") else { return nil }
        while s.count % 4 != 0 { s.append("=") }
        guard let data = Data(base64Encoded: s) else { return nil }
        return [UInt8](data)
    }
}
