import Foundation
import SelfCareCore

/// PBKDF2-HMAC-SHA256 through libcrypto, with a per-password salt and a pepper.
///
/// The KDF's input is HMAC-SHA256(pepper, password), so a database copied without the pepper
/// file cannot be attacked offline, and a wrong pepper fails every check.
public struct PBKDF2PasswordHasher: PasswordHasher {
    /// The algorithm identifier in stored strings.
    public static let algorithm = "pbkdf2-sha256"
    /// The default iteration count, from a measurement on the reference machine (2 cores, AMD EPYC,
    /// OpenSSL 3.0, release build, `selfcare password calibrate --repeats 31`): 22.8 ms at 100,000
    /// iterations, so 160,000 take about 36 ms a check, in the middle of the 20–60 ms target.
    /// See docs/passwords.md.
    public static let defaultIterations = 160_000

    public let iterations: Int
    public let saltLength: Int
    public let hashLength: Int
    private let pepper: Pepper

    /// - Parameters:
    ///   - pepper: the server-side secret.
    ///   - iterations: the cost for new hashes; stored hashes with fewer are upgraded at the next good login.
    public init(
        pepper: Pepper, iterations: Int = PBKDF2PasswordHasher.defaultIterations, saltLength: Int = 16,
        hashLength: Int = 32
    ) {
        precondition(iterations >= 1 && saltLength >= 8 && hashLength >= 16)
        self.pepper = pepper
        self.iterations = iterations
        self.saltLength = saltLength
        self.hashLength = hashLength
    }

    public func hash(_ password: Secret) throws -> String {
        let salt = try LibCrypto.randomBytes(saltLength)
        let derived = try derive(password, salt: salt, iterations: iterations, length: hashLength)
        return PHCString(
            algorithm: Self.algorithm, version: 1, parameters: [("i", iterations), ("l", hashLength)], salt: salt,
            hash: derived
        ).encoded
    }

    public func cardPINDigest(_ pin: Secret, serial: String) throws -> String {
        let key = pepper.derivedKey(purpose: "recharge card PINs")
        var message = Array("\(serial):".utf8)
        pin.foldingFullWidthDigits().withBytes { message += $0 }
        defer { LibCrypto.cleanse(&message) }
        return LibCrypto.hmacSHA256(key: key, data: message).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The most iterations a hash sent from outside may ask for (`isStoredHash`): about a quarter of a second a
    /// check on the reference machine, so that a file cannot make every login, or a stranger's wrong guess, cost
    /// seconds of the hashing pool.
    public static let maximumImportedIterations = 1_000_000

    /// Whether `text` is a stored hash this hasher can check, as a billing system may send it in place of a clear
    /// password (made with this gateway's pepper, or it never matches): exactly
    /// `$pbkdf2-sha256$v=1$i=ITERATIONS,l=LENGTH$SALT$HASH`, the numbers plain decimal without a sign or leading
    /// zero, 1 to `maximumImportedIterations` iterations, a salt of at least 8 bytes, and a hash of 16 to 64
    /// bytes whose length `l` states.
    public static func isStoredHash(_ text: String) -> Bool {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].isEmpty, parts[1] == Substring(algorithm), parts[2] == "v=1" else {
            return false
        }
        let parameters = parts[3].split(separator: ",", omittingEmptySubsequences: false)
        func decimal(_ part: Substring, _ name: String) -> Int? {
            guard part.hasPrefix(name + "=") else { return nil }
            let digits = part.dropFirst(name.count + 1)
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                digits.first != "0"
            else { return nil }
            return Int(digits)
        }
        guard parameters.count == 2, let i = decimal(parameters[0], "i"), let l = decimal(parameters[1], "l"),
            i <= maximumImportedIterations, let phc = PHCString(parsing: text)
        else { return false }
        return phc.salt.count >= 8 && phc.hash.count >= 16 && phc.hash.count <= 64 && phc.hash.count == l
    }

    public func verify(_ password: Secret, against stored: String) throws -> PasswordVerification {
        guard let phc = PHCString(parsing: stored), phc.algorithm == Self.algorithm, phc.version == 1,
            let i = phc.parameter("i"), i >= 1, i <= 100_000_000, phc.hash.count >= 16, phc.hash.count <= 64
        else { return PasswordVerification(matches: false, needsRehash: false) }
        var derived = try derive(password, salt: phc.salt, iterations: i, length: phc.hash.count)
        defer { LibCrypto.cleanse(&derived) }
        let matches = LibCrypto.constantTimeEqual(derived, phc.hash)
        return PasswordVerification(
            matches: matches, needsRehash: matches && (i < iterations || phc.hash.count < hashLength))
    }

    private func derive(_ password: Secret, salt: [UInt8], iterations: Int, length: Int) throws -> [UInt8] {
        var peppered = password.withBytes { bytes in
            pepper.withBytes { key in LibCrypto.hmacSHA256(key: key, data: bytes) }
        }
        defer { LibCrypto.cleanse(&peppered) }
        return try LibCrypto.pbkdf2SHA256(password: peppered, salt: salt, iterations: iterations, length: length)
    }
}

/// The server-side secret mixed into every password hash; kept in a file outside the database.
public struct Pepper: Sendable, CustomStringConvertible {
    private let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count >= 16, "a pepper has at least 16 bytes")
        self.bytes = bytes
    }

    public var description: String { "<pepper>" }

    func withBytes<T>(_ body: ([UInt8]) throws -> T) rethrows -> T { try body(bytes) }

    /// A 32-byte key for one `purpose` (sealing live sessions, signing checkpoints), derived from the pepper by
    /// HMAC-SHA256: as secret as the pepper and kept, like it, outside the database, and a different key for each
    /// purpose, so that no key serves two.
    public func derivedKey(purpose: String) -> [UInt8] {
        LibCrypto.hmacSHA256(key: bytes, data: Array("selfcare key: \(purpose)".utf8))
    }

    /// A fault reading or creating the pepper file.
    public struct FileError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let problem: String
        public var description: String { "pepper file \(path): \(problem)" }
    }

    /// Reads the pepper from `path`: 64 hexadecimal characters (32 bytes), surrounding white space ignored.
    /// - Throws: `Pepper.FileError` when the file is missing, unreadable, malformed or readable by others.
    public static func load(from path: String) throws -> Pepper {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileError(
                path: path, problem: "missing; run `selfcare init` to create it, or point --pepper-file at it")
        }
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0
        {
            throw FileError(
                path: path, problem: "readable by group or others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FileError(path: path, problem: "unreadable")
        }
        let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard hex.count == 64, let bytes = hexBytes(hex) else {
            throw FileError(path: path, problem: "expected 64 hexadecimal characters")
        }
        return Pepper(bytes: bytes)
    }

    /// Creates a new random pepper file at `path` with mode 0600 unless one exists; returns whether it created one.
    @discardableResult
    public static func createIfMissing(at path: String) throws -> Bool {
        if FileManager.default.fileExists(atPath: path) { return false }
        let bytes = try LibCrypto.randomBytes(32)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw FileError(path: path, problem: "cannot create: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let text = Array((bytes.hexString + "\n").utf8)
        let written = text.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
        guard written == text.count else { throw FileError(path: path, problem: "short write") }
        return true
    }

    private static func hexBytes(_ hex: String) -> [UInt8]? {
        var out = [UInt8]()
        var chars = Array(hex.utf8)[...]
        while chars.count >= 2 {
            guard let hi = nibble(chars.removeFirst()), let lo = nibble(chars.removeFirst()) else { return nil }
            out.append(hi << 4 | lo)
        }
        return chars.isEmpty ? out : nil
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
