import Foundation
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareGrammar
import SelfCareHTTP
import SelfCareStore
import ServiceLifecycle

/// A session flood, scaled down: new USSD sessions and IVR calls, many times the session cap, poured over a
/// loopback connection through the HTTP server and adapters of a gateway in this process, while a customer stands
/// at the USSD password screen and a caller at an IVR confirmation; then the sessions expire and are swept. The
/// flood comes from one client address (`127.0.0.1`), so it holds at most that address's share of the cap (half
/// by default); the customer and the caller call from another (`127.0.0.2`). The
/// gateway runs on the demo data in a scratch database; time is a `ManualTimeSource` the flood moves, so a run takes
/// seconds and never depends on the wall clock.
///
/// ```swift
/// let flood = SessionFlood(
///     capacity: 2_000, sessions: 20_000, grammars: "grammars", prompts: "prompts", start: now, logger: logger)
/// print(try await flood.run())  // whether both customers came through, live sessions and resident memory
/// ```
public struct SessionFlood: Sendable {
    /// The session cap of the USSD and of the IVR store.
    public var capacity: Int
    /// New USSD sessions, and as many new IVR calls, in the flood.
    public var sessions: Int
    /// The grammar folder the gateway loads.
    public var grammars: String
    /// The prompt folder the gateway loads.
    public var prompts: String
    /// Where the flood's clock starts.
    public var start: Date
    /// Where the flood's gateway logs.
    public var logger: Logger

    /// A flood of `sessions` new USSD sessions and as many IVR calls over a cap of `capacity`.
    public init(
        capacity: Int = 2_000, sessions: Int = 20_000, grammars: String, prompts: String, start: Date, logger: Logger
    ) {
        self.capacity = capacity
        self.sessions = sessions
        self.grammars = grammars
        self.prompts = prompts
        self.start = start
        self.logger = logger
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
        try await withScratchDatabase { store in
            let clock = ManualTimeSource(start)
            let catalog = try PromptCatalog.load(directory: prompts)
            // A cheap hash under a fresh random pepper: the flood measures sessions, not the KDF.
            let hasher = PBKDF2PasswordHasher(pepper: Pepper(bytes: try LibCrypto.randomBytes(32)), iterations: 1_000)
            let engine = OperationEngine(
                store: store, hasher: hasher, prompts: catalog, clock: clock, pool: BlockingWorkPool(threads: 2),
                logger: logger)
            let importer = CSVImporter(engine: engine, hasher: hasher, pool: BlockingWorkPool(threads: 2))
            _ = try await DemoData.load(with: importer, now: clock.now(), calendar: engine.configuration.calendar)
            let grammarSet = try GrammarSet(directory: grammars, prompts: catalog)
            let channels = GatewayChannels(
                engine: engine, grammars: grammarSet, sessions: SessionLimits(capacity: capacity))
            var configuration = GatewayConfiguration()
            configuration.port = 0
            let (ports, bound) = AsyncStream.makeStream(of: Int.self)
            let app = Gateway.application(
                channels, configuration: configuration, logger: logger,
                onServerRunning: { channel in
                    bound.yield(channel.localAddress?.port ?? 0)
                    bound.finish()
                })
            let server = ServiceGroup(
                configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // A server that fails to start (no free port, no file descriptors) ends the wait for its port.
                    defer { bound.finish() }
                    try await server.run()
                }
                defer { group.cancelAll() }
                var found: Int?
                for await port in ports { found = port }
                guard let port = found, port > 0 else {
                    try await group.next()  // the server's own error, when it has one
                    throw LoopbackClient.Failure(description: "the flood's server stopped before it served")
                }
                let report = try await LoopbackClient.connect(port: port) { flood in
                    try await pour(into: &flood, port: port, channels: channels, clock: clock)
                }
                await server.triggerGracefulShutdown()
                return report
            }
        }
    }

    /// The flood itself, through `client`, with `clock` moved past the session expiry where it says so.
    private func pour(
        into client: inout LoopbackClient, port: Int, channels: GatewayChannels, clock: ManualTimeSource
    ) async throws -> Report {
        // The customers call from another address than the flood's, as they would in the field (a flooding
        // client holds only its own share of the cap), each time on a new connection: the flood outlasts the
        // server's idle timeout.
        func customers<T: Sendable>(_ body: (inout LoopbackClient) async throws -> T) async throws -> T {
            try await LoopbackClient.connect(port: port, from: "127.0.0.2", body)
        }
        func ussd(
            _ session: String, _ phone: String, _ text: String, through connection: inout LoopbackClient
        ) async throws -> String {
            try await connection.post(
                "/ussd/at", type: "application/x-www-form-urlencoded",
                body: "sessionId=\(session)&serviceCode=*100%23&phoneNumber=\(phone)&text=\(text)")
        }
        func ivr(_ json: String, through connection: inout LoopbackClient) async throws -> String {
            try await connection.post("/v1/ivr", type: "application/json", body: json)
        }
        func ussd(_ session: String, _ phone: String, _ text: String) async throws -> String {
            try await ussd(session, phone, text, through: &client)
        }
        func ivr(_ json: String) async throws -> String { try await ivr(json, through: &client) }
        func number(_ i: Int) -> String { "139" + String(format: "%08d", i % 100_000_000) }

        // Warm up (allocator, caches, the connection) with a small flood that expires, so `before` is the
        // steady state.
        for i in 0..<min(capacity, 500) {
            _ = try await ussd("warm-\(i)", number(i), "")
            _ = try await ivr(#"{"call":"warm-\#(i)","from":"\#(number(i))","start":true}"#)
        }
        clock.advance(by: 601)
        await channels.sweep()
        let before = residentBytes()

        // The demo's 18612345678 (password 258036, PUK 12345678) at the USSD password screen of the PUK query,
        // and its English-speaking 18611110001 (password 470159) at the IVR confirmation of a loss report.
        try await customers { customer in
            _ = try await ussd("customer", "18612345678", "", through: &customer)
            _ = try await ussd("customer", "18612345678", "1*8", through: &customer)
            _ = try await ivr(#"{"call":"caller","from":"18611110001","start":true}"#, through: &customer)
            _ = try await ivr(#"{"call":"caller","from":"18611110001","digits":"21470159#"}"#, through: &customer)
        }
        clock.advance(by: 61)
        var peak = residentBytes()
        for i in 0..<sessions {
            _ = try await ussd("flood-\(i)", number(i), "")
            _ = try await ivr(#"{"call":"flood-\#(i)","from":"\#(number(i))","start":true}"#)
            if i % 1_000 == 999 { peak = max(peak, residentBytes()) }
        }
        peak = max(peak, residentBytes())
        let liveAfterFlood = (await channels.ussd.sessions.count(), await channels.ivr.sessions.count())
        let (customer, caller) = try await customers { customer in
            (
                try await ussd("customer", "18612345678", "1*8*258036", through: &customer),
                try await ivr(#"{"call":"caller","from":"18611110001","digits":"1"}"#, through: &customer)
            )
        }
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
