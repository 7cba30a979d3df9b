import Foundation
import SelfCarePostgres
import SelfCareTesting
import Testing

/// A scratch folder with the shipped grammars and prompts, and an empty database of its own on the test server,
/// named by `SELFCARE_DATABASE` for every command `body` runs.
private func withPostgresFolder(_ body: (URL, [String: String], PostgresLocation) throws -> Void) throws {
    let admin = try #require(testPostgres)
    let name = "selfcare_cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    try PostgresAdmin.createDatabase(name, admin: admin)
    defer { try? PostgresAdmin.dropDatabase(name, admin: admin) }
    var location = admin
    location.database = name
    let url = "postgres://\(location.user)@\(location.host):\(location.port)/\(name)"
    try withShipped(["grammars", "prompts"]) { dir in try body(dir, ["SELFCARE_DATABASE": url], location) }
}

@Suite("selfcare on PostgreSQL", .serialized, .enabled(if: testPostgres != nil))
struct PostgresCLITests {
    /// `init --demo`, an SMS balance query, a confirmation across two invocations, the records and their chain: the
    /// same conversation as on a file, on a database on the server.
    @Test func theDemoConversationRunsOnAServerDatabase() throws {
        try withPostgresFolder { dir, environment, location in
            let initRun = try run(["init", "--demo"], in: dir, environment: environment)
            #expect(initRun.status == 0, "\(initRun.stderr)")
            #expect(initRun.stdout.contains("database \(location): ready"), "\(initRun.stdout)")
            #expect(initRun.stdout.contains("pepper ./selfcare.pepper: created"), "\(initRun.stdout)")
            #expect(initRun.stdout.contains("demo subscribers: applied 23"), "\(initRun.stdout)")
            let balance = try run(["sms", "--from", "18612345678", "CXYE"], in: dir, environment: environment)
            #expect(balance.status == 0 && balance.stdout.contains("123.45元"), "\(balance.stdout)\(balance.stderr)")
            let ask = try run(
                ["sms", "--from", "18612345678", "TCBG", "P98", "258036"], in: dir, environment: environment)
            #expect(ask.stdout.contains("请在5分钟内回复Y确认"), "\(ask.stdout)")
            let yes = try run(["sms", "--from", "18612345678", "Y"], in: dir, environment: environment)
            #expect(yes.stdout.hasPrefix("套餐变更成功"), "\(yes.stdout)")
            let verify = try run(["records", "verify"], in: dir, environment: environment)
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            let list = try run(["records", "list"], in: dir, environment: environment)
            #expect(serviceRecordLines(list.stdout).count == 3, "\(list.stdout)")
            // Records of several chains, listed interleaved: the shipped checker follows each to its chain.
            for number in ["18611110001", "18611110002", "18611110003"] {
                _ = try run(["sms", "--from", number, "CXYE"], in: dir, environment: environment)
            }
            let all = try run(["records", "list"], in: dir, environment: environment)
            if let python3 {
                let script = Fixtures.repositoryRoot.appendingPathComponent("docs/examples/check_records.py").path
                let checked = try run([script], in: dir, stdin: all.stdout, program: python3)
                let lines = checked.stdout.split(separator: "\n")
                #expect(lines.count == all.stdout.split(separator: "\n").count && lines.count >= 6)
                #expect(lines.allSatisfy { $0.hasSuffix(" ok") }, "\(checked.stdout)")
            }
            let orders = try run(["orders", "list"], in: dir, environment: environment)
            #expect(orders.stdout.contains("plan.change"), "\(orders.stdout)")
            // Loading the demo again puts back the plan the conversation changed, and only that.
            let again = try run(["init", "--demo"], in: dir, environment: environment)
            #expect(again.stdout.contains("demo subscribers: applied 1, unchanged 22"), "\(again.stdout)")
        }
    }

    /// A read-only command on a database with no tables says to run `init`; a URL that is not one is refused
    /// without echoing it (it may hold a password); `--database` wins over `SELFCARE_DATABASE`.
    @Test func mistakesAreNamedWithoutThePassword() throws {
        try withPostgresFolder { dir, environment, _ in
            let empty = try run(["records", "verify"], in: dir, environment: environment)
            #expect(empty.status != 0 && empty.stderr.contains("run `selfcare init`"), "\(empty.stderr)")
            let bad = try run(
                ["records", "verify", "--database", "postgres://admin:s3cr3t@/nodb"], in: dir, environment: environment)
            #expect(bad.status != 0 && !bad.stderr.contains("s3cr3t"), "\(bad.stderr)")
            #expect(bad.stderr.contains("not a postgres://"), "\(bad.stderr)")
            let local = try run(["init", "--database", "local.sqlite"], in: dir, environment: environment)
            #expect(local.stdout.contains("database local.sqlite: ready"), "\(local.stdout)")
        }
    }

    /// A read-only command on a database an older selfcare made, which no node has migrated yet, says so and how
    /// to migrate it, instead of failing on a column it lacks.
    @Test func aReadOnlyCommandOnAnOlderSchemaSaysHowToMigrateIt() throws {
        try withPostgresFolder { dir, environment, location in
            #expect(try run(["init", "--demo"], in: dir, environment: environment).status == 0)
            let store = try PostgresServiceStore(location: location, connections: 2, migrate: false)
            try store.executeRaw("DELETE FROM selfcare_migrations WHERE name = 'v4-record-chains'")
            store.close()
            let verify = try run(["records", "verify"], in: dir, environment: environment)
            #expect(verify.status != 0, "\(verify.stdout)")
            #expect(
                verify.stderr.contains("the schema is older than this selfcare (v4-record-chains not applied)"),
                "\(verify.stderr)")
        }
    }
}
