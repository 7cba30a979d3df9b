import Foundation
import GRDB
import SelfCareCore
import SelfCareCrypto
import SelfCareStore
import SelfCareTesting
import Testing

/// The feed inbox (docs/sync.md): files in sequence, whole or nothing, archived or quarantined.
@Suite("Feed inbox sync")
struct InboxSyncTests {
    static let subscriberHeader =
        "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
    static let paymentHeader = "id,msisdn,paid_at,amount_fen,method"

    static func subscriber(
        _ number: String, name: String = "Li Na", status: String = "normal", password: String = ""
    )
        -> String
    {
        "\(number),\(name),\(status),postpaid,,P18,100,0,gold,en,false,,false,\(password)"
    }

    /// A fresh database with the plans and two subscribers, an inbox, a simulator delivering to it and the sync.
    struct Setup {
        let store: SQLiteServiceStore
        let engine: OperationEngine
        let dir: URL
        let inbox: URL
        let billing: BillingSimulator
        var configuration: InboxSync.Configuration

        var sync: InboxSync {
            InboxSync(
                importer: CSVImporter(engine: engine, hasher: Fixtures.hasher(), pool: BlockingWorkPool(threads: 2)),
                configuration: configuration)
        }

        func names(_ folder: String) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
        }
        var inboxNames: [String] { (try? names(inbox.path).filter { $0.contains(".") }) ?? [] }
        var archived: [String] {
            let folder = (configuration.archive as NSString).appendingPathComponent("2026-11-15")
            return (try? names(folder)) ?? []
        }
        var quarantined: [String] { (try? names(configuration.quarantine)) ?? [] }

        func importRecords() async throws -> [ServiceRecord] {
            try await store.records(matching: RecordFilter()).filter { $0.operation == "import" }
        }
    }

    static func withInbox(
        clock: any TimeSource = FixedTimeSource(Fixtures.midNovember), _ body: (Setup) async throws -> Void
    ) async throws {
        try await withTemporaryDatabase { store, dir in
            let engine = try Fixtures.engine(store: store, clock: clock)
            let imp = CSVImporter(engine: engine, hasher: Fixtures.hasher(), pool: BlockingWorkPool(threads: 2))
            _ = try await imp.importData(.plans, data: Data(plansCSV.utf8), source: "plans")
            let subscribers = [subscriberHeader, subscriber("18700000001"), subscriber("18700000002")]
            _ = try await imp.importData(
                .subscribers, data: Data(subscribers.joined(separator: "\n").utf8), source: "subscribers")
            let inbox = dir.appendingPathComponent("inbox")
            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
            try await body(
                Setup(
                    store: store, engine: engine, dir: dir, inbox: inbox, billing: BillingSimulator(inbox: inbox),
                    configuration: InboxSync.Configuration(inbox: inbox.path)))
        }
    }

    static func payments(_ rows: [(String, String, Int)]) -> String {
        ([paymentHeader] + rows.map { "\($0.0),\($0.1),2026-11-0\(rows.count)T09:00:00+08:00,\($0.2),online" })
            .joined(separator: "\n")
    }

    @Test func aGapHoldsLaterFilesUntilTheMissingOneArrivesThenAllApplyInOrder() async throws {
        try await Self.withInbox { setup in
            try setup.billing.deliver(.payments, sequence: 1, csv: Self.payments([("P1", "18700000001", 100)]))
            try setup.billing.deliver(.payments, sequence: 3, csv: Self.payments([("P3", "18700000001", 300)]))
            try setup.billing.deliver(.payments, sequence: 4, csv: Self.payments([("P4", "18700000001", 400)]))
            let first = try await setup.sync.drain()
            #expect(
                first.files.map(\.outcome) == [
                    .applied(applied: 1, unchanged: 0, omitted: 0, mode: .delta, encoding: .utf8),
                    .held(expecting: 2), .held(expecting: 2),
                ])
            let feed = try #require(first.feeds.first)
            #expect(feed.feed == "PAY_BOSS" && feed.next == 2 && feed.held == [3, 4] && feed.gap == 2...2)
            #expect(try await setup.store.read { try $0.payment(id: "P3") } == nil, "a held file applies nothing")
            #expect(
                setup.inboxNames.filter { $0.hasSuffix(".csv") } == [
                    "PAY_BOSS_20261206_000003.csv", "PAY_BOSS_20261206_000004.csv",
                ])

            // The status says the same without applying anything.
            let status = try await setup.sync.status()
            #expect(status.feeds == first.feeds)

            try setup.billing.deliver(.payments, sequence: 2, csv: Self.payments([("P2", "18700000001", 200)]))
            let second = try await setup.sync.drain()
            #expect(
                second.files.map(\.name) == [
                    "PAY_BOSS_20261206_000002.csv", "PAY_BOSS_20261206_000003.csv", "PAY_BOSS_20261206_000004.csv",
                ])
            #expect(second.files.allSatisfy { if case .applied = $0.outcome { true } else { false } })
            #expect(second.feeds.first?.next == 5 && second.feeds.first?.gap == nil)
            // Each file its own record, in sequence, naming its feed and number; every file archived with its .chk.
            let records = try await setup.importRecords().filter { $0.inputValues["feed"] == "PAY_BOSS" }
            #expect(records.map { $0.inputValues["sequence"] } == ["1", "2", "3", "4"])
            #expect(records.allSatisfy { $0.inputValues["source"]?.contains("/archive/2026-11-15/PAY_BOSS_") == true })
            #expect(setup.inboxNames.isEmpty)
            #expect(setup.archived.count == 8)
            let paid = try await setup.store.read { try $0.recentPayments("18700000001", limit: 10) }
            #expect(Set(paid.map(\.id)) == ["P1", "P2", "P3", "P4"])
        }
    }

    @Test func aRepeatedSequenceNumberIsSkippedAndSaidSo() async throws {
        try await Self.withInbox { setup in
            let csv = [Self.subscriberHeader + ",action", Self.subscriber("18700000003") + ",add"]
                .joined(separator: "\n")
            try setup.billing.deliver(.subscribers, sequence: 1, csv: csv)
            _ = try await setup.sync.drain()
            let before = try await dump(setup.store)
            // The same number again, another day and another content: skipped, set aside with a report.
            try setup.billing.deliver(
                .subscribers, sequence: 1, date: LocalDate(year: 2026, month: 12, day: 7),
                csv: [Self.subscriberHeader + ",action", Self.subscriber("18700000004") + ",add"]
                    .joined(separator: "\n"))
            let report = try await setup.sync.drain()
            let outcome = try #require(report.files.first)
            guard case .duplicate(let why) = outcome.outcome else {
                Issue.record("expected a duplicate, got \(outcome.outcome)")
                return
            }
            #expect(why.contains("sequence 000001 of SUBS_BOSS was applied at"), "\(why)")
            #expect(why.contains("from SUBS_BOSS_20261206_000001.csv (other content)"), "\(why)")
            #expect(try await dump(setup.store) == before, "nothing of a duplicate is applied, and no record")
            #expect(
                setup.quarantined == [
                    "SUBS_BOSS_20261207_000001.chk", "SUBS_BOSS_20261207_000001.csv",
                    "SUBS_BOSS_20261207_000001.report.txt",
                ])
            let text = try String(
                contentsOfFile: setup.configuration.quarantine + "/SUBS_BOSS_20261207_000001.report.txt",
                encoding: .utf8)
            #expect(text.contains("this file was skipped"), "\(text)")
        }
    }

    @Test func aFileLeftBehindByAStopAfterItsCommitIsArchivedNotAppliedTwice() async throws {
        try await Self.withInbox { setup in
            let url = try setup.billing.deliver(.payments, sequence: 1, csv: Self.payments([("P1", "18700000001", 9)]))
            let data = try Data(contentsOf: url)
            let check = try Data(contentsOf: url.deletingPathExtension().appendingPathExtension("chk"))
            _ = try await setup.sync.drain()
            // As if the process died between the commit and the move: the files are back in the inbox.
            try data.write(to: url)
            try check.write(to: url.deletingPathExtension().appendingPathExtension("chk"))
            let before = try await dump(setup.store)
            let report = try await setup.sync.drain()
            #expect(report.files.map(\.outcome) == [.archivedLate])
            #expect(try await dump(setup.store) == before)
            #expect(setup.inboxNames.isEmpty && setup.quarantined.isEmpty)
            #expect(setup.archived.contains("PAY_BOSS_20261206_000001-2.csv"))
        }
    }

    @Test func aFileCutShortOrMiscountedIsQuarantinedWithNothingApplied() async throws {
        try await Self.withInbox { setup in
            let csv = Self.payments([("P1", "18700000001", 100), ("P2", "18700000002", 200)])
            try setup.billing.deliver(.payments, sequence: 1, csv: csv, fault: .truncated(keeping: 60))
            let before = try await dump(setup.store)
            let report = try await setup.sync.drain()
            guard case .quarantined(let why) = report.files.first?.outcome else {
                Issue.record("expected quarantine, got \(report.files)")
                return
            }
            #expect(why.contains("bytes, its .chk says"), "\(why)")
            #expect(try await dump(setup.store) == before, "nothing applied, no record written")
            #expect(setup.quarantined.contains("PAY_BOSS_20261206_000001.report.txt"))
            #expect(report.feeds.first?.next == 1, "the feed still waits for its first file")

            // Sent again whole, with the same number: applied.
            try setup.billing.deliver(.payments, sequence: 1, csv: csv)
            let again = try await setup.sync.drain()
            #expect(
                again.files.map(\.outcome) == [
                    .applied(applied: 2, unchanged: 0, omitted: 0, mode: .delta, encoding: .utf8)
                ])

            // A sidecar whose row count is wrong: the file is not what was sent.
            try setup.billing.deliver(.payments, sequence: 2, csv: csv, fault: .wrongRowCount(3))
            let miscounted = try await setup.sync.drain()
            guard case .quarantined(let reason) = miscounted.files.first?.outcome else {
                Issue.record("expected quarantine, got \(miscounted.files)")
                return
            }
            #expect(reason.contains("its .chk says 3 rows, the file has 2"), "\(reason)")
        }
    }

    @Test func aFileWithoutItsSidecarWaitsAndHoldsTheFeed() async throws {
        try await Self.withInbox { setup in
            let url = try setup.billing.deliver(
                .payments, sequence: 1, csv: Self.payments([("P1", "18700000001", 100)]), fault: .noSidecar)
            try setup.billing.deliver(.payments, sequence: 2, csv: Self.payments([("P2", "18700000001", 100)]))
            let waiting = try await setup.sync.drain()
            #expect(waiting.files.map(\.outcome) == [.waiting, .held(expecting: 1)])
            #expect(waiting.feeds.first?.waiting == ["PAY_BOSS_20261206_000001.csv"])
            try setup.billing.complete(url)
            let done = try await setup.sync.drain()
            #expect(done.files.count == 2 && done.feeds.first?.next == 3)
        }
    }

    @Test func oneBadRowQuarantinesTheWholeFileAndTheReportListsEveryBadRow() async throws {
        try await Self.withInbox { setup in
            let csv = [
                Self.paymentHeader, "P1,18700000001,2026-11-01T09:00:00+08:00,100,online",
                "P2,18700000001,2026-11-01T09:00:00+08:00,0,online",
                "P3,19900000000,2026-11-01T09:00:00+08:00,100,online",
            ].joined(separator: "\n")
            try setup.billing.deliver(.payments, sequence: 1, csv: csv)
            let before = try await dump(setup.store, tables: ["payments", "records"])
            let report = try await setup.sync.drain()
            let text = try #require(report.files.first?.report)
            #expect(text.contains("reason: 2 rows refused"), "\(text)")
            #expect(text.contains("line 3: amount_fen: must be at least 1, found 0"), "\(text)")
            #expect(text.contains("line 4: msisdn: unknown subscriber 19900000000"), "\(text)")
            #expect(try await dump(setup.store, tables: ["payments", "records"]) == before)
        }
    }

    /// A billing export in GBK (its sidecar says so) and one in GB18030 (the source's setting says so) apply
    /// byte for byte: the names read back exactly, four-byte GB18030 characters included.
    @Test func gbkAndGB18030FeedFilesApplyByteForByte() async throws {
        try await Self.withInbox { setup in
            var setup = setup
            let header = Self.subscriberHeader + ",action"
            let gbk = [header, Self.subscriber("18700000001", name: "欧阳娜娜") + ",change"].joined(separator: "\n")
            try setup.billing.deliver(.subscribers, sequence: 1, csv: gbk, encoding: .gbk, declareEncoding: true)
            let gb18030 = [header, Self.subscriber("18700000002", name: "𠮷田·张伟") + ",change"].joined(separator: "\n")
            try setup.billing.deliver(.subscribers, sequence: 2, csv: gb18030, encoding: .gb18030)
            setup.configuration.encodings = ["BOSS": .gb18030]
            let report = try await setup.sync.drain()
            #expect(
                report.files.map(\.outcome) == [
                    .applied(applied: 1, unchanged: 0, omitted: 0, mode: .delta, encoding: .gbk),
                    .applied(applied: 1, unchanged: 0, omitted: 0, mode: .delta, encoding: .gb18030),
                ])
            #expect(try await setup.store.read { try $0.subscriber("18700000001") }?.name == "欧阳娜娜")
            #expect(try await setup.store.read { try $0.subscriber("18700000002") }?.name == "𠮷田·张伟")
        }
    }

    @Test func aDeltaClosesANumberAndAClosedNumberComesBackAsANewCustomer() async throws {
        try await Self.withInbox { setup in
            let hasher = Fixtures.hasher()
            try await setup.store.write { writer in
                var s = try writer.subscriber("18700000001")!
                s.passwordHash = try hasher.hash(Secret("470159"))
                try writer.save(s)
                try writer.save(
                    PendingChange(
                        msisdn: "18700000001", kind: .planChange, planCode: "P58",
                        effective: LocalDate(iso: "2026-12-01")!,
                        requestedAt: Fixtures.midNovember))
            }
            let header = Self.subscriberHeader + ",action"
            try setup.billing.deliver(
                .subscribers, sequence: 1, csv: [header, "18700000001,,,,,,,,,,,,,,close"].joined(separator: "\n"))
            _ = try await setup.sync.drain()
            let closed = try #require(try await setup.store.read { try $0.subscriber("18700000001") })
            #expect(closed.status == .closed)
            #expect(try await setup.store.read { try $0.pendingChanges("18700000001") }.isEmpty)
            let refused = await setup.engine.perform(
                OperationRequest(operation: .queryBalance, channel: .api, caller: "18700000001"))
            #expect(refused.reason == .closed)

            // Changing a closed number is refused; adding it again is a new customer, without the old password.
            try setup.billing.deliver(
                .subscribers, sequence: 2,
                csv: [header, Self.subscriber("18700000001", name: "New Owner") + ",change"].joined(separator: "\n"))
            let change = try await setup.sync.drain()
            guard case .quarantined = change.files.first?.outcome else {
                Issue.record("expected quarantine: \(change.files)")
                return
            }
            #expect(change.files.first?.report?.contains("action: change, but 18700000001 is closed") == true)
            try FileManager.default.removeItem(at: setup.inbox.appendingPathComponent("quarantine"))
            try setup.billing.deliver(
                .subscribers, sequence: 2,
                csv: [header, Self.subscriber("18700000001", name: "New Owner") + ",add"].joined(separator: "\n"))
            _ = try await setup.sync.drain()
            let reopened = try #require(try await setup.store.read { try $0.subscriber("18700000001") })
            #expect(reopened.status == .normal && reopened.name == "New Owner" && reopened.passwordHash == nil)
        }
    }

    @Test func aSnapshotClosesTheNumbersItLeavesOutWithinItsLimit() async throws {
        try await Self.withInbox { setup in
            var setup = setup
            let snapshot = [Self.subscriberHeader, Self.subscriber("18700000001")].joined(separator: "\n")
            // One of two open numbers left out is half of them: over the default limit of a tenth.
            try setup.billing.deliver(.subscribers, sequence: 1, csv: snapshot, mode: .snapshot)
            let refused = try await setup.sync.drain()
            guard case .quarantined(let why) = refused.files.first?.outcome else {
                Issue.record("expected quarantine: \(refused.files)")
                return
            }
            #expect(why.contains("would close 1 of 2 open numbers, more than its limit of 10%"), "\(why)")
            #expect(try await setup.store.read { try $0.subscriber("18700000002") }?.status == .normal)

            setup.configuration.snapshotCloseLimit = 0.5
            try setup.billing.deliver(.subscribers, sequence: 1, csv: snapshot, mode: .snapshot)
            let applied = try await setup.sync.drain()
            #expect(
                applied.files.map(\.outcome) == [
                    .applied(applied: 0, unchanged: 1, omitted: 1, mode: .snapshot, encoding: .utf8)
                ])
            #expect(try await setup.store.read { try $0.subscriber("18700000002") }?.status == .closed)
            let record = try #require(try await setup.importRecords().last)
            #expect(record.inputValues["mode"] == "snapshot" && record.inputValues["omitted"] == "1")
        }
    }

    /// Billing sends the stored hash instead of the password: the feed applies it as it is, and the customer logs
    /// in with the password it was made from.
    @Test func aStoredHashFromTheFeedChecksTheLogin() async throws {
        try await Self.withInbox { setup in
            let stored = try Fixtures.hasher().hash(Secret("470159"))
            let csv = [
                Self.subscriberHeader + ",password_hash,action",
                Self.subscriber("18700000005") + ",\(csvField(stored)),add",
            ].joined(separator: "\n")
            try setup.billing.deliver(.subscribers, sequence: 1, csv: csv)
            _ = try await setup.sync.drain()
            func login(_ password: String) async -> OperationOutcome {
                await setup.engine.perform(
                    OperationRequest(
                        operation: .queryPayments, channel: .api, caller: "18700000005", password: Secret(password)))
            }
            #expect(await login("111111").reason == .badPassword)
            let right = await login("470159")
            #expect(right.record?.auth == "ok" && right.reason == .ok, "\(right.reply)")
        }
    }

    @Test func namesThatDoNotFollowThePatternAreSetAsideAndOldArchiveDaysExpire() async throws {
        let clock = ManualTimeSource(Fixtures.midNovember)
        try await Self.withInbox(clock: clock) { setup in
            try Data("a,b\n".utf8).write(to: setup.inbox.appendingPathComponent("subscribers.csv"))
            try Data("partial".utf8).write(to: setup.inbox.appendingPathComponent("SUBS_BOSS_20261206_000001.csv.part"))
            try setup.billing.deliver(.payments, sequence: 1, csv: Self.payments([("P1", "18700000001", 100)]))
            let report = try await setup.sync.drain()
            #expect(report.files.first?.name == "subscribers.csv")
            guard case .quarantined(let why) = report.files.first?.outcome else {
                Issue.record("expected quarantine: \(report.files)")
                return
            }
            #expect(why.contains("KIND_SOURCE_YYYYMMDD_NNNNNN.csv"))
            #expect(setup.inboxNames == ["SUBS_BOSS_20261206_000001.csv.part"], "a sender's partial file is left alone")
            #expect(setup.archived.count == 2)
            clock.advance(by: 91 * 86_400)
            let later = try await setup.sync.drain()
            #expect(later.expired == ["2026-11-15"])
        }
    }

    @Test func feedFileNamesAndSidecars() throws {
        let name = try #require(FeedFileName("SUBS_BOSS_20261206_000123.csv"))
        #expect(name.kind == .subscribers && name.source == "BOSS" && name.sequence == 123)
        #expect(name.feed == "SUBS_BOSS" && name.checkName == "SUBS_BOSS_20261206_000123.chk")
        for bad in [
            "SUBS_BOSS_20261206_000123.CSV", "SUBS_boss_20261206_000123.csv", "SUBS_BOSS_20261332_000123.csv",
            "SUBS_BOSS_20261206_123.csv", "SUBS_BOSS_20261206_000000.csv", "FOO_BOSS_20261206_000001.csv",
            "SUBS__20261206_000001.csv", "SUBS_BOSS_20261206_000001_X.csv", "SUBS_BOSS_20260229_000001.csv",
        ] {
            #expect(FeedFileName(bad) == nil, "\(bad)")
        }
        let data = Data("id\n1\n".utf8)
        let check = try FeedCheck.parse(Data(FeedCheck.text(for: data, file: "X.csv", rows: 1, encoding: .gbk).utf8))
        #expect(check.rows == 1 && check.bytes == data.count && check.mode == .delta && check.encoding == .gbk)
        for (text, problem) in [
            ("file=X.csv\nrows=1\nbytes=5\n", "`sha256` is missing"),
            ("file=X.csv\nrows=1\nbytes=5\nsha256=zz\n", "sha256: expected 64 hex digits"),
            ("file=X.csv\nrows=-1\nbytes=5\nsha256=\(String(repeating: "a", count: 64))\n", "rows: expected a count"),
            ("file=X.csv\nfile=Y.csv\n", "line 2: `file` given twice"),
            ("size=5\n", "line 1: unknown key `size`"),
        ] {
            #expect(throws: (any Error).self) { try FeedCheck.parse(Data(text.utf8)) }
            do { _ = try FeedCheck.parse(Data(text.utf8)) } catch { #expect("\(error)" == problem) }
        }
    }

    /// A reassigned number shows its new owner nothing of the old one's: no calls, payments, bills, waiting
    /// confirmation or caller lock.
    @Test func aReassignedNumberStartsWithoutThePreviousOwnersPast() async throws {
        try await Self.withInbox { setup in
            try await setup.store.write { writer in
                try writer.save(
                    Payment(
                        id: "OLD-1", msisdn: "18700000001", paidAt: Fixtures.midNovember, amountFen: 100,
                        method: .online))
                try writer.save(
                    UsageMonth(
                        msisdn: "18700000001", month: Month(year: 2026, month: 10), voiceUsed: 1, smsUsed: 1,
                        dataUsedMB: 1, chargesFen: 1700))
                try writer.save(
                    PendingConfirmation(
                        caller: "18700000001", channel: .sms, operation: .planChange, subject: "18700000001",
                        arguments: ["plan": "P58"], session: "m1", requestedAt: Fixtures.midNovember,
                        expiresAt: Fixtures.midNovember.addingTimeInterval(300), language: nil))
            }
            let header = Self.subscriberHeader + ",action"
            try setup.billing.deliver(
                .subscribers, sequence: 1, csv: [header, "18700000001,,,,,,,,,,,,,,close"].joined(separator: "\n"))
            _ = try await setup.sync.drain()
            #expect(
                try await setup.store.read { try $0.confirmation(caller: "18700000001", channel: .sms) } == nil,
                "closing drops a waiting confirmation")
            try setup.billing.deliver(
                .subscribers, sequence: 2,
                csv: [header, Self.subscriber("18700000001", name: "New Owner") + ",add"].joined(separator: "\n"))
            _ = try await setup.sync.drain()
            #expect(try await setup.store.read { try $0.recentPayments("18700000001", limit: 5) }.isEmpty)
            #expect(
                try await setup.store.read { try $0.usage("18700000001", month: Month(year: 2026, month: 10)) } == nil)
        }
    }

    /// The snapshot limit counts every number the file closes against the numbers open before it: new numbers
    /// cannot dilute it, and closing by rows counts as much as leaving out.
    @Test func aSnapshotCannotGetPastItsLimitByAddingNumbersOrByClosingRows() async throws {
        try await Self.withInbox { setup in
            // 20 new numbers and one of the two existing ones: closes 1 of the 2 open before.
            let diluted =
                [Self.subscriberHeader, Self.subscriber("18700000001")]
                + (10...29).map { Self.subscriber("187000000\($0)") }
            try setup.billing.deliver(.subscribers, sequence: 1, csv: diluted.joined(separator: "\n"), mode: .snapshot)
            let first = try await setup.sync.drain()
            guard case .quarantined(let why) = first.files.first?.outcome else {
                Issue.record("expected quarantine: \(first.files)")
                return
            }
            #expect(why.contains("would close 1 of 2 open numbers"), "\(why)")
            try FileManager.default.removeItem(at: setup.inbox.appendingPathComponent("quarantine"))
            // Every number listed, every one closed.
            let closing = [
                Self.subscriberHeader, Self.subscriber("18700000001", status: "closed"),
                Self.subscriber("18700000002", status: "closed"),
            ]
            try setup.billing.deliver(.subscribers, sequence: 1, csv: closing.joined(separator: "\n"), mode: .snapshot)
            let second = try await setup.sync.drain()
            guard case .quarantined(let reason) = second.files.first?.outcome else {
                Issue.record("expected quarantine: \(second.files)")
                return
            }
            #expect(reason.contains("would close 2 of 2 open numbers"), "\(reason)")
            #expect(try await setup.store.read { try $0.openSubscriberNumbers() }.count == 2)
            // A plans snapshot without rows would take every plan off sale.
            try setup.billing.deliver(
                .plans, sequence: 1, csv: String(plansCSV.split(separator: "\n")[0]), mode: .snapshot)
            let plans = try await setup.sync.drain()
            guard case .quarantined(let empty) = plans.files.first?.outcome else {
                Issue.record("expected quarantine: \(plans.files)")
                return
            }
            #expect(empty.contains("no plan on sale"), "\(empty)")
        }
    }

    @Test func linksAreNeverFollowedAndASidecarMayEndItsLinesWithCRLF() async throws {
        try await Self.withInbox { setup in
            let fm = FileManager.default
            // A data file that is a link to a file elsewhere: set aside, the target never read.
            let secret = setup.dir.appendingPathComponent("secret.csv")
            try Data("id,msisdn,paid_at,amount_fen,method\n".utf8).write(to: secret)
            let name = "PAY_BOSS_20261206_000001"
            try fm.createSymbolicLink(
                atPath: setup.inbox.appendingPathComponent(name + ".csv").path, withDestinationPath: secret.path)
            try Data(FeedCheck.text(for: try Data(contentsOf: secret), file: name + ".csv", rows: 0).utf8)
                .write(to: setup.inbox.appendingPathComponent(name + ".chk"))
            let linked = try await setup.sync.drain()
            guard case .quarantined(let why) = linked.files.first?.outcome else {
                Issue.record("expected quarantine: \(linked.files)")
                return
            }
            #expect(why.contains("not a regular file"))
            #expect(fm.fileExists(atPath: secret.path), "the target is left alone")

            // A stale sidecar in quarantine does not stop the pass; the CRLF sidecar is read.
            try Data("stale".utf8).write(
                to: setup.inbox.appendingPathComponent("quarantine/PAY_BOSS_20261206_000002.chk"))
            let csv = Self.payments([("P1", "18700000001", 100)])
            let url = try setup.billing.deliver(.payments, sequence: 1, csv: csv)
            let sidecar = url.deletingPathExtension().appendingPathExtension("chk")
            let crlf = try String(contentsOf: sidecar, encoding: .utf8).replacingOccurrences(of: "\n", with: "\r\n")
            try Data(crlf.utf8).write(to: sidecar)
            try setup.billing.deliver(
                .payments, sequence: 2,
                csv: "id,msisdn,paid_at,amount_fen,method\nP2,18700000001,2026-11-01T09:00:00+08:00,0,online")
            let report = try await setup.sync.drain()
            #expect(report.files.count == 2)
            #expect(
                report.files.first?.outcome
                    == .applied(applied: 1, unchanged: 0, omitted: 0, mode: .delta, encoding: .utf8))
            guard case .quarantined = report.files.last?.outcome else {
                Issue.record("expected quarantine: \(report.files)")
                return
            }
            #expect(
                fm.fileExists(
                    atPath: setup.inbox.appendingPathComponent("quarantine/PAY_BOSS_20261206_000002-2.csv").path))

            // An archive that is a link is refused, not followed.
            let elsewhere = setup.dir.appendingPathComponent("elsewhere")
            try fm.createDirectory(at: elsewhere, withIntermediateDirectories: true)
            try fm.removeItem(at: setup.inbox.appendingPathComponent("archive"))
            try fm.createSymbolicLink(
                atPath: setup.inbox.appendingPathComponent("archive").path, withDestinationPath: elsewhere.path)
            await #expect(throws: ImportFileError.self) { try await setup.sync.drain() }
        }
    }
}
