import Foundation
import SelfCareCore
import SelfCareCrypto
import SelfCareTesting
import Testing

private func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(text.utf8)[...]
    while chars.count >= 2 {
        out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
        chars = chars.dropFirst(2)
    }
    return out
}

@Suite("libcrypto known-answer vectors")
struct CryptoVectorTests {
    struct PBKDF2Vector: Sendable, CustomTestStringConvertible {
        let password: String
        let salt: String
        let iterations: Int
        let expected: String
        var testDescription: String { "\(password)/\(salt)/c=\(iterations)" }
    }

    /// RFC 7914 §11 (PBKDF2-HMAC-SHA256) and the widely used RFC 6070-style SHA-256 vector.
    static let vectors = [
        PBKDF2Vector(
            password: "passwd", salt: "salt", iterations: 1,
            expected: "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"),
        PBKDF2Vector(
            password: "Password", salt: "NaCl", iterations: 80_000,
            expected: "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
                + "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"),
        PBKDF2Vector(
            password: "password", salt: "salt", iterations: 4096,
            expected: "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
    ]

    @Test(arguments: vectors)
    func pbkdf2(_ v: PBKDF2Vector) throws {
        let out = try LibCrypto.pbkdf2SHA256(
            password: Array(v.password.utf8), salt: Array(v.salt.utf8), iterations: v.iterations,
            length: v.expected.count / 2)
        #expect(out.hexString == v.expected)
    }

    @Test func sha256() {
        #expect(
            LibCrypto.sha256(Array("abc".utf8)).hexString
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            LibCrypto.sha256([UInt8]()).hexString
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func hmacSHA256() {
        // RFC 4231 test case 2.
        #expect(
            LibCrypto.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)).hexString
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func constantTimeEqual() {
        #expect(LibCrypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!LibCrypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!LibCrypto.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(hex("0a0b") == [10, 11])
    }

    /// AES-256-GCM: a box opens to its plaintext under its key and context only; a flipped bit anywhere, another
    /// key or another context gives nothing; two boxes of one plaintext differ (fresh nonces).
    @Test func aesGCMBoxesOpenOnlyUnderTheirKeyAndContext() throws {
        let key = Array(repeating: UInt8(3), count: 32)
        let plain = Array("1234 and the rest of a session".utf8)
        let box = try LibCrypto.sealAESGCM(plain, key: key, context: Array("ussd\u{0}s1".utf8))
        #expect(box.count == 12 + plain.count + 16)
        #expect(LibCrypto.openAESGCM(box, key: key, context: Array("ussd\u{0}s1".utf8)) == plain)
        #expect(LibCrypto.openAESGCM(box, key: key, context: Array("ussd\u{0}s2".utf8)) == nil)
        #expect(
            LibCrypto.openAESGCM(box, key: Array(repeating: 4, count: 32), context: Array("ussd\u{0}s1".utf8)) == nil)
        for i in [0, 12, box.count - 1] {
            var altered = box
            altered[i] ^= 1
            #expect(LibCrypto.openAESGCM(altered, key: key, context: Array("ussd\u{0}s1".utf8)) == nil, "bit at \(i)")
        }
        #expect(
            try LibCrypto.sealAESGCM(plain, key: key, context: []) != LibCrypto.sealAESGCM(plain, key: key, context: [])
        )
        #expect(LibCrypto.openAESGCM(try LibCrypto.sealAESGCM([], key: key, context: []), key: key, context: []) == [])
        let empty = try LibCrypto.sealAESGCM([], key: key, context: Array("ivr\u{0}c".utf8))
        #expect(LibCrypto.openAESGCM(empty, key: key, context: Array("ivr\u{0}c".utf8)) == [])
        #expect(LibCrypto.openAESGCM(Array(box.prefix(27)), key: key, context: []) == nil)
    }
}

@Suite("Password hashing")
struct PasswordHasherTests {
    @Test func phcFormatNamesAlgorithmAndCost() throws {
        let hasher = Fixtures.hasher(iterations: 1234)
        let stored = try hasher.hash(Secret("258036"))
        #expect(stored.hasPrefix("$pbkdf2-sha256$v=1$i=1234,l=32$"))
        let phc = try #require(PHCString(parsing: stored))
        #expect(phc.salt.count == 16)
        #expect(phc.hash.count == 32)
        #expect(phc.encoded == stored)
        #expect(!stored.contains("258036"))
    }

    @Test func hashIsPBKDF2OfPepperedPassword() throws {
        // Recompute from the documented construction: PBKDF2(HMAC-SHA256(pepper, password), salt, i, 32).
        let pepperBytes = Array(repeating: UInt8(0x5a), count: 32)
        let stored = try Fixtures.hasher(iterations: 1000).hash(Secret("258036"))
        let phc = try #require(PHCString(parsing: stored))
        let peppered = LibCrypto.hmacSHA256(key: pepperBytes, data: Array("258036".utf8))
        let expected = try LibCrypto.pbkdf2SHA256(password: peppered, salt: phc.salt, iterations: 1000, length: 32)
        #expect(phc.hash == expected)
    }

    @Test func saltsAreUnique() throws {
        let hasher = Fixtures.hasher(iterations: 1000)
        let hashes = try (0..<50).map { _ in try hasher.hash(Secret("258036")) }
        #expect(Set(hashes).count == 50)
        #expect(Set(hashes.compactMap { PHCString(parsing: $0)?.salt }).count == 50)
        for h in hashes { #expect(try hasher.verify(Secret("258036"), against: h).matches) }
    }

    @Test func wrongPasswordFails() throws {
        let hasher = Fixtures.hasher()
        let stored = try hasher.hash(Secret("258036"))
        #expect(try !hasher.verify(Secret("258037"), against: stored).matches)
        #expect(try !hasher.verify(Secret(""), against: stored).matches)
    }

    @Test func wrongPepperFails() throws {
        let stored = try Fixtures.hasher().hash(Secret("258036"))
        let other = Fixtures.hasher(pepper: Pepper(bytes: Array(repeating: 0x5b, count: 32)))
        #expect(try !other.verify(Secret("258036"), against: stored).matches)
    }

    @Test(arguments: [
        "", "plain", "$pbkdf2-sha256$v=1$i=1000,l=32$$", "$pbkdf2-sha256$v=2$i=1000,l=32$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "$scrypt$v=1$n=16384$AAAA$AAAA",
        "$pbkdf2-sha256$v=1$i=0,l=32$AAAAAAAAAAAAAAAAAAAAAA$"
            + String(repeating: "A", count: 43),
    ])
    func malformedStoredStringsNeverMatch(_ stored: String) throws {
        #expect(try !Fixtures.hasher().verify(Secret("258036"), against: stored).matches)
    }

    @Test func rehashNeededOnlyWhenCostRises() throws {
        let low = try Fixtures.hasher(iterations: 1000).hash(Secret("258036"))
        let higher = Fixtures.hasher(iterations: 2000)
        #expect(
            try higher.verify(Secret("258036"), against: low) == PasswordVerification(matches: true, needsRehash: true))
        #expect(
            try higher.verify(Secret("000000"), against: low)
                == PasswordVerification(matches: false, needsRehash: false))
        #expect(try Fixtures.hasher(iterations: 500).verify(Secret("258036"), against: low).needsRehash == false)
    }

    @Test func pepperFileIsCreatedPrivateAndLoads() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("x.pepper").path
            #expect(try Pepper.createIfMissing(at: path))
            #expect(try !Pepper.createIfMissing(at: path), "an existing pepper is never replaced")
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            _ = try Pepper.load(from: path)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            #expect(throws: Pepper.FileError.self) { try Pepper.load(from: path) }
            #expect(throws: Pepper.FileError.self) { try Pepper.load(from: dir.appendingPathComponent("none").path) }
        }
    }

    @Test func secretNeverDescribesItself() {
        let secret = Secret("258036")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("258036"))
        let request = OperationRequest(operation: .lossReport, channel: .api, caller: "1", password: secret)
        var text = ""
        dump(request, to: &text)
        #expect(!text.contains("258036"))
    }
}

@Suite("Record checkpoints")
struct RecordCheckpointVerifierTests {
    /// Three records chained; a checkpoint says a fifth was there: records were cut from the end (and the head
    /// rewound), which the chain alone would not show.
    @Test func aCheckpointBeyondTheLastRecordShowsRecordsCutFromTheEnd() {
        var records: [ServiceRecord] = []
        for n in 1...3 {
            let draft = RecordDraft(
                time: Date(timeIntervalSince1970: 1_800_000_000 + Double(n)), channel: .api, session: "s\(n)",
                caller: "18612345678", subject: "18612345678", operation: "query.balance", inputs: [:], auth: .none,
                result: .ok, reason: .ok, reply: "ok", durationMS: 1)
            records.append(
                ServiceRecord.chained(
                    draft, id: Int64(n), prevHash: records.last?.hash ?? ServiceRecord.genesisHash))
        }
        let signer = RecordCheckpointSigner(pepper: Pepper(bytes: Array(repeating: 1, count: 16)))
        var covering = RecordCheckpoint(
            id: 1, time: "2027-01-15T02:40:00Z", lastID: 2, hash: records[1].hash, signature: "")
        covering.signature = signer.sign(covering)
        var beyond = RecordCheckpoint(id: 2, time: "2027-01-15T02:45:00Z", lastID: 5, hash: "ab", signature: "")
        beyond.signature = signer.sign(beyond)
        var plain = RecordChainVerifier()
        var checked = RecordChainVerifier(checkpoints: [covering, beyond])
        for record in records {
            plain.check(record)
            checked.check(record)
        }
        plain.finish(head: (3, records[2].hash))
        checked.finish(head: (3, records[2].hash))
        #expect(plain.firstBreak == nil)
        #expect(
            checked.breaks.map(\.description) == [
                "record 5: missing: checkpoint 2 signed at 2027-01-15T02:45:00Z covers it"
            ])
    }
}
