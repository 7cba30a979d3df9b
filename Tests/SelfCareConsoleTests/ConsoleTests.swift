import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SelfCareChannels
import SelfCareConsole
import SelfCareCore
import SelfCareHTTP
import SelfCareTesting
import Testing

/// The console through its routes: sign-in, cookies, CSRF, throttling, roles refused by the server, the access
/// records and the operators' actions through the engine.
@Suite struct ConsoleTests {
    static let passwords = ["ops": "operator pass 1", "aud": "auditor pass 1", "root": "admin pass 1"]

    struct Setup {
        let app: Application<RouterResponder<BasicRequestContext>>
        let store: MemoryServiceStore
    }

    func setup(
        reload: (@Sendable () throws -> Void)? = nil, timeLimit: TimeInterval = 60, scanLimit: Int = 200_000
    ) async throws -> Setup {
        let store = MemoryServiceStore()
        var locked = Fixtures.subscriber()
        locked.failedPasswordAttempts = 5
        locked.passwordLockedUntil = Fixtures.midNovember.addingTimeInterval(3600)
        try await Fixtures.seed(store, subscribers: [locked, Fixtures.subscriber("18611110001", language: .english)])
        let pending = PendingChange(
            msisdn: "18612345678", kind: .planChange, planCode: "P58",
            effective: LocalDate(year: 2026, month: 12, day: 1),
            requestedAt: Fixtures.midNovember)
        try await store.write { try $0.save(pending) }
        let engine = try Fixtures.engine(store: store)
        let channels = GatewayChannels(
            engine: engine, grammars: try Fixtures.shippedGrammars(), sessions: SessionLimits(capacity: 100))
        let hasher = ConsoleAccounts.hasher(iterations: 1_000)
        let accounts = ConsoleAccounts([
            ConsoleAccount(
                name: "ops", role: .operator_, passwordHash: try hasher.hash(Secret(Self.passwords["ops"]!))),
            ConsoleAccount(name: "aud", role: .auditor, passwordHash: try hasher.hash(Secret(Self.passwords["aud"]!))),
            ConsoleAccount(name: "root", role: .admin, passwordHash: try hasher.hash(Secret(Self.passwords["root"]!))),
        ])
        let root = Fixtures.repositoryRoot
        var consoleConfiguration = ConsoleConfiguration(
            accounts: accounts, assetsDirectory: root.appendingPathComponent("console").path,
            grammarsDirectory: root.appendingPathComponent("grammars").path,
            promptsDirectory: root.appendingPathComponent("prompts").path)
        consoleConfiguration.workbenchExecutable = Fixtures.selfcareBinary
        consoleConfiguration.simulatorNumbers = [SimulatorNumber(number: "18611110001", label: "English")]
        consoleConfiguration.workbenchTimeLimit = timeLimit
        consoleConfiguration.recordsScanLimit = scanLimit
        var configuration = GatewayConfiguration()
        configuration.reload = reload
        configuration.extraRoutes = [
            try await Console(configuration: consoleConfiguration, logger: Fixtures.quietLogger)
        ]
        let app = Application(router: Gateway.router(channels, configuration: configuration))
        return Setup(app: app, store: store)
    }

    /// A browser's cookie jar and the session's CSRF token, over the test client.
    final class Browser: @unchecked Sendable {
        let client: any TestClientProtocol
        var cookies: [String: String] = [:]
        var csrf = ""

        init(_ client: any TestClientProtocol) { self.client = client }

        var cookieHeader: String { cookies.map { "\($0)=\($1)" }.sorted().joined(separator: "; ") }

        @discardableResult
        func send(
            _ uri: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: String? = nil
        ) async throws -> TestResponse {
            var headers = headers
            if !cookies.isEmpty { headers[.cookie] = cookieHeader }
            let response = try await client.executeRequest(
                uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
            for line in response.headers[values: .setCookie] {
                let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                let value = pair.count > 1 ? String(pair[1]) : ""
                if value.isEmpty {
                    cookies.removeValue(forKey: String(pair[0]))
                } else {
                    cookies[String(pair[0])] = value
                }
            }
            let text = String(buffer: response.body)
            if let range = text.range(of: #"data-csrf="[0-9a-f]+""#, options: .regularExpression) {
                csrf = String(text[range].dropFirst(11).dropLast())
            }
            return response
        }

        func form(_ uri: String, _ fields: [String: String], headers: HTTPFields = [:]) async throws -> TestResponse {
            var headers = headers
            headers[.contentType] = "application/x-www-form-urlencoded"
            return try await send(
                uri, method: .post, headers: headers, body: URLForm.encode(fields.sorted { $0.key < $1.key }))
        }

        func json(_ uri: String, _ body: String, token: String? = nil) async throws -> TestResponse {
            var headers: HTTPFields = [.contentType: "application/json"]
            if let token = token ?? (csrf.isEmpty ? nil : csrf) { headers[HTTPField.Name("X-CSRF-Token")!] = token }
            return try await send(uri, method: .post, headers: headers, body: body)
        }

        /// Signs in as `account` and loads its home page (which holds the CSRF token).
        func signIn(_ account: String, password: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse
        {
            let page = try await send("/console/login")
            let token = try #require(
                String(buffer: page.body).firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.output.1)
            let response = try await form(
                "/console/login",
                ["account": account, "password": password ?? ConsoleTests.passwords[account]!, "csrf": String(token)],
                headers: headers)
            if response.status == .seeOther, let location = response.headers[.location] { try await send(location) }
            return response
        }
    }

    @Test func signedOutPagesSendToTheSignInAndScriptsAreRefused() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let browser = Browser(client)
            for page in ["/console", "/console/simulator", "/console/records", "/console/admin", "/console/grammars"] {
                let response = try await browser.send(page)
                #expect(response.status == .seeOther, "\(page)")
                #expect(response.headers[.location]?.hasPrefix("/console/login") == true)
            }
            #expect(
                try await browser.json("/console/api/sms", #"{"from":"18612345678","text":"CXYE"}"#).status
                    == .unauthorized)
            #expect(try await browser.form("/console/records/verify", ["csrf": "x"]).status == .unauthorized)
        }
        #expect(try await setup.store.records(matching: RecordFilter()).isEmpty)
    }

    @Test func theSessionCookieIsHttpOnlyStrictAndSecureBehindTLS() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let plain = Browser(client)
            let response = try await plain.signIn("ops")
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/console/simulator")
            let cookie = try #require(
                response.headers[values: .setCookie].first { $0.hasPrefix("selfcare_console=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(cookie.contains("Path=/console"))
            #expect(!cookie.contains("Secure"))
            let behindTLS = Browser(client)
            let tls = try await behindTLS.signIn("ops", headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            let secure = try #require(tls.headers[values: .setCookie].first { $0.hasPrefix("selfcare_console=") })
            #expect(secure.contains("Secure"))
            // Signed out, the old cookie opens nothing.
            let old = plain.cookies["selfcare_console"]
            _ = try await plain.send("/console/simulator")
            #expect(try await plain.form("/console/logout", ["csrf": plain.csrf]).status == .seeOther)
            let replay = try await client.executeRequest(
                uri: "/console/simulator", method: .get, headers: [.cookie: "selfcare_console=\(old ?? "")"], body: nil)
            #expect(replay.status == .seeOther)
            #expect(replay.headers[.location]?.hasPrefix("/console/login") == true)
            _ = try await plain.signIn("ops")
            // Every console page forbids framing and inline scripts.
            let page = try await plain.send("/console/simulator")
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(page.headers[.cacheControl] == "no-store")
        }
    }

    @Test func theSignInNeedsItsFormTokenAndIsThrottled() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let browser = Browser(client)
            _ = try await browser.send("/console/login")
            let forged = try await browser.form(
                "/console/login", ["account": "ops", "password": Self.passwords["ops"]!, "csrf": "0000"])
            #expect(forged.status == .forbidden)
            #expect(browser.cookies["selfcare_console"] == nil)
            for _ in 0..<5 {
                #expect(try await browser.signIn("ops", password: "wrong password").status == .unauthorized)
            }
            // Past the limit, even the right password is refused until the window passes.
            let throttled = try await browser.signIn("ops")
            #expect(throttled.status == .tooManyRequests)
            #expect(throttled.headers[.retryAfter] != nil)
            // A form token the server did not issue is refused, even with a cookie to match.
            let planted = Browser(client)
            planted.cookies["selfcare_console_login"] = "aaaa"
            let forgedPair = try await planted.form(
                "/console/login", ["account": "aud", "password": Self.passwords["aud"]!, "csrf": "aaaa"])
            #expect(forgedPair.status == .forbidden)
            #expect(browser.cookies["selfcare_console"] == nil)
            // Another account is not held back by them.
            #expect(try await Browser(client).signIn("aud").status == .seeOther)
            // An unknown name gets the same answer as a wrong password.
            let unknown = try await Browser(client).signIn("nobody", password: "whatever it is")
            #expect(unknown.status == .unauthorized)
        }
    }

    @Test func eachRoleIsRefusedByTheServerWhereItMayNotGo() async throws {
        let setup = try await setup(reload: {})
        try await setup.app.test(.router) { client in
            let operatorBrowser = Browser(client)
            try await operatorBrowser.signIn("ops")
            for page in ["/console/records", "/console/admin", "/console/records/export?format=csv"] {
                #expect(try await operatorBrowser.send(page).status == .forbidden, "operator \(page)")
            }
            let csrf = operatorBrowser.csrf
            #expect(try await operatorBrowser.form("/console/records/verify", ["csrf": csrf]).status == .forbidden)
            #expect(try await operatorBrowser.form("/console/grammars/reload", ["csrf": csrf]).status == .forbidden)
            #expect(
                try await operatorBrowser.form("/console/admin/end-sessions", ["csrf": csrf, "account": "aud"]).status
                    == .forbidden)
            for page in ["/console/simulator", "/console/subscriber", "/console/grammars", "/console/health"] {
                #expect(try await operatorBrowser.send(page).status == .ok, "operator \(page)")
            }
            let auditor = Browser(client)
            try await auditor.signIn("aud")
            for page in [
                "/console/simulator", "/console/subscriber?number=18612345678&reason=checking", "/console/admin",
                "/console/grammars",
            ] {
                #expect(try await auditor.send(page).status == .forbidden, "auditor \(page)")
            }
            #expect(
                try await auditor.json("/console/api/sms", #"{"from":"18612345678","text":"CXYE"}"#).status
                    == .forbidden)
            #expect(try await auditor.send("/console/records").status == .ok)
            let admin = Browser(client)
            try await admin.signIn("root")
            for page in [
                "/console/simulator", "/console/records", "/console/admin", "/console/grammars", "/console/health",
            ] {
                #expect(try await admin.send(page).status == .ok, "admin \(page)")
            }
            let reloaded = try await admin.form("/console/grammars/reload", ["csrf": admin.csrf])
            #expect(reloaded.status == .ok)
        }
        // Nothing any refusal tried was recorded.
        #expect(try await setup.store.records(matching: RecordFilter()).isEmpty)
    }

    @Test func scriptsAndFormsWithoutTheSessionsTokenAreRefused() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("ops")
            let sms = #"{"from":"18612345678","reason":"testing a reply","text":"CXYE"}"#
            #expect(try await browser.json("/console/api/sms", sms, token: "f00").status == .forbidden)
            var headers: HTTPFields = [.contentType: "application/json", .cookie: browser.cookieHeader]
            #expect(
                try await client.executeRequest(
                    uri: "/console/api/sms", method: .post, headers: headers, body: ByteBuffer(string: sms)
                ).status == .forbidden)
            // The right token from another site's page.
            headers[HTTPField.Name("X-CSRF-Token")!] = browser.csrf
            headers[.origin] = "https://evil.example"
            #expect(
                try await client.executeRequest(
                    uri: "/console/api/sms", method: .post, headers: headers, body: ByteBuffer(string: sms)
                ).status == .forbidden)
            let unlock = try await browser.form(
                "/console/subscriber/unlock", ["number": "18612345678", "reason": "caller asked", "csrf": "bad"])
            #expect(unlock.status == .forbidden)
            #expect(try await setup.store.records(matching: RecordFilter()).isEmpty)
            // A number that is not a test number needs a reason.
            let noReason = try await browser.json("/console/api/sms", #"{"from":"18612345678","text":"CXYE"}"#)
            #expect(noReason.status == .badRequest)
            #expect(try await setup.store.records(matching: RecordFilter()).isEmpty)
            // With the token and a reason: the number's access record, then the message through the SMS channel,
            // whose record is the one the page shows, in a session named after the console session.
            let answer = try await browser.json("/console/api/sms", sms)
            #expect(answer.status == .ok)
            let body = try #require(
                try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any])
            var records = try await setup.store.records(matching: RecordFilter())
            #expect(records.map(\.operation) == ["console.view", "query.balance"])
            #expect(records[0].inputValues["view"] == "simulator")
            #expect(records[0].inputValues["reason"] == "testing a reply")
            let session = try #require(records[0].session)
            #expect(records[1].session?.hasPrefix("console-\(session)-") == true)
            #expect(body["record"] as? Int == Int(records[1].id))
            #expect(body["reply"] as? String == records[1].reply)
            #expect(body["encoding"] as? String == "UCS-2")
            // The same number and reason again: no second access record.
            _ = try await browser.json("/console/api/sms", sms)
            records = try await setup.store.records(matching: RecordFilter())
            #expect(records.map(\.operation) == ["console.view", "query.balance", "query.balance"])
            // USSD runs in the console session's own session.
            let ussd = try await browser.json(
                "/console/api/ussd", #"{"from":"18612345678","reason":"testing a reply","code":"*100*1*1#"}"#)
            #expect(String(buffer: ussd.body).contains("余额"))
            records = try await setup.store.records(matching: RecordFilter())
            #expect(records.last?.session == "console-\(session)")
        }
    }

    @Test func openingASubscriberWritesItsAccessRecordAndActionsGoThroughTheEngine() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("ops")
            // Without a reason: the number masked, nothing shown, nothing recorded.
            let asking = try await browser.send("/console/subscriber?number=18612345678")
            let askingText = String(buffer: asking.body)
            #expect(askingText.contains("186****5678"))
            #expect(!askingText.contains("张伟"))
            #expect(try await setup.store.records(matching: RecordFilter()).isEmpty)
            let opened = try await browser.send("/console/subscriber?number=18612345678&reason=caller+asked+why+locked")
            #expect(opened.status == .ok)
            #expect(String(buffer: opened.body).contains("张伟"))
            var records = try await setup.store.records(matching: RecordFilter())
            #expect(records.map(\.operation) == ["console.view"])
            #expect(records[0].caller == "console:ops")
            #expect(records[0].channel == "console")
            #expect(records[0].subject == "18612345678")
            #expect(records[0].inputValues["reason"] == "caller asked why locked")
            #expect(records[0].inputValues["view"] == "subscriber")
            let unlocked = try await browser.form(
                "/console/subscriber/unlock",
                ["number": "18612345678", "reason": "caller asked why locked", "csrf": browser.csrf])
            #expect(unlocked.status == .ok)
            let cancelled = try await browser.form(
                "/console/subscriber/cancel",
                ["number": "18612345678", "reason": "caller asked", "kind": "plan.change", "csrf": browser.csrf])
            #expect(cancelled.status == .ok)
            records = try await setup.store.records(matching: RecordFilter())
            let actions = records.filter { $0.operation != "console.view" }
            #expect(actions.map(\.operation) == ["password.unlock", "plan.cancel"])
            #expect(actions.allSatisfy { $0.caller == "console:ops" && $0.channel == "console" && $0.result == "ok" })
            let subscriber = try await setup.store.read { try $0.subscriber("18612345678") }
            #expect(subscriber?.failedPasswordAttempts == 0)
            #expect(subscriber?.passwordLockedUntil == nil)
            #expect(try await setup.store.read { try $0.pendingChanges("18612345678") }.isEmpty)
            // The cancelled change is a transaction: billing gets its order.
            let orders = try await setup.store.read { try $0.orders(OrderFilter()) }
            #expect(orders.map(\.operation) == ["plan.cancel"])
            // Unlocking again is refused, and recorded so.
            let again = try await browser.form(
                "/console/subscriber/unlock", ["number": "18612345678", "reason": "again", "csrf": browser.csrf])
            #expect(String(buffer: again.body).contains("未被锁定"))
            #expect(
                try await setup.store.records(matching: RecordFilter()).last { $0.operation == "password.unlock" }?
                    .reason == "not_locked")
            #expect(try setup.store.verifyRecords().brokenCount == 0)
        }
    }

    @Test func oneNumbersRecordsNeedAReasonAndTheirExportIsRecorded() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let operatorBrowser = Browser(client)
            try await operatorBrowser.signIn("ops")
            _ = try await operatorBrowser.json(
                "/console/api/sms", #"{"from":"18612345678","reason":"test run","text":"CXYE"}"#)
            _ = try await operatorBrowser.json(
                "/console/api/sms", #"{"from":"18611110001","reason":"test run","text":"BAL"}"#)
            let auditor = Browser(client)
            try await auditor.signIn("aud")
            // Records hold customers' data: nothing is shown before a reason is given.
            let first = String(buffer: try await auditor.send("/console/records").body)
            #expect(!first.contains("<td>18611110001</td>"))
            #expect(!first.contains("records-table"))
            let before = try await setup.store.records(matching: RecordFilter()).count
            let all = String(buffer: try await auditor.send("/console/records?why=monthly+audit&channel=sms").body)
            #expect(all.contains("<td>18611110001</td>"))
            let many = try #require(try await setup.store.records(matching: RecordFilter()).last)
            #expect(many.operation == "console.view" && many.subject == "*")
            #expect(many.inputValues["filter.channel"] == "sms" && many.inputValues["reason"] == "monthly audit")
            #expect(try await setup.store.records(matching: RecordFilter()).count == before + 1)
            let asked = String(buffer: try await auditor.send("/console/records?number=18612345678").body)
            #expect(!asked.contains("<td>query.balance</td>"))
            let filtered = String(
                buffer: try await auditor.send("/console/records?number=18612345678&why=audit+ticket+7").body)
            #expect(filtered.contains("<td>query.balance</td>"))
            #expect(!filtered.contains("<td>18611110001</td>"))
            let export = try await auditor.send(
                "/console/records/export?number=18612345678&why=audit+ticket+7&format=csv")
            #expect(export.status == .ok)
            let lines = String(buffer: export.body).split(separator: "\r\n")
            #expect(lines.first == Substring(ServiceRecord.csvHeader))
            #expect(lines.dropFirst().allSatisfy { $0.contains("18612345678") })
            let views = try await setup.store.records(matching: RecordFilter()).filter {
                $0.operation == "console.view" && $0.caller == "console:aud" && $0.subject == "18612345678"
            }
            #expect(views.map { $0.inputValues["view"] } == ["records", "records.export"])
            // An export without a reason is refused; a day that does not exist is not read as another.
            #expect(try await auditor.send("/console/records/export?format=csv").status == .badRequest)
            let rolled = try await auditor.send("/console/records?why=audit+ticket+7&since=2026-02-30T00:00")
            #expect(rolled.status == .badRequest)
            #expect(views.allSatisfy { $0.caller == "console:aud" && $0.inputValues["reason"] == "audit ticket 7" })
            let verified = try await auditor.form("/console/records/verify", ["csrf": auditor.csrf])
            #expect(String(buffer: verified.body).contains("记录链完整"))
        }
    }

    @Test func aDraftIsTriedWithoutTouchingTheLiveGrammars() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("ops")
            let sms = try String(
                contentsOf: Fixtures.repositoryRoot.appendingPathComponent("grammars/sms.grammar"), encoding: .utf8)
            let broken = sms + "\nthis is not grammar\n"
            let body = try JSONSerialization.data(
                withJSONObject: ["files": ["sms.grammar": broken], "channel": "sms", "inputs": ["CXYE"]])
            let answer = try await browser.json("/console/api/grammars/try", String(decoding: body, as: UTF8.self))
            let trial = try #require(
                try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any])
            let findings = try #require(trial["findings"] as? [[String: Any]])
            #expect(
                findings.contains { $0["severity"] as? String == "error" && $0["file"] as? String == "sms.grammar" })
            #expect((trial["steps"] as? [Any])?.isEmpty == true)
            // A draft that compiles runs on scratch data: the live store has no record of it.
            let good = try JSONSerialization.data(
                withJSONObject: ["files": ["sms.grammar": sms], "channel": "sms", "inputs": ["CXYE"]])
            let ran = try await browser.json("/console/api/grammars/try", String(decoding: good, as: UTF8.self))
            let steps = try #require(
                (try JSONSerialization.jsonObject(with: Data(ran.body.readableBytesView)) as? [String: Any])?["steps"]
                    as? [[String: Any]])
            #expect((steps.first?["output"] as? String)?.contains("余额") == true)
            #expect(try await setup.store.records(matching: RecordFilter()).isEmpty)
            let unknown = try await browser.json(
                "/console/api/grammars/try", #"{"files":{"../x.grammar":""},"channel":"sms","inputs":[]}"#)
            #expect(unknown.status == .badRequest)
        }
    }

    /// A draft's body for `/console/api/grammars/try`: sms.grammar with `extra` rules, `first` put before the
    /// others in `$command`.
    static func draft(first: String, extra: String, inputs: [String]) throws -> String {
        let sms = try String(
            contentsOf: Fixtures.repositoryRoot.appendingPathComponent("grammars/sms.grammar"), encoding: .utf8)
        #expect(sms.contains("$command = $balance"))
        let text = sms.replacingOccurrences(of: "$command = $balance", with: "$command = \(first) | $balance") + extra
        let body = try JSONSerialization.data(
            withJSONObject: ["files": ["sms.grammar": text], "channel": "sms", "inputs": inputs])
        return String(decoding: body, as: UTF8.self)
    }

    @Test func aDraftThatNestsOrBacktracksWithoutEndCannotTakeTheGatewayDown() async throws {
        let setup = try await setup(timeLimit: 4)
        try await setup.app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("ops")
            let deep = String(repeating: "(", count: 3_000) + "XX" + String(repeating: ")", count: 3_000)
            let nested = try await browser.json(
                "/console/api/grammars/try",
                Self.draft(first: "$deep", extra: "\n$deep = \(deep) {op = query.balance};\n", inputs: ["XX"]))
            #expect(String(buffer: nested.body).contains("nested more than 64 deep"))
            let backtracking = try await browser.json(
                "/console/api/grammars/try",
                Self.draft(
                    first: "$evil", extra: "\n$evil = ((1|11)<1-32>)<1-32> 啊 {op = query.balance};\n",
                    inputs: [String(repeating: "1", count: 40)]))
            #expect(backtracking.status == .ok)
            #expect(String(buffer: backtracking.body).contains("took more than 4 s and was stopped"))
            // The gateway still answers, in this process.
            let answer = try await browser.json(
                "/console/api/sms", #"{"from":"18612345678","reason":"after a bad draft","text":"CXYE"}"#)
            #expect(answer.status == .ok)
        }
    }

    @Test func aTestNumberReachingAnotherNumberWithoutAReasonShowsNothingOfIt() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("ops")
            // A test number needs no reason for itself.
            let own = try await browser.json("/console/api/sms", #"{"from":"18611110001","text":"BAL"}"#)
            #expect(own.status == .ok)
            // It names another number: that number's access record is written, and the answer withheld.
            let other = try await browser.json(
                "/console/api/sms", #"{"from":"18611110001","text":"LOST 18612345678 258036"}"#)
            #expect(other.status == .forbidden)
            #expect(String(buffer: other.body).contains("186****5678"))
            let views = try await setup.store.records(matching: RecordFilter()).filter {
                $0.operation == "console.view"
            }
            #expect(views.map(\.subject) == ["18611110001", "18612345678"])
            #expect(views.last?.inputValues["reason"]?.hasPrefix("no reason given") == true)
            // With a reason, the answer is shown.
            let reasoned = try await browser.json(
                "/console/api/sms",
                #"{"from":"18611110001","reason":"customer on the phone","text":"LOST 18612345678 258036"}"#)
            #expect(reasoned.status == .ok)
        }
    }

    @Test func aReasonMustBeVisible() async throws {
        let setup = try await setup()
        try await setup.app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn("ops")
            for reason in [
                "\u{3164}\u{3164}\u{3164}\u{3164}", "ab\u{200B}cd", "\u{202E}abcd", "ab\u{034F}cd", "\u{E000}abcd",
                "a  b",
            ] {
                let query = URLForm.encode([("number", "18612345678"), ("reason", reason)])
                let page = try await browser.send("/console/subscriber?" + query)
                #expect(page.status == .badRequest, "\(reason.unicodeScalars.map { String($0.value, radix: 16) })")
            }
            #expect(
                try await browser.send(
                    "/console/subscriber?number=18612345678&reason=%E5%AE%A2%E6%88%B7%E6%9D%A5%E7%94%B5"
                ).status == .ok)
            let views = try await setup.store.records(matching: RecordFilter()).filter {
                $0.operation == "console.view"
            }
            #expect(views.map { $0.inputValues["reason"] } == ["客户来电"])
        }
    }

    @Test func aPageThatReachedItsSearchLimitSaysSo() async throws {
        let setup = try await setup(scanLimit: 3)
        try await setup.app.test(.router) { client in
            let operatorBrowser = Browser(client)
            try await operatorBrowser.signIn("ops")
            for _ in 0..<3 {
                _ = try await operatorBrowser.json("/console/api/sms", #"{"from":"18611110001","text":"BAL"}"#)
            }
            let auditor = Browser(client)
            try await auditor.signIn("aud")
            // Three records and a view's own: more than the page may search, which it says.
            let page = String(
                buffer: try await auditor.send("/console/records?why=audit+of+limits&since=2026-01-01T00:00").body)
            #expect(page.contains("匹配数只计已查找的部分"))
            // A narrower search stays within the limit and says nothing of it.
            let narrow = String(
                buffer: try await auditor.send("/console/records?why=audit+of+limits&since=2026-11-15T02:00:01Z").body)
            #expect(!narrow.contains("匹配数只计已查找的部分"))
        }
    }
}
