import CSelfCareLibCrypto
import Foundation

/// A fault inside OpenSSL's libcrypto.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// What was being done.
    public let operation: String
    /// OpenSSL's own error text, when it left one.
    public let detail: String

    init(_ operation: String) {
        self.operation = operation
        let code = ERR_get_error()
        if code == 0 {
            detail = "no OpenSSL error queued"
        } else {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            detail = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public var description: String { "libcrypto: \(operation) failed: \(detail)" }
}

/// Thin, safe wrappers over the libcrypto calls SelfCare uses. This is the only Swift file that touches it.
public enum LibCrypto {
    /// libcrypto initialised without its exit handler. By default OpenSSL frees its locks and tables when the
    /// process exits, while other threads may still be hashing (a pool thread, a task the exit did not wait for):
    /// such a thread then locks a freed lock and the process dies of SIGSEGV in `pthread_rwlock_rdlock` on its
    /// way out, after its work was done and reported. The kernel frees everything at exit anyway.
    private static let initialised: Bool = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1

    /// Initialises libcrypto before its first use (every entry point calls it; later calls cost a load).
    @inline(__always) private static func ready() { _ = initialised }

    /// The SHA-256 digest, fetched once (fetching per call costs as much as hashing a record).
    // unchecked: a constant pointer to an EVP_MD, never freed, that OpenSSL lets many threads digest with at once.
    private struct FetchedDigest: @unchecked Sendable { let md: OpaquePointer? }
    private static let sha256Digest: FetchedDigest = {
        ready()
        return FetchedDigest(md: EVP_MD_fetch(nil, "SHA256", nil))
    }()

    /// SHA-256 of `data`.
    public static func sha256(_ data: some ContiguousBytes) -> [UInt8] {
        ready()
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { input in
            out.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, sha256Digest.md, nil)
            }
        }
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA256) failed")
        return out
    }

    /// HMAC-SHA256 of `data` under `key`.
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        ready()
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, o.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == 32, "HMAC(SHA256) failed")
        return out
    }

    /// PBKDF2-HMAC-SHA256 (RFC 8018) of `password` and `salt`.
    /// - Throws: `CryptoError` when libcrypto refuses the parameters.
    public static func pbkdf2SHA256(
        password: [UInt8], salt: [UInt8], iterations: Int, length: Int
    ) throws
        -> [UInt8]
    {
        ready()
        var out = [UInt8](repeating: 0, count: length)
        // An empty password still needs a valid pointer.
        let input = password.isEmpty ? [0] : password
        let ok = input.withUnsafeBufferPointer { p in
            salt.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    UnsafeRawPointer(p.baseAddress!).withMemoryRebound(to: CChar.self, capacity: p.count) { pc in
                        PKCS5_PBKDF2_HMAC(
                            pc, Int32(password.count), s.baseAddress, Int32(s.count), Int32(iterations),
                            EVP_sha256(), Int32(length), o.baseAddress)
                    }
                }
            }
        }
        guard ok == 1 else { throw CryptoError("PKCS5_PBKDF2_HMAC") }
        return out
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    public static func randomBytes(_ count: Int) throws -> [UInt8] {
        ready()
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard ok == 1 else { throw CryptoError("RAND_bytes") }
        return out
    }

    /// AES-256-GCM of `plaintext` under the 32-byte `key`, authenticating `context` too: a fresh random 12-byte
    /// nonce, then the ciphertext, then the 16-byte tag.
    public static func sealAESGCM(_ plaintext: [UInt8], key: [UInt8], context: [UInt8]) throws -> [UInt8] {
        ready()
        precondition(key.count == 32, "AES-256 takes a 32-byte key")
        let nonce = try randomBytes(12)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var length: Int32 = 0
        var ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce)
        if ok == 1, !context.isEmpty { ok = EVP_EncryptUpdate(ctx, nil, &length, context, Int32(context.count)) }
        length = 0
        if ok == 1, !plaintext.isEmpty {
            ok = EVP_EncryptUpdate(ctx, &out, &length, plaintext, Int32(plaintext.count))
        }
        var tail: Int32 = 0
        if ok == 1 {
            ok = out.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(ctx, $0.baseAddress! + Int(length), &tail) }
        }
        var tag = [UInt8](repeating: 0, count: 16)
        if ok == 1 { ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag) }
        guard ok == 1 else { throw CryptoError("AES-256-GCM seal") }
        return nonce + out.prefix(Int(length + tail)) + tag
    }

    /// The plaintext of a `sealAESGCM` box under `key` and `context`; nil when the box was altered, sealed under
    /// another key or for another context, or is too short to be one.
    public static func openAESGCM(_ box: [UInt8], key: [UInt8], context: [UInt8]) -> [UInt8]? {
        ready()
        precondition(key.count == 32, "AES-256 takes a 32-byte key")
        guard box.count >= 28 else { return nil }
        let nonce = Array(box.prefix(12))
        var tag = Array(box.suffix(16))
        let ciphertext = Array(box[12..<(box.count - 16)])
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var length: Int32 = 0
        var ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce)
        if ok == 1, !context.isEmpty { ok = EVP_DecryptUpdate(ctx, nil, &length, context, Int32(context.count)) }
        length = 0
        if ok == 1, !ciphertext.isEmpty {
            ok = EVP_DecryptUpdate(ctx, &out, &length, ciphertext, Int32(ciphertext.count))
        }
        if ok == 1 { ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) }
        var tail: Int32 = 0
        if ok == 1 {
            ok = out.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + Int(length), &tail) }
        }
        guard ok == 1 else {
            ERR_clear_error()
            return nil
        }
        return Array(out.prefix(Int(length + tail)))
    }

    /// Compares two byte strings in time that depends only on their length (`CRYPTO_memcmp`).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        ready()
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 }
        }
    }

    /// Overwrites `bytes` with zeros in a way the optimiser keeps.
    public static func cleanse(_ bytes: inout [UInt8]) {
        ready()
        bytes.withUnsafeMutableBufferPointer { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
