import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareHTTP
import Synchronization

/// The web console at `/console`: the phone simulator, the subscriber and records views, the grammar workbench
/// and health, behind accounts with roles.
///
/// Every page is rendered on the server (swift-mustache); the pages' scripts call the console's own JSON routes
/// (`/console/api/…`) with the session cookie and the session's CSRF token. The server refuses whatever a role may
/// not do, whatever the page showed.
public struct Console: GatewayRoutes {
    public let configuration: ConsoleConfiguration
    let sessions: ConsoleSessions
    let throttle: LoginThrottle
    let pages: ConsolePages
    /// Chain verification and speech: one thread, never the customers' hashing pool.
    let pool: BlockingWorkPool
    /// Sign-in checks: a thread of their own, so a long verification never holds a sign-in up.
    let signIns: BlockingWorkPool
    /// One draft tried at a time: each runs a scratch database with the demo data.
    let trials = TrialGate()
    let workbench: GrammarWorkbench
    let speech: Speech?
    let verification = ChainStatusBox()
    /// The key the sign-in form's tokens are signed with, new at every start.
    let loginKey: [UInt8]
    /// The numbers each console session's simulator has used, each with the access record written for it.
    let simulated = SimulatedNumbers()
    let logger: Logger

    /// The cookie that holds the session's token.
    static let sessionCookie = "selfcare_console"
    /// The cookie of the sign-in form's own CSRF token (before any session).
    static let loginCookie = "selfcare_console_login"
    /// The cookie of the language chosen.
    static let languageCookie = "selfcare_console_lang"

    /// A console over `configuration`; throws when its templates cannot be read.
    public init(configuration: ConsoleConfiguration, logger: Logger) async throws {
        self.configuration = configuration
        self.sessions = ConsoleSessions()
        self.throttle = LoginThrottle()
        self.pages = try await ConsolePages(
            assetsDirectory: configuration.assetsDirectory, promptsDirectory: configuration.promptsDirectory)
        self.pool = BlockingWorkPool(threads: 1, niceness: 5, logger: logger)
        self.signIns = BlockingWorkPool(threads: 1, niceness: 5, logger: logger)
        self.workbench = GrammarWorkbench(
            grammarsDirectory: configuration.grammarsDirectory, promptsDirectory: configuration.promptsDirectory,
            logger: logger)
        if let program = configuration.espeak {
            self.speech = Speech(program: program, cache: try configuration.speechCache ?? Speech.privateFolder())
        } else {
            self.speech = nil
        }
        self.logger = logger
        self.loginKey = try LibCrypto.randomBytes(32)
    }

    /// A sign-in form's token: a random part and its HMAC under `loginKey`, so only tokens this server issued pass.
    func loginToken() throws -> String {
        let random = (try LibCrypto.randomBytes(16)).hexString
        return random + LibCrypto.hmacSHA256(key: loginKey, data: Array(random.utf8)).hexString
    }

    /// Whether `token` is one `loginToken` made.
    func isLoginToken(_ token: String) -> Bool {
        guard token.count == 96 else { return false }
        let random = String(token.prefix(32))
        let mac = LibCrypto.hmacSHA256(key: loginKey, data: Array(random.utf8)).hexString
        return Secret(String(token.dropFirst(32))).matches(Secret(mac))
    }

    public func register(
        on router: Router<BasicRequestContext>, channels: GatewayChannels, configuration gateway: GatewayConfiguration
    ) {
        let console = router.group("console").add(middleware: ConsoleHeadersMiddleware())
        let routes = ConsoleRoutes(console: self, channels: channels, gateway: gateway)
        routes.add(to: console)
    }
}

/// The numbers a console session's simulator has written an access record for, with the reason given.
final class SimulatedNumbers: Sendable {
    private let seen = Mutex<Set<String>>([])

    /// Whether `session` used `number` for `reason` before; marks it used.
    func firstUse(session: String, number: String, reason: String) -> Bool {
        seen.withLock { seen in
            if seen.count > 100_000 { seen.removeAll() }
            return seen.insert(session + "|" + number + "|" + reason).inserted
        }
    }

    /// Takes back a use whose access record could not be written.
    func forget(session: String, number: String, reason: String) {
        _ = seen.withLock { $0.remove(session + "|" + number + "|" + reason) }
    }
}

/// Lets one draft be tried at a time; another one asked meanwhile is refused rather than queued.
public final class TrialGate: Sendable {
    private let busy = Mutex(false)

    public init() {}

    /// Takes the gate; false when a try is running.
    public func enter() -> Bool {
        busy.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    /// Gives the gate back.
    public func leave() { busy.withLock { $0 = false } }
}

/// Where the last verify status is kept.
final class ChainStatusBox: Sendable {
    private let status = Mutex<ChainStatus?>(nil)
    func withLock<T>(_ body: (inout ChainStatus?) -> T) -> T { status.withLock { body(&$0) } }
}

/// The verify status of the record chain as last checked from the console.
struct ChainStatus: Sendable {
    var checked: Int
    var broken: Int
    var firstBreak: String?
    var at: Date
    var by: String
}

/// Headers of every console answer: no caching, no framing, no sniffing, no referrer to other sites (with
/// `no-referrer`, browsers send `Origin: null` on the console's own forms), and a content security
/// policy that allows the console's own scripts, styles and audio only.
struct ConsoleHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
            + "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
