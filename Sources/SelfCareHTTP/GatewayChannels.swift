import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Prometheus
import SelfCareChannels
import SelfCareCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The channels the HTTP adapters drive, over the one engine they share.
public struct GatewayChannels: Sendable {
    public let sms: SMSChannel
    public let ussd: USSDChannel
    public let ivr: IVRChannel
    /// The engine behind the three channels: what the operators' routes, health and the tick go through.
    public let engine: OperationEngine

    /// The adapters' per-session caches, swept with the sessions.
    public let caches = SessionCaches()

    /// Where the USSD aggregator adapter keeps the sessions it saw lately, when the live sessions are shared by
    /// several nodes (nil: in memory, beside them).
    public var recentUSSD: (any SessionStore<RecentUSSD>)?

    /// The three channels must run on one engine (one store, one clock, one set of prompts).
    public init(sms: SMSChannel, ussd: USSDChannel, ivr: IVRChannel) {
        precondition(
            sms.engine === ussd.engine && sms.engine === ivr.engine, "the gateway's channels share one engine")
        self.sms = sms
        self.ussd = ussd
        self.ivr = ivr
        self.engine = sms.engine
    }

    /// The engine's clock, which sessions and adapters' caches expire on.
    public var clock: any TimeSource { engine.clock }

    /// Frees the sessions idle past their timeout, and the adapters' cached entries past theirs.
    public func sweep() async {
        let now = clock.now()
        await ussd.sessions.sweep(now: now)
        await ivr.sessions.sweep(now: now)
        await caches.sweep(now: now)
    }
}

extension GatewayChannels {
    /// Seconds a USSD session may stay idle.
    public static let ussdIdleTimeout: TimeInterval = 120
    /// Seconds an IVR call may stay idle.
    public static let ivrIdleTimeout: TimeInterval = 600

    /// The three channels over one engine and one set of grammars, each session store bounded by `sessions`:
    /// USSD sessions idle out after 120 seconds, IVR calls after 600. The sessions are kept in this process's
    /// memory unless `ussdSessions` and `ivrSessions` give stores (a database the nodes share).
    public init(
        engine: OperationEngine, grammars: GrammarSet, sms: SMSConfiguration = SMSConfiguration(),
        sessions: SessionLimits, ussdSessions: (any SessionStore<USSDSession>)? = nil,
        ivrSessions: (any SessionStore<IVRSession>)? = nil
    ) {
        self.init(
            sms: SMSChannel(engine: engine, grammars: grammars, configuration: sms),
            ussd: USSDChannel(
                engine: engine, grammars: grammars,
                sessions: ussdSessions
                    ?? MemorySessionStore<USSDSession>(idleTimeout: Self.ussdIdleTimeout, limits: sessions)),
            ivr: IVRChannel(
                engine: engine, grammars: grammars,
                sessions: ivrSessions
                    ?? MemorySessionStore<IVRSession>(idleTimeout: Self.ivrIdleTimeout, limits: sessions)))
    }
}

/// What adapters keep per session beside the channels' session stores (the inputs of a USSD session, the last
/// answer of each call): each registers how to sweep it, and the gateway sweeps them with the sessions.
public final class SessionCaches: Sendable {
    private let sweeps = Mutex<[@Sendable (Date) async -> Void]>([])

    public init() {}

    /// Adds a cache's sweep.
    public func register(_ sweep: @escaping @Sendable (Date) async -> Void) {
        sweeps.withLock { $0.append(sweep) }
    }

    func sweep(now: Date) async {
        for sweep in sweeps.withLock({ $0 }) { await sweep(now) }
    }
}
