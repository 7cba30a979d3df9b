import Dispatch
import Foundation
import HTTPTypes
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareHTTP
import SelfCareStore
import SelfCareTesting
import Synchronization

/// The HTTP adapters' field decoding on arbitrary bytes: the first byte picks a route and an encoding (query,
/// form, JSON strings, raw JSON), the rest, split at 0xFF, fills the fields, every byte value reaching the
/// decoders (percent-encoded in queries and forms, as \u escapes or raw bytes in JSON). After every input:
/// no 5xx answer, no fixture password in any answer, every record written so far verifies, read back
/// from SQLite (a NUL byte in a field once broke the chain for ever); and resident memory stays flat once
/// the gateway's bounded tables are full (a small session cap fills them early).
final class Gateway: @unchecked Sendable {
    // Set up once, then used by one libFuzzer thread at a time.
    let store: SQLiteServiceStore
    let gateway: InProcessGateway
    var verifier = RecordChainVerifier()
    var lastID: Int64 = 0

    init() {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-fuzz-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        store = try! SQLiteServiceStore(path: folder.appendingPathComponent("fuzz.sqlite").path)
        let seeded = DispatchSemaphore(value: 0)
        let store = self.store
        Task {
            try? await Fixtures.seed(
                store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
            seeded.signal()
        }
        seeded.wait()
        let engine = try! Fixtures.engine(store: store)
        let grammars = try! GrammarSet(
            directory: ProcessInfo.processInfo.environment["SELFCARE_FUZZ_GRAMMARS"] ?? "grammars",
            prompts: try! Fixtures.shippedPrompts())
        var sms = SMSConfiguration()
        sms.rateLimit = 1_000_000
        // A small session cap, so that every bounded table fills within a minute of fuzzing and memory
        // must then stay flat: growth past that is a leak (see `checkMemory`).
        let limits = SessionLimits(capacity: Self.sessionCap)
        let channels = GatewayChannels(engine: engine, grammars: grammars, sms: sms, sessions: limits)
        var configuration = GatewayConfiguration()
        configuration.adminToken = "s3cret"
        gateway = InProcessGateway(channels, configuration: configuration)
    }

    static let sessionCap = 2_000
    var runs = 0
    /// Resident memory once the bounded tables have filled (after `warmRuns` inputs), and the most it may grow.
    var settled: Int?
    static let warmRuns = 100_000
    static let allowedGrowth = 256 * 1_048_576

    /// Fails once resident memory has grown more than `allowedGrowth` past where it settled: every table the
    /// gateway keeps per session, caller or message is bounded, so memory must stay flat once they are full.
    func checkMemory() {
        runs += 1
        guard runs % 10_000 == 0 else { return }
        let now = residentBytes()
        guard runs >= Self.warmRuns else { return }
        guard let settled else {
            settled = now
            return
        }
        precondition(
            now - settled <= Self.allowedGrowth,
            "resident memory grew \((now - settled) / 1_048_576) MiB in \(runs - Self.warmRuns) runs after settling")
    }

    /// Checks the records written since the last call: each links to the one before and matches its hash.
    func verifyNewRecords() {
        var filter = RecordFilter()
        filter.afterID = lastID
        try! store.forEachRecord(matching: filter) { record in
            verifier.check(record)
            lastID = record.id
        }
        precondition(verifier.firstBreak == nil, "the record chain broke: \(verifier.report)")
    }
}

let state = Gateway()

/// Every byte percent-encoded, so that the form and query decoders see every value, NUL and 0x80–0xFE too.
func percent(_ bytes: ArraySlice<UInt8>) -> String {
    bytes.map { b in
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            ? String(UnicodeScalar(b)) : String(format: "%%%02X", b)
    }.joined()
}

/// A JSON string literal holding `bytes`: escaped one by one (`\u00XX`), or the raw bytes between quotes.
func jsonString(_ bytes: ArraySlice<UInt8>, raw: Bool) -> [UInt8] {
    if raw { return [0x22] + bytes.filter { $0 != 0x22 && $0 != 0x5C } + [0x22] }
    return Array(("\"" + bytes.map { String(format: "\\u%04x", $0) }.joined() + "\"").utf8)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdapters(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let choice = bytes[0]
    var fields = bytes.dropFirst().split(separator: 0xFF, omittingEmptySubsequences: false)
    while fields.count < 6 { fields.append([]) }
    let raw = choice & 0x80 != 0
    func form(_ names: [String]) -> [UInt8] {
        Array(zip(names, fields).map { "\($0)=\(percent($1))" }.joined(separator: "&").utf8)
    }
    func json(_ names: [String], extra: String = "") -> [UInt8] {
        var out: [UInt8] = Array("{".utf8)
        for (i, (name, value)) in zip(names, fields).enumerated() {
            if i > 0 { out += Array(",".utf8) }
            out += Array("\"\(name)\":".utf8) + jsonString(value, raw: raw)
        }
        return out + Array("\(extra)}".utf8)
    }
    let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
    let jsonType: HTTPFields = [.contentType: "application/json"]
    let request: AdapterRequest
    switch choice % 9 {
    case 0:
        let query = String(decoding: form(["from", "to", "text", "id"]), as: UTF8.self)
        request = AdapterRequest(method: .get, uri: "/sms/kannel?" + query)
    case 1:
        request = AdapterRequest(
            method: .post, uri: "/sms/kannel", headers: formType, body: form(["from", "to", "text", "id"]))
    case 2:
        request = AdapterRequest(
            method: .post, uri: "/ussd/at", headers: formType,
            body: form(["sessionId", "serviceCode", "phoneNumber", "text", "networkCode"]))
    case 3:
        request = AdapterRequest(
            method: .post, uri: "/v1/messages", headers: jsonType, body: json(["from", "text", "id", "to"]))
    case 4:
        request = AdapterRequest(
            method: .post, uri: "/v1/messages", headers: jsonType,
            body: json(["from", "session", "code", "input"], extra: ",\"channel\":\"ussd\""))
    case 5:
        request = AdapterRequest(
            method: .post, uri: "/v1/ivr", headers: jsonType,
            body: json(["call", "from", "digits"], extra: choice & 0x40 != 0 ? ",\"start\":true" : ",\"step\":1"))
    case 6:
        request = AdapterRequest(
            method: .post, uri: "/ivr/vxml?" + String(decoding: form(["call", "step"]), as: UTF8.self),
            headers: formType, body: form(["digits", "event", "from", "session"]))
    case 7:
        // The fields as the whole body, whatever the content type claims.
        request = AdapterRequest(
            method: .post, uri: ["/sms/kannel", "/ussd/at", "/v1/messages", "/v1/ivr"][Int(choice >> 4) % 4],
            headers: choice & 0x08 != 0 ? jsonType : formType, body: Array(bytes.dropFirst()))
    default:
        let query = String(decoding: form(["subject", "since", "after", "limit", "format"]), as: UTF8.self)
        request = AdapterRequest(
            method: .get, uri: "/v1/records?" + query, headers: [.authorization: "Bearer s3cret"])
    }
    let done = DispatchSemaphore(value: 0)
    let answer = Handoff<AdapterResponse?>(nil)
    Task {
        answer.set(try? await state.gateway.send(request))
        done.signal()
    }
    done.wait()
    guard let response = answer.get() else { preconditionFailure("no response to \(request.uri.prefix(80))") }
    precondition(response.status.code < 500, "\(response.status) for \(request.uri.prefix(80)): \(response.text)")
    if !request.uri.hasPrefix("/v1/records") {
        // The fixture password never comes back as a run of digits of its own.
        var run = ""
        for c in response.text + " " {
            if c.isASCII && c.isNumber {
                run.append(c)
            } else {
                precondition(run != "258036", "a password was echoed: \(response.text)")
                run = ""
            }
        }
    }
    state.verifyNewRecords()
    state.checkMemory()
    return 0
}

/// A value the fuzzing thread waits for, handed over by the task that made it.
final class Handoff<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func set(_ new: Value) { value.withLock { $0 = new } }
    func get() -> Value { value.withLock { $0 } }
}
