import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareHTTP

/// A request of a signed-in account.
struct Visit: Sendable {
    let session: ConsoleSession
    let token: String
    let language: Language
    /// The client's address, for the sign-in throttle and the records' sessions.
    let address: String
    /// The page's link in the other language: this path and query, `lang` changed.
    let otherLanguageLink: String
}

/// The console's routes over one gateway's channels.
struct ConsoleRoutes: Sendable {
    let console: Console
    let channels: GatewayChannels
    let gateway: GatewayConfiguration

    var engine: OperationEngine { channels.engine }
    var pages: ConsolePages { console.pages }

    /// Bodies of forms and script requests: at most this many bytes (a grammar draft is the largest).
    static let bodyLimit = 512 * 1024

    func add(to router: RouterGroup<BasicRequestContext>) {
        router.get("") { request, _ in
            guard let visit = visit(request) else { return redirect("/console/login") }
            return redirect(Self.home(visit.session.role))
        }
        router.get("static/console.css") { _, _ in try pages.asset("console.css", type: "text/css; charset=utf-8") }
        router.get("static/console.js") { _, _ in
            try pages.asset("console.js", type: "text/javascript; charset=utf-8")
        }
        addSignIn(to: router)
        addSimulator(to: router)
        addSubscriber(to: router)
        addRecords(to: router)
        addWorkbench(to: router)
        router.get("health") { request, _ in
            try await page(request, roles: ConsoleRole.allCases) { visit in
                pages.render("health", visit, console: console, title: "health", [:])
            }
        }
        router.get("admin") { request, _ in
            try await page(request, roles: [.admin]) { visit in adminPage(visit, notice: nil) }
        }
        router.post("admin/end-sessions") { request, _ in
            try await form(request, roles: [.admin]) { visit, fields in
                let account = fields["account"] ?? ""
                guard console.configuration.accounts.accounts[account] != nil else {
                    return adminPage(visit, notice: pages.text("admin_no_account", visit.language), status: .badRequest)
                }
                console.sessions.close(account: account)
                console.logger.notice(
                    "console: sessions ended", metadata: ["account": "\(account)", "by": "\(visit.session.account)"])
                return visit.session.account == account
                    ? redirect("/console/login") : adminPage(visit, notice: pages.text("admin_ended", visit.language))
            }
        }
    }

    /// The first page of `role`.
    static func home(_ role: ConsoleRole) -> String {
        switch role {
        case .operator_, .admin: "/console/simulator"
        case .auditor: "/console/records"
        }
    }

    // MARK: - Sessions and sign-in

    /// The signed-in session of `request`, nil without one.
    func visit(_ request: Request) -> Visit? {
        guard let token = request.cookies[Console.sessionCookie]?.value, token.count == 64,
            let session = console.sessions.session(token: token, now: engine.now())
        else { return nil }
        let language = language(request)
        return Visit(
            session: session, token: token, language: language, address: address(request),
            otherLanguageLink: Self.link(request, language: language == .chinese ? .english : .chinese))
    }

    /// `request`'s path and query with `lang` set to `language`.
    static func link(_ request: Request, language: Language) -> String {
        var fields = decodeFormPairs(request.uri.query ?? "").filter { $0.0 != "lang" }
        fields.append(("lang", language.rawValue))
        return request.uri.path + "?" + URLForm.encode(fields)
    }

    /// The client's address: the peer's, or behind the trusted proxy the last one its `X-Forwarded-For` names.
    func address(_ request: Request) -> String {
        ConsoleClient.address(
            peer: RequestSource.address ?? "", forwardedFor: request.headers[HTTPField.Name("X-Forwarded-For")!],
            trustedProxy: console.configuration.trustedProxy)
    }

    /// An account name as the log may show it: a valid name, or a placeholder (never raw input with line breaks).
    static func loggable(_ name: String) -> String { ConsoleAccount.isName(name) ? name : "(not an account name)" }

    /// The language of the console's text: `?lang=`, then the cookie, then `Accept-Language`; Chinese by default.
    func language(_ request: Request) -> Language {
        let chosen = Self.queryFields(request)["lang"] ?? request.cookies[Console.languageCookie]?.value
        if let chosen, let language = Language.supported.first(where: { $0.rawValue == chosen }) { return language }
        let accept = (request.headers[.acceptLanguage] ?? "").lowercased()
        return accept.hasPrefix("en") ? Language(rawValue: "en") : Language(rawValue: "zh-CN")
    }

    /// Whether answers to `request` go over TLS (the proxy in front says so), so cookies must be `Secure`.
    func secure(_ request: Request) -> Bool {
        // The first value is the scheme the client used, as the proxy nearest to it saw it.
        console.configuration.secureCookies
            || (request.headers[HTTPField.Name("X-Forwarded-Proto")!] ?? "").split(separator: ",").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased() == "https"
            } == true
    }

    func cookie(_ name: String, _ value: String, request: Request, maxAge: Int? = nil) -> Cookie {
        Cookie(
            name: name, value: value, maxAge: maxAge, path: "/console", secure: secure(request), httpOnly: true,
            sameSite: .strict)
    }

    /// A page only `roles` may see: without a session, the sign-in page; with another role, 403.
    func page(
        _ request: Request, roles: [ConsoleRole], _ body: (Visit) async throws -> Response
    ) async throws -> Response {
        guard let visit = visit(request) else {
            let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return redirect("/console/login?next=" + URLForm.escape(next))
        }
        guard roles.contains(visit.session.role) else { return forbidden(visit) }
        var response = try await body(visit)
        if Self.queryFields(request)["lang"] != nil {
            response.setCookie(
                cookie(Console.languageCookie, visit.language.rawValue, request: request, maxAge: 31_536_000))
        }
        return response
    }

    /// The 403 page: the server refuses, whatever the page offered.
    func forbidden(_ visit: Visit) -> Response {
        console.logger.warning(
            "console: refused another role's page",
            metadata: ["account": "\(visit.session.account)", "role": "\(visit.session.role.rawValue)"])
        return pages.render(
            "error", visit, console: console, title: "forbidden",
            ["message": pages.text("forbidden", visit.language)], status: .forbidden)
    }

    /// Whether a state-changing request comes from the console's own pages: no other site's `Origin` and no
    /// cross-site fetch (`Sec-Fetch-Site`). The CSRF token is checked as well; this refuses earlier and louder.
    func sameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], !["same-origin", "none"].contains(site) {
            return false
        }
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        return origin == "http://" + host || origin == "https://" + host
    }

    /// A form post only `roles` may make, with the session's CSRF token in its `csrf` field.
    func form(
        _ request: Request, roles: [ConsoleRole], _ body: (Visit, [String: String]) async throws -> Response
    ) async throws -> Response {
        guard let visit = visit(request) else { return plain(.unauthorized, "sign in first\n") }
        guard roles.contains(visit.session.role) else { return forbidden(visit) }
        var request = request
        let fields = try await formFields(&request)
        guard sameOrigin(request) else { return csrfRefusal(visit, why: "from another origin") }
        guard let token = fields["csrf"], Secret(token).matches(Secret(visit.session.csrf)) else {
            return csrfRefusal(visit, why: "without its CSRF token")
        }
        return try await body(visit, fields)
    }

    func csrfRefusal(_ visit: Visit, why: String) -> Response {
        console.logger.warning(
            "console: a form \(why) refused",
            metadata: ["account": "\(visit.session.account)", "role": "\(visit.session.role.rawValue)"])
        return pages.render(
            "error", visit, console: console, title: "forbidden",
            ["message": pages.text("csrf", visit.language)], status: .forbidden)
    }

    /// A script request only `roles` may make: JSON, with the session's CSRF token in `X-CSRF-Token`.
    func api<Body: Decodable>(
        _ request: Request, roles: [ConsoleRole], _ type: Body.Type, _ body: (Visit, Body) async throws -> Response
    ) async throws -> Response {
        guard let visit = visit(request) else { return problem(.unauthorized, "sign in first") }
        guard roles.contains(visit.session.role) else {
            console.logger.warning(
                "console: refused another role's request",
                metadata: ["account": "\(visit.session.account)", "role": "\(visit.session.role.rawValue)"])
            return problem(.forbidden, "your role may not do this")
        }
        let token = request.headers[HTTPField.Name("X-CSRF-Token")!]
        guard sameOrigin(request), let token, Secret(token).matches(Secret(visit.session.csrf)) else {
            console.logger.warning(
                "console: a script request \(sameOrigin(request) ? "without its CSRF token" : "from another origin") refused",
                metadata: ["account": "\(visit.session.account)", "role": "\(visit.session.role.rawValue)"])
            return problem(.forbidden, "the request's security token is missing or wrong")
        }
        guard (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/json") else {
            return problem(.unsupportedMediaType, "send application/json")
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: Self.bodyLimit)
        } catch {
            return problem(.contentTooLarge, "the body is over \(Self.bodyLimit) bytes")
        }
        guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView)) else {
            return problem(.badRequest, "the body is not the JSON object expected")
        }
        return try await body(visit, decoded)
    }

    func formFields(_ request: inout Request) async throws -> [String: String] {
        guard (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded")
        else { return [:] }
        let buffer = (try? await request.collectBody(upTo: Self.bodyLimit)) ?? ByteBuffer()
        return Self.decodeForm(String(buffer: buffer))
    }

    /// The fields of the request's query, decoded as a browser's form sends them (`+` for a space).
    static func queryFields(_ request: Request) -> [String: String] { decodeForm(request.uri.query ?? "") }

    /// The fields of an `application/x-www-form-urlencoded` body; a repeated name keeps its first value.
    static func decodeForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for (name, value) in decodeFormPairs(text) where fields[name] == nil { fields[name] = value }
        return fields
    }

    /// The name and value pairs of a form, in order.
    static func decodeFormPairs(_ text: String) -> [(String, String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    func addSignIn(to router: RouterGroup<BasicRequestContext>) {
        router.get("login") { request, _ in
            if let visit = visit(request) { return redirect(Self.home(visit.session.role)) }
            let token = try console.loginToken()
            var response = loginPage(request, token: token, message: nil, status: .ok)
            response.setCookie(cookie(Console.loginCookie, token, request: request, maxAge: 3600))
            if let chosen = Self.queryFields(request)["lang"],
                Language.supported.contains(where: { $0.rawValue == chosen })
            {
                response.setCookie(cookie(Console.languageCookie, chosen, request: request, maxAge: 31_536_000))
            }
            return response
        }
        router.post("login") { request, _ in
            var request = request
            let fields = try await formFields(&request)
            let address = address(request)
            let now = engine.now()
            guard sameOrigin(request), let token = fields["csrf"],
                let expected = request.cookies[Console.loginCookie]?.value,
                console.isLoginToken(expected), Secret(token).matches(Secret(expected))
            else {
                console.logger.warning("console: a sign-in without its form's token refused")
                return loginPage(
                    request, token: nil, message: pages.text("csrf", language(request)), status: .forbidden)
            }
            let name = (fields["account"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            let password = Secret(fields["password"] ?? "")
            if let wait = console.throttle.wait(account: name, address: address, now: now) {
                console.logger.warning("console: sign-in throttled", metadata: ["account": "\(Self.loggable(name))"])
                var response = loginPage(
                    request, token: expected,
                    message: pages.text("login_throttled", language(request))
                        + " (\(Int(wait.rounded(.up)) / 60 + 1) min)",
                    status: .tooManyRequests)
                response.headers[.retryAfter] = String(Int(wait.rounded(.up)))
                return response
            }
            let account = console.configuration.accounts.accounts[name]
            // An unknown name costs a check as long as a real one, so timing tells no names.
            let stored = account?.passwordHash ?? Self.decoyHash
            let matches =
                (try? await console.signIns.run {
                    try ConsoleAccounts.hasher().verify(password, against: stored).matches
                }) ?? false
            guard let account, matches else {
                console.throttle.fail(account: name, address: address, now: now)
                console.logger.warning("console: sign-in refused", metadata: ["account": "\(Self.loggable(name))"])
                return loginPage(
                    request, token: expected, message: pages.text("login_failed", language(request)),
                    status: .unauthorized)
            }
            console.throttle.succeed(account: name, address: address)
            // A fresh token at every sign-in: a token planted before it is worth nothing after.
            if let old = request.cookies[Console.sessionCookie]?.value { console.sessions.close(token: old) }
            let (sessionToken, session) = try console.sessions.open(account: account.name, role: account.role, now: now)
            console.logger.notice(
                "console: signed in", metadata: ["account": "\(account.name)", "role": "\(account.role.rawValue)"])
            let next = fields["next"].flatMap { Self.safeNext($0) } ?? Self.home(session.role)
            var response = redirect(next)
            response.setCookie(cookie(Console.sessionCookie, sessionToken, request: request))
            response.setCookie(cookie(Console.loginCookie, "", request: request, maxAge: 0))
            return response
        }
        router.post("logout") { request, _ in
            try await form(request, roles: ConsoleRole.allCases) { visit, _ in
                console.sessions.close(token: visit.token)
                var response = redirect("/console/login")
                response.setCookie(cookie(Console.sessionCookie, "", request: request, maxAge: 0))
                return response
            }
        }
    }

    /// A hash no password matches, checked for unknown names.
    static let decoyHash: String =
        (try? ConsoleAccounts.hasher().hash(Secret(((try? LibCrypto.randomBytes(16)) ?? []).hexString)))
        ?? ""

    /// `next` when it is a console path of this server (never another site's).
    static func safeNext(_ next: String) -> String? {
        guard next.hasPrefix("/console"), !next.hasPrefix("//"), !next.contains("\\"),
            !next.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return nil }
        return next
    }

    func loginPage(_ request: Request, token: String?, message: String?, status: HTTPResponse.Status) -> Response {
        let language = language(request)
        return pages.render(
            "login", nil, console: console, title: "login", language: language,
            [
                "login_csrf": token ?? "", "message": message ?? "", "has_message": message != nil,
                "next": Self.queryFields(request)["next"] ?? "",
                "other_lang_link": Self.link(request, language: language == .chinese ? .english : .chinese),
            ], status: status)
    }

    func adminPage(_ visit: Visit, notice: String?, status: HTTPResponse.Status = .ok) -> Response {
        let now = engine.now()
        let live = console.sessions.list(now: now)
        let accounts: [[String: Any]] = console.configuration.accounts.accounts.values.sorted { $0.name < $1.name }.map
        {
            account in
            [
                "name": account.name, "role": pages.text("role_" + account.role.rawValue, visit.language),
                "sessions": live.filter { $0.account == account.name }.count,
            ]
        }
        return pages.render(
            "admin", visit, console: console, title: "admin",
            ["accounts": accounts, "notice": notice ?? "", "has_notice": notice != nil], status: status)
    }
}

/// Answers shared by the console's routes.
func redirect(_ location: String) -> Response {
    Response(status: .seeOther, headers: [.location: location])
}

func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
    Response(
        status: status, headers: [.contentType: "text/plain; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// The JSON encoding of the console's script answers, keys sorted.
let consoleEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
}()

func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? consoleEncoder.encode(value)) ?? Data("{}".utf8)
    return Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
    json(["error": message], status: status)
}
