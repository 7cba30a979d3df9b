import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP

/// Checks a `ChannelAdapter` against the protocol's implementation requirements, the way an integrator
/// runs it against an adapter of their own:
///
/// ```swift
/// @Test func myGatewayAdapterConforms() async throws {
///     let report = try await AdapterConformance.check(MyGatewayAdapter(), probe: MyGatewayProbe())
///     #expect(report.findings.isEmpty, "\(report)")
/// }
/// ```
///
/// The adapter is served alone, in process, on a gateway over a memory store with two fixture
/// subscribers (`18612345678`, Chinese, balance 123.45 yuan, password `258036`; `18611110001`, English)
/// and the shipped grammars and prompts. Each check drives a conversation through the probe (the
/// gateway's side of the protocol: `request(for:)` and `reply(to:for:)`), then looks at the raw HTTP
/// exchanges and at the records.
public enum AdapterConformance {
    /// One requirement the adapter did not meet.
    public struct Finding: Sendable, CustomStringConvertible {
        public var requirement: Requirement
        public var detail: String
        public var description: String { "\(requirement.rawValue): \(detail)" }
    }

    public enum Requirement: String, Sendable, CaseIterable {
        /// A query gets its answer through the adapter.
        case answers
        /// Unknown text or a wrong key is a 200 with a polite reply.
        case politeMistakes = "polite-mistakes"
        /// No response and no record carries the digits of a password.
        case noPasswordEcho = "no-password-echo"
        /// A retried request is not applied twice.
        case idempotency
        /// Replies fit SMS parts and USSD screens.
        case screenLimits = "screen-limits"
        /// A body of the wrong type or over the limit gets a clear 4xx; invalid UTF-8 never a 5xx.
        case malformedRequests = "malformed-requests"
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var adapter: String
        public var findings: [Finding]
        /// HTTP exchanges made.
        public var exchanges: Int
        public var passed: Bool { findings.isEmpty }
        public var failedRequirements: Set<Requirement> { Set(findings.map(\.requirement)) }
        public var description: String {
            passed
                ? "\(adapter): every requirement met (\(exchanges) exchanges)"
                : "\(adapter): \(findings.count) finding(s)\n" + findings.map { "  - \($0)" }.joined(separator: "\n")
        }
    }

    static let wrongPassword = "135792"

    /// The conversations the checks run, in the grammars' terms. The defaults fit the shipped grammars
    /// and the fixture subscribers; an integrator with other grammars says how their customers ask.
    /// In `keys`, an empty string is no input; `{password}` stands for the password being tried.
    public struct Script: Sendable {
        /// A subscriber of the fixture data with password `password` (Chinese, balance 123.45 yuan).
        public var caller = "18612345678"
        public var password = "258036"
        /// Another fixture subscriber (English).
        public var otherCaller = "18611110001"
        /// A balance query and a piece of its reply.
        public var balanceMessage = "CXYE"
        public var balanceKeys = ["1", "1"]
        public var balanceShows = "123.45"
        /// Something no grammar takes.
        public var mistakeMessage = "hello there"
        public var mistakeKeys = ["77"]
        /// An operation that checks the password, and its name in the records.
        public var passwordMessage = "CXZD {password}"
        public var passwordKeys = ["1", "5", "", "{password}"]
        public var passwordOperation = "query.bill"
        /// A query to retry, and its name in the records.
        public var retryMessage = "CXJF"
        public var retryKeys = ["1", "4"]
        public var retryOperation = "query.points"

        public init() {}
    }

    /// Runs every check against `adapter`, driven through `probe`.
    /// - Parameters:
    ///   - probe: the gateway's side of the adapter's protocol; for a shipped adapter, nil takes its own
    ///     (`AdapterProbes.shipped(for:)`).
    ///   - grammars, prompts: the folders to serve (default: the repository's shipped ones).
    ///   - configuration: the gateway settings (the adapter list is replaced by `adapter`).
    ///   - script: the conversations, in the grammars' terms.
    public static func check(
        _ adapter: any ChannelAdapter, probe: (any AdapterProbe)? = nil, grammars: String? = nil,
        prompts: String? = nil, configuration: GatewayConfiguration = GatewayConfiguration(),
        script: Script = Script()
    ) async throws -> Report {
        guard let probe = probe ?? AdapterProbes.shipped(for: adapter) else {
            throw AdapterReplyError(
                "\(adapter.name): no probe for this adapter; pass `probe:` (an `AdapterProbe` for its protocol)")
        }
        let harness = try await Harness(
            adapter, probe: probe, grammars: grammars, prompts: prompts, configuration: configuration,
            script: script)
        var findings: [Finding] = []
        for requirement in Requirement.allCases {
            do {
                findings += try await harness.check(requirement)
            } catch {
                findings.append(Finding(requirement: requirement, detail: "\(error)"))
            }
        }
        return Report(adapter: adapter.name, findings: findings, exchanges: await harness.exchanges.count)
    }
}

/// One adapter on an in-process gateway, with every exchange kept.
final class Harness: Sendable {
    typealias Finding = AdapterConformance.Finding

    let adapter: any ChannelAdapter
    let probe: any AdapterProbe
    let store: MemoryServiceStore
    let gateway: InProcessGateway
    let configuration: GatewayConfiguration
    let exchanges = ExchangeLog()
    let smsPartCap: Int
    let ussd: USSDConfiguration
    let script: AdapterConformance.Script

    init(
        _ adapter: any ChannelAdapter, probe: any AdapterProbe, grammars: String?, prompts: String?,
        configuration: GatewayConfiguration, script: AdapterConformance.Script
    ) async throws {
        self.adapter = adapter
        self.probe = probe
        self.script = script
        store = MemoryServiceStore()
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
        let catalog =
            try prompts.map { try PromptCatalog.load(directory: $0) } ?? Fixtures.shippedPrompts()
        let engine = OperationEngine(
            store: store, hasher: Fixtures.hasher(), prompts: catalog, clock: FixedTimeSource(Fixtures.midNovember),
            pool: BlockingWorkPool(threads: 2),
            logger: Fixtures.quietLogger)
        let grammarSet = try GrammarSet(
            directory: grammars ?? Fixtures.repositoryRoot.appendingPathComponent("grammars").path, prompts: catalog)
        let sms = SMSChannel(engine: engine, grammars: grammarSet)
        let ussdChannel = USSDChannel(engine: engine, grammars: grammarSet)
        smsPartCap = sms.configuration.partCap
        ussd = ussdChannel.configuration
        var configuration = configuration
        configuration.adapters = [adapter]
        self.configuration = configuration
        let channels = GatewayChannels(
            sms: sms, ussd: ussdChannel, ivr: IVRChannel(engine: engine, grammars: grammarSet))
        gateway = InProcessGateway(channels, configuration: configuration)
    }

    /// Sends one request through the router, as the server would hand it over.
    func send(_ request: AdapterRequest) async throws -> AdapterResponse {
        let result = try await gateway.send(request)
        await exchanges.append(request, result)
        return result
    }

    /// Runs `actions` as one conversation; returns each reply (nil where the adapter could not read the response).
    func converse(
        _ caller: String, _ id: String, _ kinds: [CustomerAction.Kind]
    ) async throws -> [(AdapterRequest, AdapterResponse, AdapterReply)] {
        var inputs: [String] = []
        var continuation: String?
        var out: [(AdapterRequest, AdapterResponse, AdapterReply)] = []
        for kind in kinds {
            switch kind {
            case .keys(let k), .message(let k): inputs.append(k)
            case .noInput: inputs.append("")
            case .open: break
            }
            let action = CustomerAction(kind, caller: caller, id: id, inputs: inputs, continuation: continuation)
            let request = probe.request(for: action)
            let response = try await send(request)
            let reply = try probe.reply(to: response, for: action)
            continuation = reply.continuation
            out.append((request, response, reply))
        }
        return out
    }

    func records() throws -> [ServiceRecord] {
        var records: [ServiceRecord] = []
        try store.forEachRecord(matching: RecordFilter()) { records.append($0) }
        return records
    }

    var isMessage: Bool { probe.style == .message }

    /// The script's keys as customer actions: `""` is no input, `{password}` the password tried.
    func actions(_ keys: [String], password: String = "") -> [CustomerAction.Kind] {
        [.open] + keys.map { $0.isEmpty ? .noInput : .keys($0.replacingOccurrences(of: "{password}", with: password)) }
    }

    func check(_ requirement: AdapterConformance.Requirement) async throws -> [Finding] {
        func finding(_ detail: String) -> Finding { Finding(requirement: requirement, detail: detail) }
        let script = self.script
        switch requirement {
        case .answers:
            let steps: [CustomerAction.Kind] =
                isMessage ? [.message(script.balanceMessage)] : actions(script.balanceKeys)
            let replies = try await converse(script.caller, "answers-1", steps)
            guard let last = replies.last?.2, last.text.contains(script.balanceShows) else {
                return [
                    finding(
                        "the balance query did not answer with \(script.balanceShows): \(replies.last?.2.text ?? "nothing")"
                    )
                ]
            }
            if !isMessage, replies.first?.2.ends == true { return [finding("opening a session ended it")] }
            return []

        case .politeMistakes:
            let steps: [CustomerAction.Kind] =
                isMessage ? [.message(script.mistakeMessage)] : actions(script.mistakeKeys)
            var found: [Finding] = []
            do {
                let replies = try await converse(script.otherCaller, "mistake-1", steps)
                for (_, response, reply) in replies where response.status != .ok || reply.text.isEmpty {
                    found.append(finding("a mistake got HTTP \(response.status.code) with \"\(reply.text)\""))
                }
                if !isMessage, replies.last?.2.ends == true { found.append(finding("a wrong key ended the session")) }
            } catch {
                found.append(finding("a customer's mistake was not a polite reply: \(error)"))
            }
            return found

        case .noPasswordEcho:
            let secrets = [AdapterConformance.wrongPassword, script.password]
            for (i, secret) in secrets.enumerated() {
                let steps: [CustomerAction.Kind] =
                    isMessage
                    ? [.message(script.passwordMessage.replacingOccurrences(of: "{password}", with: secret))]
                    : actions(script.passwordKeys, password: secret)
                _ = try? await converse(script.caller, "password-\(i)", steps)
            }
            var found: [Finding] = []
            for secret in secrets {
                for (request, response) in await exchanges.all {
                    // In the body (also spelt out with spaces or tags between the keys) or a header.
                    let squeezed = String(
                        VoiceText.keysOnly(response.text).filter { !$0.isWhitespace })
                    let headers = response.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
                    if response.text.contains(secret) || squeezed.contains(secret) || headers.contains(secret) {
                        found.append(finding("the response to \(request.method) \(request.uri) shows \(secret)"))
                    }
                }
                for record in try records() where (record.reply + record.inputs).contains(secret) {
                    found.append(finding("record \(record.id) keeps \(secret)"))
                }
            }
            let attempts = try records().filter { $0.operation == script.passwordOperation }
            if !attempts.contains(where: { $0.reason == "bad_password" }) {
                found.append(finding("the wrong password never reached the engine (no bad_password record)"))
            }
            if !attempts.contains(where: { $0.auth == "ok" }) {
                found.append(finding("the right password was never accepted (no record with auth ok)"))
            }
            return found

        case .idempotency:
            let steps: [CustomerAction.Kind] =
                isMessage ? [.message(script.retryMessage)] : actions(script.retryKeys)
            let replies = try await converse(script.caller, "retry-1", steps)
            guard let (request, _, reply) = replies.last else { return [finding("no exchange")] }
            let again = try await send(request)
            let runs = try records().filter { $0.operation == script.retryOperation && $0.reason == "ok" }
            var found: [Finding] = []
            if runs.count != 1 {
                found.append(finding("a retried request ran the operation \(runs.count) times"))
            }
            if again.status != .ok {
                found.append(finding("a retried request got HTTP \(again.status.code)"))
            } else {
                do {
                    let second = try probe.reply(to: again, for: CustomerAction(.noInput, caller: "", id: ""))
                    if second.text != reply.text {
                        found.append(finding("a retried request got another answer: \"\(second.text)\""))
                    }
                } catch {
                    found.append(finding("the answer to a retried request could not be read: \(error)"))
                }
            }
            return found

        case .screenLimits:
            var found: [Finding] = []
            for (request, response) in await exchanges.all where response.status == .ok {
                let action = CustomerAction(.noInput, caller: "", id: "")
                guard let reply = try? probe.reply(to: response, for: action) else { continue }
                let encoding = SMSSegmenter.encoding(of: reply.text)
                let units = SMSSegmenter.length(of: reply.text)
                switch probe.replyUnit {
                case .smsParts:
                    let limit = smsPartCap * (encoding == .ucs2 ? 67 : 153)
                    if units > limit {
                        found.append(finding("a reply to \(request.uri) is \(units) units, over \(smsPartCap) parts"))
                    }
                case .ussdScreen:
                    let limit = encoding == .ucs2 ? ussd.ucs2Screen : ussd.gsmScreen
                    if units > limit {
                        found.append(
                            finding("a screen is \(units) characters, over \(limit): \(reply.text.prefix(30))…"))
                    }
                case .speech: break
                }
            }
            return found

        case .malformedRequests:
            let sample = probe.request(
                for: CustomerAction(
                    isMessage ? .message(script.balanceMessage) : .open, caller: script.caller, id: "malformed-1"))
            let path = String(sample.uri.prefix { $0 != "?" })
            var found: [Finding] = []
            // A body of the wrong type. A GET-only route (404 or 405 to a POST) never reads a body, and
            // the body checks do not apply to it.
            let wrongType = try await send(
                AdapterRequest(
                    method: .post, uri: path, headers: [.contentType: "application/octet-stream"],
                    body: Array("\u{0}\u{1}garbage".utf8)))
            let readsBodies = ![.notFound, .methodNotAllowed].contains(wrongType.status)
            if readsBodies {
                if !(400..<500).contains(wrongType.status.code) || wrongType.body.isEmpty {
                    found.append(
                        finding("a body of the wrong type got HTTP \(wrongType.status.code), not a 4xx with a reason"))
                }
                var big = probe.request(
                    for: CustomerAction(
                        isMessage ? .message(script.balanceMessage) : .keys("1"), caller: script.caller,
                        id: "malformed-2", inputs: ["1"]))
                big.method = .post
                if big.headers[.contentType] == nil { big.headers[.contentType] = "application/x-www-form-urlencoded" }
                big.body = (big.body ?? []) + Array(repeating: UInt8(ascii: "a"), count: configuration.maxBodyBytes + 1)
                let tooBig = try await send(big)
                if tooBig.status != .contentTooLarge {
                    found.append(
                        finding(
                            "a body over \(configuration.maxBodyBytes) bytes got HTTP \(tooBig.status.code), not 413"))
                }
            }
            // Invalid UTF-8 where the text goes: raw in a body, percent-encoded in a query.
            var bad = probe.request(
                for: CustomerAction(
                    isMessage ? .message("QQQ") : .keys("QQQ"), caller: script.caller, id: "malformed-3",
                    inputs: ["QQQ"]))
            if var body = bad.body, let at = body.firstRange(of: Array("QQQ".utf8)) {
                body.replaceSubrange(at, with: [0xFF, 0xFE, 0xC3])
                bad.body = body
            } else {
                bad.uri = bad.uri.replacingOccurrences(of: "QQQ", with: "%FF%FE%C3")
            }
            let invalid = try await send(bad)
            if invalid.status.code >= 500 {
                found.append(finding("invalid UTF-8 got HTTP \(invalid.status.code)"))
            }
            if (400..<500).contains(invalid.status.code) && invalid.body.isEmpty {
                found.append(finding("invalid UTF-8 got HTTP \(invalid.status.code) without a reason"))
            }
            return found
        }
    }
}

/// Text as a listener would hear the keys in it: markup removed, so `<say-as>2</say-as><say-as>5</say-as>`
/// reads as `25`.
enum VoiceText {
    static func keysOnly(_ text: String) -> String {
        var out = ""
        var inTag = false
        for c in text {
            if c == "<" { inTag = true } else if c == ">" { inTag = false } else if !inTag { out.append(c) }
        }
        return out
    }
}

/// Every request and response of a check run.
actor ExchangeLog {
    private(set) var all: [(AdapterRequest, AdapterResponse)] = []
    var count: Int { all.count }
    func append(_ request: AdapterRequest, _ response: AdapterResponse) { all.append((request, response)) }
}

/// The gateway's router, driven in process: a request goes through every route and middleware as the server
/// would hand it over, without a socket. For conformance checks, fuzzing and tests.
public struct InProcessGateway: Sendable {
    let responder: RouterResponder<BasicRequestContext>
    /// The connection every request comes in on. One for all: a testing channel is never closed here, and one
    /// per request kept about 5 KB each alive, which a long fuzzing run took for a leak in the gateway.
    let channel = NIOAsyncTestingChannel()

    public init(_ channels: GatewayChannels, configuration: GatewayConfiguration) {
        responder = Gateway.router(channels, configuration: configuration).buildResponder()
    }

    /// Sends one request through the router; an error a route throws becomes the response the server sends.
    public func send(_ request: AdapterRequest) async throws -> AdapterResponse {
        var headers = request.headers
        if let body = request.body { headers[.contentLength] = String(body.count) }
        let hbRequest = Request(
            head: HTTPRequest(
                method: request.method, scheme: "http", authority: "localhost", path: request.uri, headerFields: headers
            ),
            body: RequestBody(buffer: ByteBuffer(bytes: request.body ?? [])))
        let context = BasicRequestContext(
            source: ApplicationRequestContextSource(
                channel: channel,
                logger: Fixtures.quietLogger))
        let response: Response
        do {
            response = try await responder.respond(to: hbRequest, context: context)
        } catch let error as any HTTPResponseError {
            // What the server would send for the error, its message included.
            response = (try? error.response(from: hbRequest, context: context)) ?? Response(status: error.status)
        } catch {
            response = Response(status: .internalServerError)
        }
        let collector = BodyCollector()
        try await response.body.write(collector)
        return AdapterResponse(status: response.status, headers: response.headers, body: collector.bytes)
    }
}

/// Collects a response body, inside the one task that writes it (the writer need not be `Sendable`).
final class BodyCollector: ResponseBodyWriter {
    private(set) var bytes: [UInt8] = []
    func write(_ buffer: ByteBuffer) async throws { bytes += buffer.readableBytesView }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
