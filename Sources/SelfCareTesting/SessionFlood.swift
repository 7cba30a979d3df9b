import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import SelfCareChannels
import SelfCareCore
import SelfCareHTTP

/// A session flood, scaled down: new USSD sessions and IVR calls, many times the session cap, poured through
/// the HTTP adapters of an in-process gateway while a customer stands at the USSD password screen and a caller at
/// an IVR confirmation; then the sessions expire and are swept. Time is a `ManualTimeSource` the flood moves, so
/// a run takes seconds and never depends on the wall clock.
///
/// ```swift
/// let report = try await SessionFlood(capacity: 2_000, sessions: 20_000).run()
/// print(report)  // whether both customers came through, live sessions and resident memory
/// ```
public struct SessionFlood: Sendable {
    /// The session cap of the USSD and of the IVR store.
    public var capacity: Int
    /// New USSD sessions, and as many new IVR calls, in the flood.
    public var sessions: Int
    /// Grammar and prompt folders; nil: the source checkout's.
    public var grammars: String?
    public var prompts: String?

    public init(capacity: Int = 2_000, sessions: Int = 20_000, grammars: String? = nil, prompts: String? = nil) {
        self.capacity = capacity
        self.sessions = sessions
        self.grammars = grammars
        self.prompts = prompts
    }

    /// What the flood did.
    public struct Report: Sendable, CustomStringConvertible {
        public var capacity: Int
        public var sessions: Int
        /// The customer at the USSD password screen got the PUK after the flood.
        public var customerKept: Bool
        public var customerReply: String
        /// The caller at the IVR confirmation had the loss reported after the flood.
        public var callerKept: Bool
        public var callerReply: String
        public var liveAfterFlood: (ussd: Int, ivr: Int)
        public var liveAfterExpiry: (ussd: Int, ivr: Int)
        /// Resident bytes before the flood, at its peak, and once its sessions expired and were swept.
        public var residentBefore: Int
        public var residentPeak: Int
        public var residentAfter: Int

        public var description: String {
            func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
            func signed(_ bytes: Int) -> String { (bytes < 0 ? "-" : "+") + mib(abs(bytes)) }
            return """
                flood: session cap \(capacity); \(sessions) new USSD sessions and \(sessions) new IVR calls
                flood: customer at the USSD password screen: \(customerKept ? "kept" : "LOST") (\(customerReply))
                flood: caller at an IVR confirmation: \(callerKept ? "kept" : "LOST") (\(callerReply))
                flood: live sessions \(liveAfterFlood.ussd) USSD and \(liveAfterFlood.ivr) IVR after the flood; \
                \(liveAfterExpiry.ussd) and \(liveAfterExpiry.ivr) once expired and swept
                flood: resident \(mib(residentBefore)) before, \(mib(residentPeak)) at the peak \
                (\(signed(residentPeak - residentBefore))), \(mib(residentAfter)) once expired \
                (\(signed(residentAfter - residentBefore)))
                """
        }
    }

    public func run() async throws -> Report {
        let store = MemoryServiceStore()
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(), Fixtures.subscriber("18611110001", language: .english)])
        let catalog = try prompts.map { try PromptCatalog.load(directory: $0) } ?? Fixtures.shippedPrompts()
        let clock = ManualTimeSource(Fixtures.midNovember)
        let engine = OperationEngine(
            store: store, hasher: Fixtures.hasher(), prompts: catalog, clock: clock,
            pool: BlockingWorkPool(threads: 2),
            logger: Logger(label: "flood", factory: { _ in SwiftLogNoOpLogHandler() }))
        let grammarSet = try GrammarSet(
            directory: grammars ?? Fixtures.repositoryRoot.appendingPathComponent("grammars").path, prompts: catalog)
        let limits = SessionLimits(capacity: capacity)
        let channels = GatewayChannels(engine: engine, grammars: grammarSet, sessions: limits)
        let client = InProcessClient(Gateway.router(channels, configuration: GatewayConfiguration()))

        func ussd(_ session: String, _ phone: String, _ text: String) async throws -> String {
            try await client.form(
                "/ussd/at", "sessionId=\(session)&serviceCode=*100%23&phoneNumber=\(phone)&text=\(text)")
        }
        func ivr(_ json: String) async throws -> String { try await client.json("/v1/ivr", json) }
        func number(_ i: Int) -> String { "139" + String(format: "%08d", i % 100_000_000) }

        // Warm up (allocator, caches) with a small flood that expires, so `before` is the steady state.
        for i in 0..<min(capacity, 500) {
            _ = try await ussd("warm-\(i)", number(i), "")
            _ = try await ivr(#"{"call":"warm-\#(i)","from":"\#(number(i))","start":true}"#)
        }
        clock.advance(by: 601)
        await channels.sweep()
        let before = residentBytes()

        _ = try await ussd("customer", "18612345678", "")
        _ = try await ussd("customer", "18612345678", "1*8")  // the PUK asks for the password
        _ = try await ivr(#"{"call":"caller","from":"18611110001","start":true}"#)
        _ = try await ivr(#"{"call":"caller","from":"18611110001","digits":"21258036#"}"#)  // the confirmation
        clock.advance(by: 61)
        var peak = residentBytes()
        for i in 0..<sessions {
            _ = try await ussd("flood-\(i)", number(i), "")
            _ = try await ivr(#"{"call":"flood-\#(i)","from":"\#(number(i))","start":true}"#)
            if i % 1_000 == 999 { peak = max(peak, residentBytes()) }
        }
        peak = max(peak, residentBytes())
        let liveAfterFlood = (await channels.ussd.sessions.count(), await channels.ivr.sessions.count())
        let customer = try await ussd("customer", "18612345678", "1*8*258036")
        let caller = try await ivr(#"{"call":"caller","from":"18611110001","digits":"1"}"#)
        clock.advance(by: 601)
        await channels.sweep()
        let liveAfterExpiry = (await channels.ussd.sessions.count(), await channels.ivr.sessions.count())
        return Report(
            capacity: capacity, sessions: sessions, customerKept: customer.contains("12345678"),
            customerReply: String(customer.prefix(40)), callerKept: caller.contains("was reported lost"),
            callerReply: String(caller.prefix(60)), liveAfterFlood: liveAfterFlood, liveAfterExpiry: liveAfterExpiry,
            residentBefore: before, residentPeak: peak, residentAfter: residentBytes())
    }
}

/// Sends requests through a router's responder, as the server would hand them over.
struct InProcessClient: Sendable {
    let responder: RouterResponder<BasicRequestContext>
    /// One connection for every request: a testing channel a request would leave its memory behind.
    let channel = NIOAsyncTestingChannel()

    init(_ router: Router<BasicRequestContext>) { responder = router.buildResponder() }

    func form(_ path: String, _ body: String) async throws -> String {
        try await send(path, "application/x-www-form-urlencoded", body)
    }

    func json(_ path: String, _ body: String) async throws -> String { try await send(path, "application/json", body) }

    private func send(_ path: String, _ type: String, _ body: String) async throws -> String {
        let bytes = Array(body.utf8)
        let request = Request(
            head: HTTPRequest(
                method: .post, scheme: "http", authority: "localhost", path: path,
                headerFields: [.contentType: type, .contentLength: String(bytes.count)]),
            body: RequestBody(buffer: ByteBuffer(bytes: bytes)))
        let context = BasicRequestContext(
            source: ApplicationRequestContextSource(
                channel: channel,
                logger: Logger(label: "flood", factory: { _ in SwiftLogNoOpLogHandler() })))
        let response = try await responder.respond(to: request, context: context)
        let collector = BodyCollector()
        try await response.body.write(collector)
        return String(decoding: collector.bytes, as: UTF8.self)
    }
}
