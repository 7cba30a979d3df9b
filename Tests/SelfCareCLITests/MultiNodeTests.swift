import Foundation
import SelfCareCore
import SelfCarePostgres
import SelfCareTesting
import Synchronization
import Testing

/// Three `selfcare serve` processes on one PostgreSQL database, in one folder (the same pepper, grammars and
/// prompts), each on a port of its own: the nodes of a deployment behind a load balancer.
private final class Nodes: @unchecked Sendable {
    let servers: [ServerProcess]
    let directory: URL
    let environment: [String: String]

    init(count: Int, in directory: URL, environment: [String: String], arguments: [String] = []) throws {
        self.directory = directory
        self.environment = environment
        servers = try (0..<count).map { _ in try ServerProcess(arguments, in: directory, environment: environment) }
    }

    /// Sends each of `texts` from `from` to node `i % count` with the message id `ids[i]`, 12 at a time.
    func sms(from: String, _ texts: [String], ids: [String]) async throws -> [String] {
        let servers = self.servers
        return try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var replies = [String](repeating: "", count: texts.count)
            var next = 0
            func add() {
                let i = next
                next += 1
                let text = texts[i].addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? texts[i]
                let url =
                    "\(servers[i % servers.count].base)/sms/kannel?from=\(from)&to=10010&id=\(ids[i])&text=\(text)"
                group.addTask { (i, try curlGet(url)) }
            }
            while next < texts.count && next < 12 { add() }
            while let (i, reply) = try await group.next() {
                replies[i] = reply
                if next < texts.count { add() }
            }
            return replies
        }
    }

    /// The service records, as JSON objects, the CLI lists from the same database.
    func records() throws -> [[String: Any]] {
        let list = try run(["records", "list"], in: directory, environment: environment)
        return list.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func stop() { for server in servers { server.stop() } }
}

/// A demo database of its own on the test server and three nodes serving it.
private func withThreeNodes(
    rateLimit: Int = 1000, serving arguments: (URL) throws -> [String] = { _ in [] },
    before: (URL, [String: String]) throws -> Void = { _, _ in }, _ body: (Nodes) async throws -> Void
) async throws {
    let admin = try #require(testPostgres)
    let name = "selfcare_nodes_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    try PostgresAdmin.createDatabase(name, admin: admin)
    defer { try? PostgresAdmin.dropDatabase(name, admin: admin) }
    let url = "postgres://\(admin.user)@\(admin.host):\(admin.port)/\(name)"
    try await withScratchFolderAsync { dir in
        for folder in ["grammars", "prompts"] {
            try FileManager.default.copyItem(
                at: Fixtures.repositoryRoot.appendingPathComponent(folder), to: dir.appendingPathComponent(folder))
        }
        // The rate limit out of the way, but for its own test.
        let environment = ["SELFCARE_DATABASE": url, "SELFCARE_SMS_RATE_LIMIT": String(rateLimit)]
        let initRun = try run(["init", "--demo"], in: dir, environment: environment)
        try #require(initRun.status == 0, "\(initRun.stderr)")
        try before(dir, environment)
        let nodes = try Nodes(count: 3, in: dir, environment: environment, arguments: try arguments(dir))
        defer { nodes.stop() }
        try await body(nodes)
    }
}

/// The billing webhook and Kannel sendsms stand-in (`scripts/crash_load.py billing`), answering each call after
/// `delay` milliseconds: its folder, where `sms.log` lists the SMS that reached it, its port, and the process.
///
/// No fsync: in CI the disk is busy with every other test's, and a stand-in that stalls past the caller's deadline
/// proves nothing. It is not the program under test: it runs without the far-date run's libfaketime, under which
/// Python's `time.sleep` fails (EINVAL) and every call would go unanswered.
private func startStandIn(delay: Int = 0) throws -> (URL, String, Background) {
    let kannel = FileManager.default.temporaryDirectory.appendingPathComponent("stand-in-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: kannel, withIntermediateDirectories: true)
    let receiver = try Background(
        "/usr/bin/env",
        [
            "-u", "LD_PRELOAD", "python3",
            Fixtures.repositoryRoot.appendingPathComponent("scripts/crash_load.py").path, "billing", "0",
            kannel.path, String(delay), "--no-fsync",
        ],
        log: kannel.appendingPathComponent("kannel.out"), in: kannel)
    let portFile = kannel.appendingPathComponent("port")
    guard waitUntil(20, { FileManager.default.fileExists(atPath: portFile.path) }) else {
        receiver.stop()
        throw SpawnError(description: "the Kannel stand-in did not start: \(kannel.path)/kannel.out")
    }
    return (kannel, try String(contentsOf: portFile, encoding: .utf8), receiver)
}

/// A temporary folder removed afterwards, for an asynchronous body.
private func withScratchFolderAsync(_ body: (URL) async throws -> Void) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-nodes-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try await body(dir)
}

@Suite("Three nodes on one PostgreSQL database", .serialized, .enabled(if: testPostgres != nil))
struct MultiNodeTests {
    /// 60 wrong passwords for one number, spread over three nodes, 12 at a time: exactly the threshold (5) are
    /// counted and the 5th locks; every later one is refused as locked without a check. Without the store's write
    /// lock two nodes read the same count and both write it: more than five wrong passwords get checked.
    @Test func thePasswordLockoutCountsExactlyAcrossNodes() async throws {
        try await withThreeNodes { nodes in
            let count = 60
            _ = try await nodes.sms(
                from: "18612345678", Array(repeating: "CXZD 111111", count: count), ids: (0..<count).map { "lk\($0)" })
            let attempts = try nodes.records().filter { ($0["operation"] as? String) == "query.bill" }
            let reasons = attempts.map { $0["reason"] as? String ?? "?" }
            #expect(reasons.count == count, "\(reasons)")
            #expect(reasons.filter { $0 == "bad_password" }.count == 5, "\(reasons)")
            #expect(reasons.filter { $0 == "password_locked" }.count == count - 5, "\(reasons)")
        }
    }

    /// The same message id sent to every node at once is handled once: one record of the query, every other copy
    /// recorded as a `duplicate` with the first reply word for word.
    @Test func aRepeatedMessageIdIsAppliedOnceWhicheverNodeGetsIt() async throws {
        try await withThreeNodes { nodes in
            let replies = try await nodes.sms(
                from: "18612345678", Array(repeating: "CXYE", count: 12), ids: Array(repeating: "dup-1", count: 12))
            #expect(Set(replies).count == 1 && replies[0].contains("123.45元"), "\(replies)")
            let records = try nodes.records().filter { ($0["session"] as? String) == "dup-1" }
            let reasons = records.map { $0["reason"] as? String ?? "?" }
            #expect(reasons.filter { $0 == "ok" }.count == 1, "\(reasons)")
            #expect(reasons.filter { $0 == "duplicate" }.count == 11, "\(reasons)")
        }
    }

    /// A plan change asked on one node is confirmed by a `Y` on another, and applied once.
    @Test func aConfirmationAskedOnOneNodeIsHonouredOnAnother() async throws {
        try await withThreeNodes { nodes in
            let ask = try curlGet(
                "\(nodes.servers[0].base)/sms/kannel?from=18612345678&to=10010&id=c1&text=TCBG%20P98%20258036")
            #expect(ask.contains("回复Y确认"), "\(ask)")
            let yes = try curlGet("\(nodes.servers[1].base)/sms/kannel?from=18612345678&to=10010&id=c2&text=Y")
            #expect(yes.hasPrefix("套餐变更成功"), "\(yes)")
            let again = try curlGet("\(nodes.servers[2].base)/sms/kannel?from=18612345678&to=10010&id=c3&text=Y")
            #expect(!again.hasPrefix("套餐变更成功"), "\(again)")
            let applied = try nodes.records().filter {
                ($0["operation"] as? String) == "plan.change" && ($0["result"] as? String) == "ok"
            }
            #expect(applied.count == 1, "\(applied)")
        }
    }

    /// A USSD session and an IVR call go on when the node that served their first steps is killed: their next
    /// steps reach the other nodes, which find the sessions in the database. The password digits a session holds
    /// between steps are sealed there, never in clear.
    @Test func sessionsGoOnWhenTheirNodeIsKilled() async throws {
        try await withThreeNodes { nodes in
            let (a, b, c) = (nodes.servers[0].base, nodes.servers[1].base, nodes.servers[2].base)
            func ussd(_ base: String, _ text: String) throws -> String {
                try curlGet(
                    "\(base)/ussd/at",
                    [
                        "--data-urlencode", "sessionId=u1", "--data-urlencode", "serviceCode=*100#",
                        "--data-urlencode", "phoneNumber=18612345678", "--data-urlencode", "text=\(text)",
                    ])
            }
            func ivr(_ base: String, _ step: String) throws -> String {
                try curlGet(
                    "\(base)/v1/ivr",
                    ["-H", "Content-Type: application/json", "--data", #"{"call":"c1","from":"18612345678",\#(step)}"#])
            }
            #expect(try ussd(a, "").hasPrefix("CON 中国联通自助服务"))
            let old = try ussd(a, "5*258036")
            #expect(old.hasPrefix("CON") && old.contains("新密码"), "\(old)")
            #expect(try ivr(a, #""start":true"#).contains("请按2"))
            #expect(try ivr(a, #""digits":"2""#).contains("挂失本机请按1"))
            let shared = try PostgresServiceStore(url: try #require(nodes.environment["SELFCARE_DATABASE"]))
            defer { shared.close() }
            let rows = try await shared.rawRows(
                "SELECT kind, id, caller, state FROM live_sessions WHERE kind IN ('ussd', 'ivr') ORDER BY kind")
            #expect(rows.count == 2 && rows[0].hasPrefix("ivr | c1 | 18612345678"), "\(rows)")
            #expect(!rows.joined().contains("258036"), "the old password's digits are sealed: \(rows)")

            nodes.servers[0].background.signal(SIGKILL)
            let again = try ussd(b, "5*258036*135790")
            #expect(again.hasPrefix("CON") && again.contains("再次"), "\(again)")
            let changed = try ussd(c, "5*258036*135790*135790")
            #expect(changed.hasPrefix("END") && changed.contains("修改成功"), "\(changed)")
            let report = try ivr(b, #""digits":"1135790#""#)
            #expect(report.contains("您将挂失号码18612345678"), "\(report)")
            let reported = try ivr(c, #""digits":"1""#)
            #expect(reported.contains("挂失成功"), "\(reported)")
            let applied = try nodes.records().filter { ($0["result"] as? String) == "ok" }
                .map { "\($0["operation"] ?? "") \($0["session"] ?? "")" }
            #expect(applied.contains("password.change u1") && applied.contains("loss.report c1"), "\(applied)")
        }
    }

    /// An aggregator repeats the request that ended a session, and the repeat reaches another node: it gets the
    /// same END screen, and nothing runs again (no second password change, no wrong password counted).
    @Test func aRepeatedEndReachingAnotherNodeGetsTheSameScreen() async throws {
        try await withThreeNodes { nodes in
            func ussd(_ node: Int, _ text: String) throws -> String {
                try curlGet(
                    "\(nodes.servers[node].base)/ussd/at",
                    [
                        "--data-urlencode", "sessionId=u2", "--data-urlencode", "serviceCode=*100#",
                        "--data-urlencode", "phoneNumber=18612345678", "--data-urlencode", "text=\(text)",
                    ])
            }
            #expect(try ussd(0, "").hasPrefix("CON"))
            let changed = try ussd(1, "5*258036*135790*135790")
            #expect(changed.hasPrefix("END") && changed.contains("修改成功"), "\(changed)")
            for node in [2, 0] {
                #expect(try ussd(node, "5*258036*135790*135790") == changed, "node \(node + 1)")
            }
            let attempts = try nodes.records().filter { ($0["operation"] as? String) == "password.change" }
            #expect(attempts.map { $0["reason"] as? String ?? "?" } == ["ok"], "\(attempts)")
        }
    }

    /// Three nodes' ticks fall due at once on three scheduled plan changes, and three nodes send the notices of
    /// three numbers at once: each change is applied once (one record), each notice reaches Kannel once. The change is re-read and removed under the write lock, the notice claimed in a write before its
    /// call.
    @Test func pendingChangesAndNoticesRunOnceAcrossNodes() async throws {
        let (kannel, port, receiver) = try startStandIn()
        defer {
            receiver.stop()
            try? FileManager.default.removeItem(at: kannel)
        }
        let customers = [("18612345678", "258036"), ("18611110011", "304682"), ("18611110012", "415793")]
        try await withThreeNodes(before: { dir, environment in
            for (number, password) in customers {
                for text in [["TCBG", "P98", "次月", password], ["Y"], ["GS", number, "111111"]] {
                    let from = text[0] == "GS" ? "13900000000" : number
                    let sent = try run(["sms", "--from", from] + text, in: dir, environment: environment)
                    try #require(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
                }
            }
        }) { nodes in
            // What each node's minute tick and notice pass do, at the moment the changes fall due, all at once.
            var later = nodes.environment
            later["SELFCARE_NOW"] = "2026-12-01T00:05:00+08:00"
            let due = later
            let directory = nodes.directory
            let sendsms = "http://127.0.0.1:\(port)/cgi-bin/sendsms?username=u&password=p"
            let statuses = Mutex([Int32]())
            DispatchQueue.concurrentPerform(iterations: 6) { i in
                let arguments =
                    i % 2 == 0 ? ["tick"] : ["notices", "send", "--sendsms", sendsms, "--quiet-hours", "none"]
                let status = (try? run(arguments, in: directory, environment: due))?.status ?? -1
                statuses.withLock { $0.append(status) }
            }
            #expect(statuses.withLock { $0 }.allSatisfy { $0 == 0 }, "\(statuses.withLock { $0 })")
            let applied = try nodes.records().filter {
                ($0["session"] as? String) == "tick" && ($0["operation"] as? String) == "plan.change"
            }
            #expect(
                applied.compactMap { $0["subject"] as? String }.sorted() == customers.map(\.0).sorted(),
                "\(applied)")
            // A notice a tick wrote after the passes ran goes out at the next pass; then every notice has gone
            // out, each once: three warnings of a stranger's wrong password, three "your change is in effect".
            let last = try run(
                ["notices", "send", "--sendsms", sendsms, "--quiet-hours", "none"], in: directory, environment: due)
            #expect(last.status == 0, "\(last.stderr)")
            let notices = try run(["notices", "list"], in: directory, environment: due).stdout
                .split(separator: "\n")
            #expect(notices.count == 6 && notices.allSatisfy { $0.contains("\"state\":\"sent\"") }, "\(notices)")
            let sms = try String(contentsOf: kannel.appendingPathComponent("sms.log"), encoding: .utf8)
                .split(separator: "\n")
            #expect(sms.count == notices.count && Set(sms).count == sms.count, "each notice once: \(sms)")
        }
    }

    /// 150 notices waiting, three notice passes at once on one database: each notice reaches Kannel once. Each
    /// pass claims a notice in a write that holds the whole store; without that lock, passes claim the same ones.
    @Test func threeNoticePassesAtOnceSendEachNoticeOnce() async throws {
        let (kannel, port, receiver) = try startStandIn()
        defer {
            receiver.stop()
            try? FileManager.default.removeItem(at: kannel)
        }
        let count = 150
        try await withThreeNodes { nodes in
            let store = try PostgresServiceStore(url: nodes.environment["SELFCARE_DATABASE"]!, connections: 2)
            defer { store.close() }
            let queued = try #require(ISOTime.parse("2026-11-30T16:00:00.000Z"))
            let record = try await store.write { writer in
                try writer.append(
                    RecordDraft(
                        time: queued, channel: .api, session: nil, caller: "system", subject: "18612345678",
                        operation: "test", inputs: [:], auth: .none, result: .ok, reason: .ok, reply: "", durationMS: 0)
                )
            }
            for i in 0..<count {
                _ = try await store.write { writer in
                    try writer.append(
                        NoticeDraft(
                            msisdn: "18612345678", kind: "test", text: "notice \(i)", time: queued, record: record.id))
                }
            }
            var due = nodes.environment
            due["SELFCARE_NOW"] = "2026-12-01T00:05:00+08:00"
            let (directory, environment) = (nodes.directory, due)
            let sendsms = "http://127.0.0.1:\(port)/cgi-bin/sendsms?username=u&password=p"
            let statuses = Mutex([Int32]())
            DispatchQueue.concurrentPerform(iterations: 3) { _ in
                let arguments = ["notices", "send", "--sendsms", sendsms, "--quiet-hours", "none"]
                let status = (try? run(arguments, in: directory, environment: environment))?.status ?? -1
                statuses.withLock { $0.append(status) }
            }
            #expect(statuses.withLock { $0 }.allSatisfy { $0 == 0 }, "\(statuses.withLock { $0 })")
            let sms = try String(contentsOf: kannel.appendingPathComponent("sms.log"), encoding: .utf8)
                .split(separator: "\n")
            #expect(sms.count == count && Set(sms).count == count, "each notice once: \(sms.count) sent")
        }
    }

    /// 24 messages from one number over three nodes with a limit of 10 a minute: exactly 10 are handled, the rest
    /// refused `rate_limited`, whichever node counted them.
    @Test func theRateLimitHoldsAcrossNodes() async throws {
        try await withThreeNodes(rateLimit: 10) { nodes in
            let count = 24
            _ = try await nodes.sms(
                from: "18612345678", Array(repeating: "CXYE", count: count), ids: (0..<count).map { "rl\($0)" })
            let records = try nodes.records().filter { ($0["caller"] as? String) == "18612345678" }
            let limited = records.filter { ($0["reason"] as? String) == "rate_limited" }
            #expect(records.count == count, "\(records.count)")
            #expect(limited.count == count - 10, "\(limited.count) of \(records.count)")
        }
    }

    /// Ten orders written before three nodes start posting them to one billing webhook at once: each reaches
    /// billing exactly once, as each node claims the orders it posts. Without the claims the three nodes read the
    /// same due orders and post most of them two or three times.
    @Test
    func serviceOrdersArePostedOnceAcrossNodes() async throws {
        // A slow billing (150 ms a call): posting the ten orders takes longer than the nodes' delivery interval,
        // so every node's pass falls while another is still posting.
        let (billing, port, receiver) = try startStandIn(delay: 150)
        defer {
            receiver.stop()
            try? FileManager.default.removeItem(at: billing)
        }
        try await withThreeNodes(
            serving: { _ in ["--webhook", "http://127.0.0.1:\(port)/orders", "--delivery-interval", "1"] },
            before: { dir, environment in
                // Five losses reported and cancelled: ten applied transactions, ten orders.
                for _ in 0..<5 {
                    for text in [["GS", "258036"], ["Y"], ["JG", "258036"], ["Y"]] {
                        let sent = try run(["sms", "--from", "18612345678"] + text, in: dir, environment: environment)
                        try #require(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
                    }
                }
            }
        ) { nodes in
            let delivered = waitUntil(30) {
                let pending = try? run(
                    ["orders", "list", "--state", "pending"], in: nodes.directory, environment: nodes.environment)
                return pending?.status == 0 && pending?.stdout.isEmpty == true
            }
            if !delivered {
                // A delivery that failed waits (the clock is fixed): an hour later, one drain sends what is left, as
                // the crash test does. What the nodes said is kept in the output for whoever looks.
                print("orders still pending after 30 s; the nodes said:")
                print(nodes.servers.map(\.stderr).joined(separator: "\n---\n"))
                print("billing stand-in running: \(receiver.isRunning); it said: \(receiver.output)")
                let failures = try nodes.records().filter {
                    ($0["operation"] as? String) == "order.deliver" && ($0["result"] as? String) != "ok"
                }
                print("failed deliveries: \(failures)")
                var later = nodes.environment
                later["SELFCARE_NOW"] = ISOTime.format(ISOTime.parse(fixedNow)!.addingTimeInterval(3600))
                let drain = try run(
                    ["orders", "deliver", "--webhook", "http://127.0.0.1:\(port)/orders"], in: nodes.directory,
                    environment: later)
                #expect(drain.status == 0, "\(drain.stdout)\(drain.stderr)")
            }
            let calls = try String(contentsOf: billing.appendingPathComponent("calls.log"), encoding: .utf8)
                .split(separator: "\n")
            #expect(Set(calls).count == 10, "every order reached billing: \(calls)")
            // A post repeated after a failed one (an answer lost on the way) is at least once; any other repeat
            // is two nodes posting the same order.
            let failed = try nodes.records().filter {
                ($0["operation"] as? String) == "order.deliver" && ($0["result"] as? String) != "ok"
            }
            #expect(calls.count - Set(calls).count <= failed.count, "posted twice: \(calls), failures: \(failed)")
        }
    }
}

/// nginx from Debian (scripts/balancer.sh, deploy/nginx.conf) in front of the nodes, on a port of its own.
private final class Balancer: @unchecked Sendable {
    let base: String
    let folder: String

    static var installed: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") }
    /// With `CI` set a missing nginx fails the tests instead of skipping them.
    static var required: Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }

    init(_ nodes: Nodes) throws {
        let script = Fixtures.repositoryRoot.appendingPathComponent("scripts/balancer.sh").path
        let ports = nodes.servers.map { $0.base.replacingOccurrences(of: "http://", with: "") }
        let started = try run(["start"] + ports, in: nodes.directory, environment: nodes.environment, program: script)
        guard started.status == 0 else { throw SpawnError(description: "balancer.sh: \(started.stderr)") }
        folder = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        base = try String(contentsOfFile: folder + "/url", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The node (`127.0.0.1:PORT`) that answered each request so far, from nginx's access log.
    func nodesThatAnswered() -> [String] {
        let log = (try? String(contentsOfFile: folder + "/access.log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") }.map(String.init)
        }
    }

    func stop() {
        let script = Fixtures.repositoryRoot.appendingPathComponent("scripts/balancer.sh").path
        _ = try? run(["stop", folder], in: URL(fileURLWithPath: "/"), program: script)
    }
}

@Suite(
    "Three nodes behind nginx", .serialized,
    .enabled(if: testPostgres != nil && (Balancer.installed || Balancer.required), "needs PostgreSQL and nginx"))
struct BalancerTests {
    /// What Kannel, a USSD aggregator, a voice browser and the JSON API send, through nginx round robin over the
    /// three nodes: every flow works with its steps spread over the nodes, each node answers some, and the flows
    /// still work once a node is killed (nginx leaves it out).
    @Test func everyChannelWorksThroughTheLoadBalancerAndAroundAKilledNode() async throws {
        try #require(Balancer.installed, "nginx is missing: apt-get install nginx")
        try await withThreeNodes { nodes in
            let balancer = try Balancer(nodes)
            defer { balancer.stop() }
            let base = balancer.base
            // The plan change by the JSON API is asked by another customer each time (one change a month).
            func flows(_ tag: String, changing customer: (number: String, password: String)) throws {
                let sms = try curlGet("\(base)/sms/kannel?from=18612345678&to=10010&id=\(tag)-sms&text=CXYE")
                #expect(sms.contains("123.45元"), "\(sms)")
                func ussd(_ text: String) throws -> String {
                    try curlGet(
                        "\(base)/ussd/at",
                        [
                            "--data-urlencode", "sessionId=\(tag)-ussd", "--data-urlencode", "serviceCode=*100#",
                            "--data-urlencode", "phoneNumber=18612345678", "--data-urlencode", "text=\(text)",
                        ])
                }
                #expect(try ussd("").hasPrefix("CON 中国联通自助服务"))
                #expect(try ussd("1").hasPrefix("CON 查询"))
                let balance = try ussd("1*1")
                #expect(balance.hasPrefix("END") && balance.contains("123.45元"), "\(balance)")
                let call = "\(tag)-vxml"
                let start = try curlGet("\(base)/ivr/vxml?from=tel:%2B8618612345678&session=\(call)")
                #expect(start.contains("<vxml") && start.contains("step=1"), "\(start)")
                let loss = try curlGet("\(base)/ivr/vxml?call=\(call)&step=1", ["-d", "digits=2"])
                #expect(loss.contains("挂失本机请按1"), "\(loss)")
                let agent = try curlGet("\(base)/ivr/vxml?call=\(call)&step=2", ["-d", "digits=0"])
                #expect(agent.contains("<transfer"), "\(agent)")
                func message(_ id: String, _ text: String) throws -> String {
                    try curlGet(
                        "\(base)/v1/messages",
                        [
                            "-H", "Content-Type: application/json", "--data",
                            #"{"channel":"sms","from":"\#(customer.number)","id":"\#(tag)-\#(id)","text":"\#(text)"}"#,
                        ])
                }
                #expect(try message("ask", "TCBG P98 \(customer.password)").contains("回复Y确认"))
                #expect(try message("yes", "Y").contains("套餐变更成功"))
                #expect(try curlGet("\(base)/readyz", ["-o", "/dev/null", "-w", "%{http_code}"]) == "200")
            }
            try flows("a", changing: ("18612345678", "258036"))
            let answered = balancer.nodesThatAnswered()
            let ports = Set(nodes.servers.map { $0.base.replacingOccurrences(of: "http://", with: "") })
            #expect(Set(answered) == ports, "round robin reaches every node: \(answered)")

            nodes.servers[1].background.signal(SIGKILL)
            try flows("b", changing: ("18611110011", "304682"))
            let ok = try nodes.records().filter { ($0["result"] as? String) == "ok" }
                .map { "\($0["operation"] ?? "") \($0["channel"] ?? "")" }
            #expect(ok.filter { $0 == "query.balance sms" }.count == 2, "\(ok)")
            #expect(ok.filter { $0 == "query.balance ussd" }.count == 2, "\(ok)")
            #expect(ok.filter { $0.hasPrefix("plan.change") }.count == 2, "\(ok)")
        }
    }
}
