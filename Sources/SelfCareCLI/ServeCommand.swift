import ArgumentParser
import Foundation
import Logging
import Metrics
import NIOCore
import SelfCareChannels
import SelfCareConsole
import SelfCareCore
import SelfCareCrypto
import SelfCareHTTP
import SelfCareStore
import Synchronization

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Run the HTTP gateway: Kannel sms-service, USSD aggregators, VoiceXML and JSON IVR, JSON messages, /metrics.",
        discussion: """
            --demo creates and fills the database on first run. SIGTERM or SIGINT stops accepting, finishes \
            the requests in flight and exits; SIGHUP reloads grammars and prompts (a broken set is refused, \
            and so is a set without the grammar of a channel served: SELFCARE_CHANNELS turns channels off). \
            Due pending changes are applied every minute. SELFCARE_ADMIN_TOKEN turns on GET /v1/records and \
            POST /v1/admin/reload. GET /healthz is liveness, GET /readyz readiness (the database can commit).

            Routes, timeouts and limits: docs/adapters.md. Threat model and defences: docs/security.md.

            Example: swift run selfcare serve --demo, then
              curl 'http://127.0.0.1:8080/sms/kannel?from=18612345678&to=10010&text=CXYE'
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    // Unconditional, so that `--port -1` reaches the range check instead of reading as a missing value.
    @Option(parsing: .unconditional, help: "The port to listen on (0: any free port; the one bound is printed).")
    var port = 8080

    @Option(help: "Where VoiceXML transfers callers; {queue} is the agent queue (agent, agent-vip).")
    var agentUri = "sip:{queue}@localhost"

    @Flag(help: "Create and fill the database with the demo data when it does not exist yet.")
    var demo = false

    @Flag(help: "The USSD aggregator sends only the current input, not every input so far joined with *.")
    var ussdCurrentInput = false

    @Option(help: "Seconds a kept-alive connection may wait for its next request.")
    var idleTimeout: Double = 30

    @Option(help: "Seconds a request head may take (from the connection's start, or a later request's first byte).")
    var headerTimeout: Double = 10

    @Option(help: "Seconds a request body may take after its head.")
    var bodyTimeout: Double = 20

    @Option(help: "Seconds a client may leave its answers unread (the connection takes no more bytes).")
    var sendTimeout: Double = 20

    @Option(
        help: """
            Connections served at once (default and most: the open-files limit, raised to its hard limit at \
            start, less a reserve); more are answered 503 and closed.
            """)
    var maxConnections: Int?

    @OptionGroup(title: "Feed inbox (docs/sync.md)") var sync: SyncOptions

    @OptionGroup(title: "Service orders to billing (docs/orders.md)") var orders: OrderDeliveryOptions

    @Option(help: "Seconds between two deliveries of due service orders (with --outbox or --webhook).")
    var deliveryInterval: Double = 10

    @OptionGroup(title: "SMS notices to customers (docs/notices.md)") var notices: NoticeOptions

    @Option(
        help: """
            The web console's accounts file (selfcare console add writes it): turns the console on at /console. \
            Default: SELFCARE_CONSOLE_ACCOUNTS; with --demo and neither, demo accounts are made and printed.
            """)
    var consoleAccounts: String?

    @Option(
        help: "The console's templates and static files (default: SELFCARE_CONSOLE, ./console, the installation's).")
    var console: String?

    @Flag(
        help: "Mark the console's session cookie Secure always (it is when the proxy sends X-Forwarded-Proto: https).")
    var consoleSecureCookies = false

    @Option(
        help: """
            The address of the proxy in front of the console (nginx): its requests are throttled at sign-in under \
            the last address of their X-Forwarded-For, not under the proxy's.
            """)
    var consoleTrustedProxy: String?

    @Option(help: "Seconds between two drains of the feed inbox (with --inbox or SELFCARE_INBOX).")
    var syncInterval: Double = 60

    @Option(help: "Live USSD sessions, and live IVR calls, at most.")
    var sessionCap = 200_000

    @Option(help: "Live sessions of one caller at most; a new one replaces that caller's least recently used.")
    var sessionsPerCaller = 8

    @Option(help: "Live sessions from one client address at most (default: half the session cap).")
    var sessionsPerSource: Int?

    @Option(
        help: """
            Seconds between two signed checkpoints of the record chain's head (records checkpoint), each logged; \
            0: none. Every node may write them: a node finding no new record since the last one writes none.
            """)
    var checkpointInterval: Double = 300

    /// Where live USSD sessions and IVR calls are kept.
    enum SessionPlace: String, ExpressibleByArgument, CaseIterable {
        case memory, database
    }

    @Option(
        help: """
            Where live USSD sessions and IVR calls are kept: memory (this process; a session's steps must all reach \
            this node) or database (PostgreSQL only: any node takes any step, docs/deployment.md). Default: \
            database on PostgreSQL, memory on SQLite.
            """)
    var sessionStore: SessionPlace?

    func run() async throws {
        // SIGHUP reloads; until the reload service listens, one must not end the process.
        signal(SIGHUP, SIG_IGN)
        try await reportingFailures {
            guard (0...65_535).contains(port) else {
                throw CommandFailure(
                    "serve: --port \(port) is not a TCP port; use 0 to 65535 (0 takes any free port)", code: 64)
            }
            for (name, value) in [
                ("--idle-timeout", idleTimeout), ("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout),
                ("--send-timeout", sendTimeout),
            ] where !(value >= 0.1 && value <= 3600) {
                throw CommandFailure("serve: \(name) \(value) is out of range; use 0.1 to 3600 seconds", code: 64)
            }
            for (name, value) in [
                ("--max-connections", maxConnections ?? 1), ("--session-cap", sessionCap),
                ("--sessions-per-caller", sessionsPerCaller), ("--sessions-per-source", sessionsPerSource ?? 1),
            ] where !(1...10_000_000).contains(value) {
                throw CommandFailure("serve: \(name) \(value) is out of range; use 1 to 10000000", code: 64)
            }
            let served = try Environment.channels()
            // The prompts as `check` wants them, before anything else: a server never starts on a set that
            // would answer customers with raw keys or in the wrong language.
            do {
                _ = try PromptChecker().load(directory: try global.promptsFolder())
            } catch let errors as PromptErrors {
                throw CommandFailure(
                    "serve: the prompts are not fit to serve:\n\(errors)\nserve: refusing to start; fix them, or pass --prompts DIR"
                )
            } catch let error as CommandFailure {
                throw error
            } catch {
                throw CommandFailure(
                    "\(try global.promptsFolder()): cannot read prompts (\(error)); pass --prompts DIR")
            }
            if demo, try await Runtime.isNewDatabase(global) {
                try Runtime.checkDatabasePath(global.database, access: .create)
                try Pepper.createIfMissing(at: global.pepperPath)
                let runtime = try Runtime(global, access: .create)
                let results = try await DemoData.load(
                    with: try runtime.importer(withHasher: true), now: runtime.clock.now(),
                    calendar: runtime.configuration.calendar)
                for (kind, summary) in results { printError("demo \(kind.rawValue): \(summary.description)") }
            }
            if sessionStore == .database && !global.isPostgres {
                throw CommandFailure(
                    "serve: --session-store database needs a PostgreSQL database (--database postgres://…)", code: 64)
            }
            let runtime = try Runtime(global)
            let channels = try runtime.gatewayChannels(
                served: served,
                sessions: SessionLimits(
                    capacity: sessionCap, perCaller: sessionsPerCaller, perSource: sessionsPerSource),
                shared: (sessionStore ?? (global.isPostgres ? .database : .memory)) == .database)
            let (grammarsDirectory, promptsDirectory) = (try global.grammarsFolder(), try global.promptsFolder())
            var configuration = GatewayConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.ussdCumulativeText = !ussdCurrentInput
            configuration.agentURI = agentUri
            configuration.channels = served
            configuration.idleTimeout = idleTimeout
            configuration.headerTimeout = headerTimeout
            configuration.bodyTimeout = bodyTimeout
            configuration.sendTimeout = sendTimeout
            configuration.maxConnections = maxConnections
            // Idle clients cannot use up the descriptors: the soft limit goes up to the hard one, and the
            // connections served stay below it with room for the database's files (`connectionCap`).
            let openFiles = OpenFilesLimit.raise()
            configuration.openFiles = openFiles
            // The program, not a library, bootstraps swift-metrics (once: `serve` runs once a process), so that every
            // library's metrics land in the registry /metrics shows.
            let metrics = GatewayMetrics()
            MetricsSystem.bootstrap(metrics.factory)
            configuration.metrics = metrics
            if sync.inboxFolder != nil {
                guard syncInterval >= 1 && syncInterval <= 86_400 else {
                    throw CommandFailure(
                        "serve: --sync-interval \(syncInterval) is out of range; use 1 to 86400 seconds", code: 64)
                }
                let inbox = InboxSync(
                    importer: try runtime.importer(withHasher: true),
                    configuration: try sync.configuration(command: "serve"))
                configuration.periodicJobs.append(
                    PeriodicJob(name: "sync", interval: syncInterval) { try await SyncWatch.drain(inbox) })
                printError(
                    "selfcare: draining the feed inbox \(visible(inbox.configuration.inbox)) every \(Int(syncInterval)) s"
                )
            }
            if let deliver = try orders.job(engine: runtime.quietEngine(), command: "serve") {
                guard deliveryInterval >= 1 && deliveryInterval <= 3600 else {
                    throw CommandFailure(
                        "serve: --delivery-interval \(deliveryInterval) is out of range; use 1 to 3600 seconds",
                        code: 64)
                }
                let engine = channels.engine
                configuration.periodicJobs.append(
                    PeriodicJob(name: "order delivery", interval: deliveryInterval) {
                        let said = try await deliver()
                        for line in said.lines where !line.hasPrefix("webhook: 0 delivered, 0 failed") {
                            OrderWatch.logger.notice("\(line)")
                        }
                        try await OrderWatch.measure(engine, policy: try orders.policy())
                    })
                printError(
                    "selfcare: delivering service orders "
                        + (orders.outbox.map { "as files in \(visible($0))" }
                            ?? "to \(visible(Self.withoutCredentials(orders.webhook ?? "")))")
                        + " every \(Int(deliveryInterval)) s")
            }
            if let sender = try notices.sender(engine: runtime.quietEngine(), command: "serve") {
                configuration.periodicJobs.append(
                    PeriodicJob(name: "notices", interval: deliveryInterval) {
                        let pass = try await sender.drain()
                        if pass != NoticeSender.Pass() {
                            OrderWatch.logger.notice(
                                "notices: \(pass.sent) sent, \(pass.refused) refused, \(pass.unknown) unknown")
                        }
                    })
                printError(
                    "selfcare: sending SMS notices through \(visible(sender.sendsms.host ?? "")) (quiet hours \(notices.quietHours))"
                )
            }
            guard checkpointInterval == 0 || (checkpointInterval >= 1 && checkpointInterval <= 86_400) else {
                throw CommandFailure(
                    "serve: --checkpoint-interval \(checkpointInterval) is out of range; use 1 to 86400 seconds, or 0",
                    code: 64)
            }
            if checkpointInterval > 0 {
                if let pepper = try? runtime.pepper() {
                    let signer = RecordCheckpointSigner(pepper: pepper)
                    let (store, clock) = (runtime.store, runtime.clock)
                    let logger = Logger(label: "selfcare.records")
                    // The highest checkpoint this node has seen: fewer in the database means some were deleted.
                    let seen = Mutex<Int64>(0)
                    configuration.periodicJobs.append(
                        PeriodicJob(name: "checkpoint", interval: checkpointInterval) {
                            do {
                                for checkpoint in try await signer.writeCheckpoints(
                                    to: store, now: clock.now(), seen: seen.withLock { $0 })
                                {
                                    seen.withLock { $0 = max($0, checkpoint.id) }
                                    logger.notice("\(checkpoint.line)")
                                }
                            } catch let refusal as RecordCheckpointSigner.Refusal {
                                // Signing now would vouch for a tampered history: never, and loudly, every time.
                                logger.critical(
                                    "records: no checkpoint signed: \(refusal); run `selfcare records verify`")
                            }
                        })
                } else {
                    printError(
                        "selfcare: no pepper at \(visible(global.pepperPath)): no signed checkpoints of the records")
                }
            }
            let token = ProcessInfo.processInfo.environment["SELFCARE_ADMIN_TOKEN"] ?? ""
            configuration.adminToken = token.isEmpty ? nil : token
            configuration.reload = {
                // Prompts first checked with the grammars, then both swapped: never half a reload.
                let prompts = try PromptChecker().load(directory: promptsDirectory)
                try channels.sms.grammars.reload(directory: grammarsDirectory, prompts: prompts)
                channels.engine.replacePrompts(prompts)
            }
            if let console = try await consoleRoutes(
                runtime: runtime, grammars: grammarsDirectory, prompts: promptsDirectory)
            {
                configuration.extraRoutes.append(console)
            }
            printError("selfcare: database \(global.databaseShown)")
            let off = GrammarSet.servedChannels.subtracting(served).map(\.rawValue).sorted()
            if !off.isEmpty { printError("selfcare: channels turned off: \(off.joined(separator: ", "))") }
            printError(
                "selfcare: at most \(configuration.connectionCap(openFiles: openFiles)) connections "
                    + "(open files limit \(openFiles))")
            do {
                try await Gateway.run(channels, configuration: configuration, logger: Logger(label: "selfcare.gateway"))
            } catch let error as IOError {
                throw listenFailure(error) ?? error
            } catch let error where error is SocketAddressError || error is SocketAddressError.UnknownHost {
                throw CommandFailure(
                    "serve: cannot listen on `\(host)`: no such host name or address; --host takes an address of this "
                        + "machine, such as 127.0.0.1, 0.0.0.0 or ::1, without a port")
            }
        }
    }

    /// The web console when it is configured (an accounts file) or the demo runs; nil otherwise. Demo accounts
    /// are made fresh at every start and printed.
    private func consoleRoutes(runtime: Runtime, grammars: String, prompts: String) async throws -> Console? {
        let path = consoleAccounts ?? Environment.values["SELFCARE_CONSOLE_ACCOUNTS"].flatMap { $0.isEmpty ? nil : $0 }
        let accounts: ConsoleAccounts
        if let path {
            accounts = try loadAccounts(path)
            guard !accounts.accounts.isEmpty else {
                throw CommandFailure("serve: \(path) holds no console account; add one with `selfcare console add`")
            }
        } else if demo {
            let (made, passwords) = try ConsoleAccounts.demo()
            accounts = made
            printError("selfcare: console at /console with demo accounts (demo only, new passwords at every start):")
            for (account, password) in passwords {
                printError("selfcare:   \(account.name) / \(password) (\(account.role.rawValue))")
            }
        } else {
            return nil
        }
        let folder = try DataFolder.console.locate(explicit: console)
        var configuration = ConsoleConfiguration(
            accounts: accounts, assetsDirectory: folder, grammarsDirectory: grammars, promptsDirectory: prompts)
        configuration.secureCookies = consoleSecureCookies
        configuration.trustedProxy = consoleTrustedProxy
        configuration.demo = path == nil
        configuration.espeak = ConsoleConfiguration.findEspeak()
        // Drafts run in children of this very executable.
        configuration.workbenchExecutable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executableURL?.path
        if demo {
            let month = runtime.configuration.calendar.month(of: runtime.clock.now())
            configuration.simulatorNumbers = DemoData.guide(thisMonth: month).map {
                SimulatorNumber(number: $0.number, label: $0.shows)
            }
        }
        do {
            let routes = try await Console(configuration: configuration, logger: Logger(label: "selfcare.console"))
            if path != nil { printError("selfcare: console at /console (\(accounts.accounts.count) accounts)") }
            if configuration.espeak == nil {
                printError("selfcare: console: no espeak-ng, IVR prompts shown as text only")
            }
            return routes
        } catch {
            throw CommandFailure("serve: the console's files in \(visible(folder)) cannot be read: \(error)")
        }
    }

    /// What to say when the server cannot listen on `--host` and `--port`, for the usual reasons.
    private func listenFailure(_ error: IOError) -> CommandFailure? {
        switch error.errnoCode {
        case EADDRINUSE:
            CommandFailure(
                "serve: port \(port) on \(host) is already in use (another selfcare serve?); stop that program, "
                    + "or choose another port with --port (0 takes any free port)")
        case EACCES:
            CommandFailure(
                "serve: not allowed to listen on port \(port) (ports below 1024 need privileges); choose a port "
                    + "from 1024 with --port")
        case EADDRNOTAVAIL:
            CommandFailure("serve: cannot listen on \(host): no such address on this machine; check --host")
        default:
            nil
        }
    }

    /// `url` with any user and password taken out, for the log.
    static func withoutCredentials(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.user != nil || components.password != nil
        else { return url }
        components.user = nil
        components.password = nil
        return components.string ?? "the configured URL"
    }
}
