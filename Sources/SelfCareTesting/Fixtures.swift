import Foundation
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCarePostgres
import SelfCareScenarios
import SelfCareStore

/// Builders for tests: plans, subscribers, a fast hasher and an engine over any store.
public enum Fixtures {
    /// A fixed pepper for tests (never use it in production).
    public static let pepper = Pepper(bytes: Array(repeating: 0x5a, count: 32))

    /// A cheap PBKDF2 hasher so tests run quickly; production uses `PBKDF2PasswordHasher.defaultIterations`.
    public static func hasher(iterations: Int = 1_000, pepper: Pepper = Fixtures.pepper) -> PBKDF2PasswordHasher {
        PBKDF2PasswordHasher(pepper: pepper, iterations: iterations)
    }

    /// 2026-11-15 10:00 in Beijing.
    public static let midNovember = ISOTime.parse("2026-11-15T10:00:00+08:00")!

    /// The test password of every fixture subscriber (not weak for any fixture number).
    public static let password = Secret("258036")

    public static let plans: [Plan] = [
        Plan(
            code: "P18", nameZh: "畅享18元套餐", nameEn: "Basic 18", monthlyFeeFen: 1800, voiceMinutes: 100, sms: 50,
            dataMB: 1024, payment: .both, onSale: true, contractOK: false),
        Plan(
            code: "P38", nameZh: "畅享38元套餐", nameEn: "Smart 38", monthlyFeeFen: 3800, voiceMinutes: 300, sms: 100,
            dataMB: 5120, payment: .both, onSale: true, contractOK: false),
        Plan(
            code: "P58", nameZh: "畅享58元套餐", nameEn: "Smart 58", monthlyFeeFen: 5800, voiceMinutes: 500, sms: 200,
            dataMB: 20480, payment: .postpaid, onSale: true, contractOK: true),
        Plan(
            code: "K19", nameZh: "大王卡19元", nameEn: "King Card 19", monthlyFeeFen: 1900, voiceMinutes: 100, sms: 0,
            dataMB: 30720, payment: .prepaid, onSale: true, contractOK: false),
        Plan(
            code: "L28", nameZh: "老用户28元套餐", nameEn: "Legacy 28", monthlyFeeFen: 2800, voiceMinutes: 200, sms: 100,
            dataMB: 500, payment: .both, onSale: false, contractOK: false),
    ]

    /// A postpaid subscriber on P38 with the fixture password hashed by `hasher`.
    public static func subscriber(
        _ msisdn: String = "18612345678", status: SubscriberStatus = .normal, payment: PaymentType = .postpaid,
        period: PrepaidPeriod? = nil, plan: String = "P38", language: Language = .chinese, premium: Bool = false,
        contractEnd: LocalDate? = nil, hasher: (any PasswordHasher)? = Fixtures.hasher()
    ) -> Subscriber {
        Subscriber(
            msisdn: msisdn, name: "张伟", status: status, payment: payment,
            prepaidPeriod: payment == .prepaid ? (period ?? .valid) : nil, planCode: plan, balanceFen: 12345,
            points: 3200, tier: .gold, language: language, premium: premium, contractEnd: contractEnd,
            passwordHash: try? hasher?.hash(password), puk: "12345678")
    }

    /// Loads the fixture plans and `subscribers` into `store`.
    public static func seed(_ store: any ServiceStore, subscribers: [Subscriber], usage: [UsageMonth] = []) async throws
    {
        try await store.write { writer in
            for plan in plans { try writer.save(plan) }
            for s in subscribers { try writer.save(s) }
            for u in usage { try writer.save(u) }
        }
    }

    /// The serial of the fixture catalogue's unused recharge card (CNY 50.00, 30 days).
    public static let cardSerial = "1000000000000001"
    /// The PIN of every fixture card.
    public static let cardPIN = Secret("123456789012345678")

    /// Loads a catalogue into `store`: four cards (unused, used, expired, frozen), the data packs `D10` (everyone),
    /// `D20` (everyone), `K5` (K19 only), the basic services `CLIP`, `CRBT`, `3WAY`, and the rewards `R10`
    /// (1,000 points) and `R50` (4,800 points). The cards' PINs are `cardPIN`, digested with `hasher`.
    public static func seedCatalogue(
        _ store: any ServiceStore, hasher: any PasswordHasher = Fixtures.hasher()
    )
        async throws
    {
        let cards = try [
            ("1000000000000001", RechargeCard.State.unused), ("1000000000000002", .used),
            ("1000000000000003", .expired), ("1000000000000004", .frozen),
        ].map { serial, state in
            RechargeCard(
                serial: serial, pinDigest: try hasher.cardPINDigest(cardPIN, serial: serial), valueFen: 5000,
                validityDays: 30, expires: LocalDate(year: 2027, month: 12, day: 31), state: state,
                usedAt: state == .used ? ISOTime.parse("2026-11-01T02:00:00Z") : nil,
                usedFor: state == .used ? "18600000000" : nil)
        }
        try await store.write { writer in
            for card in cards { try writer.save(card) }
            try writer.save(
                DataPack(
                    code: "D10", nameZh: "10元1GB流量包", nameEn: "1 GB pack", feeFen: 1000, dataMB: 1024, payment: .both,
                    plans: [], onSale: true))
            try writer.save(
                DataPack(
                    code: "D20", nameZh: "20元3GB流量包", nameEn: "3 GB pack", feeFen: 2000, dataMB: 3072, payment: .both,
                    plans: [], onSale: true))
            try writer.save(
                DataPack(
                    code: "K5", nameZh: "王卡5元2GB包", nameEn: "King 2 GB pack", feeFen: 500, dataMB: 2048,
                    payment: .prepaid, plans: ["K19"], onSale: true))
            for (code, zh, en, fee) in [
                ("CLIP", "来电显示", "Caller ID", 600), ("CRBT", "彩铃", "Ring-back tone", 500),
                ("3WAY", "三方通话", "Three-way calling", 500),
            ] {
                try writer.save(BasicService(code: code, nameZh: zh, nameEn: en, monthlyFeeFen: fee, onSale: true))
            }
            try writer.save(Reward(code: "R10", nameZh: "10元话费", nameEn: "CNY 10 credit", points: 1000, valueFen: 1000))
            try writer.save(Reward(code: "R50", nameZh: "50元话费", nameEn: "CNY 50 credit", points: 4800, valueFen: 5000))
        }
    }

    /// The prompts shipped in the repository's `prompts/` folder.
    public static func shippedPrompts() throws -> PromptCatalog {
        try PromptCatalog.load(directory: repositoryRoot.appendingPathComponent("prompts").path)
    }

    /// The grammars shipped in the repository's `grammars/` folder, checked against the shipped prompts.
    public static func shippedGrammars() throws -> GrammarSet {
        try GrammarSet(directory: repositoryRoot.appendingPathComponent("grammars").path, prompts: shippedPrompts())
    }

    /// An SMS channel over `engine` with the shipped grammars, refusing more than `rateLimit` messages a minute.
    public static func smsChannel(engine: OperationEngine, rateLimit: Int = 30) throws -> SMSChannel {
        var configuration = SMSConfiguration()
        configuration.rateLimit = rateLimit
        return SMSChannel(engine: engine, grammars: try shippedGrammars(), configuration: configuration)
    }

    /// The repository's root folder (where Package.swift is).
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// The `selfcare` executable built beside the test bundle, or the checkout's debug build.
    public static let selfcareBinary: String = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("selfcare").path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return repositoryRoot.appendingPathComponent(".build/debug/selfcare").path
    }()

    /// A logger that drops everything: what tests hand the gateway where its log is not what they check.
    public static let quietLogger = Logger(label: "selfcare.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// An engine over `store` with the shipped prompts (or `prompts`) and a cheap hasher.
    public static func engine(
        store: any ServiceStore, clock: any TimeSource = FixedTimeSource(midNovember),
        hasher: any PasswordHasher = Fixtures.hasher(), configuration: EngineConfiguration = EngineConfiguration(),
        prompts: PromptCatalog? = nil, logger: Logging.Logger? = nil
    ) throws -> OperationEngine {
        OperationEngine(
            store: store, hasher: hasher, prompts: try prompts ?? shippedPrompts(), configuration: configuration,
            clock: clock,
            pool: BlockingWorkPool(threads: 2),
            logger: logger ?? quietLogger)
    }
}

/// Runs `body` with a fresh SQLite store in a temporary folder that is removed afterwards.
public func withTemporaryDatabase<T>(_ body: (SQLiteServiceStore, URL) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { dir in
        let store = try SQLiteServiceStore(path: dir.appendingPathComponent("test.sqlite").path)
        return try await body(store, dir)
    }
}

/// The PostgreSQL server tests may create databases on, as its administrator's URL
/// (`SELFCARE_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres`, set by `.ci/run`); nil when the
/// environment names none, and the PostgreSQL cases are not run.
public let testPostgres: PostgresLocation? = ProcessInfo.processInfo.environment["SELFCARE_TEST_POSTGRES"].flatMap {
    PostgresLocation(url: $0)
}

/// Runs `body` with a fresh PostgreSQL store in a database of its own on the test server, dropped afterwards.
public func withTemporaryPostgres<T>(_ body: (PostgresServiceStore) async throws -> T) async throws -> T {
    guard let admin = testPostgres else { throw PostgresStoreError("SELFCARE_TEST_POSTGRES is not set") }
    let name = "selfcare_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    try PostgresAdmin.createDatabase(name, admin: admin)
    defer { try? PostgresAdmin.dropDatabase(name, admin: admin) }
    var location = admin
    location.database = name
    let store = try PostgresServiceStore(location: location, connections: 4)
    defer { store.close() }
    return try await body(store)
}

/// Scratch stores on the PostgreSQL test server, a database each, dropped when the store ends: for running the
/// scenarios on PostgreSQL. Nil when `SELFCARE_TEST_POSTGRES` names no server.
public func postgresScratchStores() -> ScratchStores? {
    guard let admin = testPostgres else { return nil }
    return ScratchStores(
        open: {
            let name = "selfcare_scenario_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            try PostgresAdmin.createDatabase(name, admin: admin)
            var location = admin
            location.database = name
            do {
                return try PostgresServiceStore(location: location, connections: 4)
            } catch {
                try? PostgresAdmin.dropDatabase(name, admin: admin)
                throw error
            }
        },
        close: { store in
            guard let postgres = store as? PostgresServiceStore else { return }
            postgres.close()
            try? PostgresAdmin.dropDatabase(postgres.location.database, admin: admin)
        })
}

/// Runs `body` with a fresh temporary folder that is removed afterwards.
public func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try await body(dir)
}
