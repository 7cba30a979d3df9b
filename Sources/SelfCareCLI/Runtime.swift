import ArgumentParser
import Foundation
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareGrammar
import SelfCareHTTP
import SelfCarePostgres
import SelfCareStore

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: """
            The database: a SQLite file, or a PostgreSQL database as postgres://USER@HOST[:PORT]/DATABASE \
            (default: SELFCARE_DATABASE, else ./selfcare.sqlite).
            """)
    var databaseOption: String?

    /// The database the command uses: the option, else `SELFCARE_DATABASE`, else `./selfcare.sqlite`.
    var database: String {
        if let databaseOption { return databaseOption }
        if let env = ProcessInfo.processInfo.environment["SELFCARE_DATABASE"], !env.isEmpty { return env }
        return "./selfcare.sqlite"
    }

    /// Whether the database is a PostgreSQL URL rather than a file.
    var isPostgres: Bool { PostgresLocation.isURL(database) }

    /// The database as messages name it: a URL without its password.
    var databaseShown: String {
        guard isPostgres else { return database }
        return PostgresLocation(url: database)?.description ?? "postgres://…"
    }

    @Option(
        help: """
            The folder of grammar files (default: SELFCARE_GRAMMARS, else ./grammars, else \
            PREFIX/share/selfcare/grammars for PREFIX/bin/selfcare, else the source checkout's).
            """)
    var grammars: String?

    @Option(
        help: """
            The folder of prompt files (default: SELFCARE_PROMPTS, else ./prompts, else \
            PREFIX/share/selfcare/prompts for PREFIX/bin/selfcare, else the source checkout's).
            """)
    var prompts: String?

    /// The prompt folder, found as `DataFolder.locate` says.
    /// - Throws: `CommandFailure` naming where it looked when there is none.
    func promptsFolder() throws -> String { try DataFolder.prompts.locate(explicit: prompts) }

    /// The grammar folder, found the same way.
    func grammarsFolder() throws -> String { try DataFolder.grammars.locate(explicit: grammars) }

    @Option(help: "The pepper file (default: beside the database, with extension .pepper; or SELFCARE_PEPPER_FILE).")
    var pepperFile: String?

    var pepperPath: String {
        if let pepperFile { return pepperFile }
        if let env = ProcessInfo.processInfo.environment["SELFCARE_PEPPER_FILE"], !env.isEmpty { return env }
        // A database on a server has no folder to keep the pepper beside: the working folder's.
        if isPostgres { return "./selfcare.pepper" }
        let base = database.hasSuffix(".sqlite") ? String(database.dropLast(".sqlite".count)) : database
        return base + ".pepper"
    }
}

/// A folder of data files read at start and on reload (grammars, prompts), and where it is looked for.
struct DataFolder {
    static let grammars = DataFolder(name: "grammars", variable: "SELFCARE_GRAMMARS", option: "--grammars")
    static let prompts = DataFolder(name: "prompts", variable: "SELFCARE_PROMPTS", option: "--prompts")
    static let console = DataFolder(name: "console", variable: "SELFCARE_CONSOLE", option: "--console")

    /// `grammars` or `prompts`.
    let name: String
    let variable: String
    let option: String

    /// The folder, in this order: the option; the environment variable; `./NAME` in the working directory;
    /// `PREFIX/share/selfcare/NAME` when the executable is `PREFIX/bin/selfcare`, its symlinks resolved, then as
    /// found on PATH; the source checkout's `NAME` when the executable was built in the checkout's `.build`.
    /// - Throws: `CommandFailure` when a folder given by the option or variable does not exist, or when no
    ///   place has one (the message lists the places).
    func locate(explicit: String?) throws -> String {
        if let explicit { return try existing(explicit, from: option) }
        if let value = Environment.values[variable], !value.isEmpty { return try existing(value, from: variable) }
        let searched = ["./\(name)"] + Self.installedCandidates(name)
        if let found = searched.first(where: Self.isFolder) { return found }
        throw CommandFailure(
            "no \(name) folder: looked in \(searched.joined(separator: ", ")); pass \(option) DIR or set \(variable)")
    }

    private func existing(_ path: String, from source: String) throws -> String {
        guard Self.isFolder(path) else { throw CommandFailure("\(path): no such folder (given by \(source))") }
        return path
    }

    static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// `PREFIX/share/selfcare/NAME` beside the executable (resolved, then as invoked) and the checkout's
    /// `NAME` for a build in its `.build` folder.
    static func installedCandidates(_ name: String) -> [String] {
        var executables: [String] = []
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            executables.append(resolved)
        } else if let path = Bundle.main.executableURL?.resolvingSymlinksInPath().path {
            executables.append(path)
        }
        if let invoked = invokedPath(), !executables.contains(invoked) { executables.append(invoked) }
        var candidates: [String] = []
        // Every installation prefix before any checkout: a binary symlinked into an installation from a build
        // folder still reads the installation's data.
        for executable in executables {
            let bin = (executable as NSString).deletingLastPathComponent
            if (bin as NSString).lastPathComponent == "bin" {
                candidates.append(
                    (((bin as NSString).deletingLastPathComponent as NSString)
                        .appendingPathComponent("share/selfcare") as NSString).appendingPathComponent(name))
            }
        }
        for executable in executables {
            if let build = executable.range(of: "/.build/") {
                candidates.append((String(executable[..<build.lowerBound]) as NSString).appendingPathComponent(name))
            }
        }
        var unique: [String] = []
        for candidate in candidates where !unique.contains(candidate) { unique.append(candidate) }
        return unique
    }

    /// The executable as the shell found it: `argv[0]` when it holds a slash, else its first match on PATH.
    static func invokedPath() -> String? {
        guard let first = CommandLine.arguments.first, !first.isEmpty else { return nil }
        if first.contains("/") { return URL(fileURLWithPath: first).standardizedFileURL.path }
        for folder in (Environment.values["PATH"] ?? "").split(separator: ":") {
            let candidate = (String(folder) as NSString).appendingPathComponent(first)
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return URL(fileURLWithPath: candidate).standardizedFileURL.path
            }
        }
        return nil
    }
}

/// A fault a command reports as one line on standard error before exiting non-zero.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32 = 1
    init(_ message: String, code: Int32 = 1) {
        self.message = message
        self.code = code
    }
    var description: String { message }
}

/// Runs `body`, turning any error into `selfcare: MESSAGE` on standard error and a non-zero exit.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let failure as CommandFailure {
        printError("selfcare: \(failure.message)")
        throw ExitCode(failure.code)
    } catch {
        printError("selfcare: \(error)")
        throw ExitCode.failure
    }
}

func printError(_ text: String) {
    // What was printed before comes first, in a pipe as on a terminal: standard output is buffered.
    fflush(nil)
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Environment settings (all optional).
enum Environment {
    static var values: [String: String] { ProcessInfo.processInfo.environment }

    /// Every variable the executable reads, for `--help`; README.md has the same table.
    static let documented: [(name: String, meaning: String)] = [
        ("SELFCARE_NOW", "fixed clock, ISO 8601 (2026-12-01T09:00:00+08:00)"),
        ("SELFCARE_TIMEZONE", "the carrier's time zone (default Asia/Shanghai)"),
        ("SELFCARE_GRAMMARS", "grammars folder when --grammars is not given"),
        ("SELFCARE_PROMPTS", "prompts folder when --prompts is not given"),
        ("SELFCARE_DATABASE", "database (file or postgres:// URL) when --database is not given"),
        ("SELFCARE_PEPPER_FILE", "pepper file when --pepper-file is not given"),
        ("SELFCARE_PBKDF2_ITERATIONS", "PBKDF2 cost of new hashes (default 160000)"),
        ("SELFCARE_LOCKOUT_THRESHOLD", "own wrong passwords that lock (1-100, default 5)"),
        ("SELFCARE_LOCKOUT_HOURS", "hours a lock lasts (1-8760, default 24)"),
        ("SELFCARE_THIRD_PARTY_LIMIT", "third-party fails that lock (1-100, default 5)"),
        ("SELFCARE_THIRD_PARTY_HOURS", "hours a caller lock lasts (1-8760, default 24)"),
        ("SELFCARE_CARD_PIN_LIMIT", "wrong recharge-card PINs that lock a caller, or a card (1-100, default 5)"),
        ("SELFCARE_CARD_PIN_HOURS", "hours a card PIN lock lasts (1-8760, default 24)"),
        ("SELFCARE_ROAMING_DEPOSIT_FEN", "the international roaming deposit in fen (default 5000)"),
        ("SELFCARE_SURVEY_PERCENT", "transactions whose customer is asked to rate them, in % (0-100, default 0)"),
        ("SELFCARE_SURVEY_OPERATIONS", "the operations rated, comma-separated, or all (default: all transactions)"),
        ("SELFCARE_SMS_RATE_LIMIT", "SMS per number per minute (default 30)"),
        ("SELFCARE_ADMIN_TOKEN", "serve: token of /v1/records, /v1/admin/reload"),
        ("SELFCARE_CONSOLE_ACCOUNTS", "serve: the web console's accounts file (turns /console on)"),
        ("SELFCARE_CONSOLE", "serve: the console's templates and static files folder"),
        ("SELFCARE_CHANNELS", "channels served and checked (default sms,ussd,ivr)"),
        ("SELFCARE_LOG_LEVEL", "log level, trace to critical (default warning)"),
        ("SELFCARE_INBOX", "sync, serve: the feed inbox when --inbox is not given"),
        ("SELFCARE_WEBHOOK_TOKEN", "bearer token sent with orders to --webhook"),
    ]

    /// The clock: fixed when SELFCARE_NOW is set.
    static func clock() throws -> any TimeSource {
        guard let text = values["SELFCARE_NOW"], !text.isEmpty else { return SystemTimeSource() }
        guard let instant = ISOTime.parse(text) else {
            throw CommandFailure(
                "SELFCARE_NOW: expected an ISO 8601 time such as 2026-12-01T09:00:00+08:00, found `\(text)`")
        }
        return FixedTimeSource(instant)
    }

    static func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = values[name], !text.isEmpty else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw CommandFailure(
                "\(name): expected a whole number in \(range.lowerBound)...\(range.upperBound), found `\(text)`")
        }
        return n
    }

    static func engineConfiguration() throws -> EngineConfiguration {
        var configuration = EngineConfiguration()
        if let zone = values["SELFCARE_TIMEZONE"], !zone.isEmpty {
            guard let tz = TimeZone(identifier: zone) else {
                throw CommandFailure("SELFCARE_TIMEZONE: unknown time zone `\(zone)`")
            }
            configuration.calendar = LocalCalendar(timeZone: tz)
        }
        configuration.passwords.lockoutThreshold = try integer("SELFCARE_LOCKOUT_THRESHOLD", default: 5, range: 1...100)
        configuration.passwords.lockoutDuration =
            TimeInterval(try integer("SELFCARE_LOCKOUT_HOURS", default: 24, range: 1...24 * 365)) * 3600
        configuration.passwords.thirdPartyThreshold = try integer(
            "SELFCARE_THIRD_PARTY_LIMIT", default: 5, range: 1...100)
        configuration.passwords.thirdPartyLockoutDuration =
            TimeInterval(try integer("SELFCARE_THIRD_PARTY_HOURS", default: 24, range: 1...24 * 365)) * 3600
        configuration.catalogue.roamingDepositFen = try integer(
            "SELFCARE_ROAMING_DEPOSIT_FEN", default: configuration.catalogue.roamingDepositFen, range: 0...100_000_000)
        let pins = try integer("SELFCARE_CARD_PIN_LIMIT", default: 5, range: 1...100)
        configuration.catalogue.pinCallerThreshold = pins
        configuration.catalogue.pinCardThreshold = pins
        configuration.catalogue.pinLockout =
            TimeInterval(try integer("SELFCARE_CARD_PIN_HOURS", default: 24, range: 1...24 * 365)) * 3600
        configuration.survey.sampleRate =
            Double(try integer("SELFCARE_SURVEY_PERCENT", default: 0, range: 0...100)) / 100
        if let text = values["SELFCARE_SURVEY_OPERATIONS"], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let operations = SurveyPolicy.operations(parsing: text) else {
                throw CommandFailure(
                    "SELFCARE_SURVEY_OPERATIONS: expected `all` or operations separated by commas "
                        + "(see `selfcare op --help`), found `\(text)`")
            }
            configuration.survey.operations = operations
        }
        return configuration
    }

    /// The channels a server runs, and whose grammars `serve` and `check` require: SELFCARE_CHANNELS, a
    /// comma-separated subset of sms, ussd and ivr; all three when unset.
    static func channels() throws -> Set<Channel> {
        guard let text = values["SELFCARE_CHANNELS"], !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            return GrammarSet.servedChannels
        }
        var channels: Set<Channel> = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            let channel = Channel(rawValue: name)
            guard GrammarSet.servedChannels.contains(channel) else {
                throw CommandFailure(
                    "SELFCARE_CHANNELS: expected channels among sms, ussd and ivr, separated by commas, found `\(name)`"
                )
            }
            channels.insert(channel)
        }
        return channels
    }

    static func iterations() throws -> Int {
        try integer(
            "SELFCARE_PBKDF2_ITERATIONS", default: PBKDF2PasswordHasher.defaultIterations, range: 1_000...10_000_000)
    }
}

/// What a command needs, opened from the global options.
struct Runtime {
    /// How a command opens the database.
    enum Access {
        /// Create it when missing: `init` and `serve --demo` only.
        case create
        /// An existing database, migrated to the current schema.
        case existing
        /// An existing database, read only (`records`).
        case readonly
    }

    let options: GlobalOptions
    let store: any ServiceStore
    let clock: any TimeSource
    let configuration: EngineConfiguration

    /// Opens the database (migrating it) and reads the environment. Only `.create` makes a new database:
    /// any other command on a mistyped path would otherwise leave an empty database there, which a later
    /// `serve --demo` would take for an existing one and not fill.
    init(_ options: GlobalOptions, access: Access = .existing) throws {
        self.options = options
        clock = try Environment.clock()
        configuration = try Environment.engineConfiguration()
        if options.isPostgres {
            store = try Self.openPostgres(options.database, access: access)
            return
        }
        try Self.checkDatabasePath(options.database, access: access)
        var storeConfiguration = SQLiteStoreConfiguration()
        storeConfiguration.readonly = access == .readonly
        do {
            store = try SQLiteServiceStore(path: options.database, configuration: storeConfiguration)
        } catch let error as StoreError {
            throw CommandFailure(error.message)
        } catch {
            throw CommandFailure("\(options.database): \(error)")
        }
    }

    /// Opens the PostgreSQL database `url` names. The database itself must exist (a server's administrator makes
    /// it); `init` and `serve --demo` create its tables, every other command migrates them, read-only ones only
    /// read a database already initialised.
    static func openPostgres(_ url: String, access: Access) throws -> PostgresServiceStore {
        guard let location = PostgresLocation(url: url) else {
            // Not echoed: the URL may hold a password.
            throw CommandFailure("--database: not a postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE URL")
        }
        do {
            return try PostgresServiceStore(location: location, migrate: access != .readonly)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// Whether the database holds nothing yet (no plan): `serve --demo` fills only such a database.
    static func isNewDatabase(_ options: GlobalOptions) async throws -> Bool {
        guard options.isPostgres else { return DatabaseFile(options.database).isNew }
        let store = try openPostgres(options.database, access: .create)
        defer { store.close() }
        return try await store.read { try $0.plans().isEmpty }
    }

    /// What is at the database path: nothing, an empty file, a database file, or something else.
    enum DatabaseFile {
        case missing, empty, file, other(String)

        /// Nothing there yet, or an empty file: `serve --demo` fills it.
        var isNew: Bool {
            switch self {
            case .missing, .empty: true
            case .file, .other: false
            }
        }

        init(_ path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else {
                self = errno == ENOENT || errno == ENOTDIR ? .missing : .other(String(cString: strerror(errno)))
                return
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG: self = info.st_size == 0 ? .empty : .file
            case S_IFDIR: self = .other("a folder")
            case S_IFCHR, S_IFBLK: self = .other("a device")
            case S_IFIFO: self = .other("a FIFO")
            default: self = .other("not a regular file")
            }
        }
    }

    /// Refuses a database path a command must not open: for `.create` anything but a regular file or
    /// nothing in an existing folder; otherwise anything but a non-empty regular file, so that no command
    /// but `init` and `serve --demo` leaves a database (or a journal beside `/dev/null`) behind.
    static func checkDatabasePath(_ path: String, access: Access) throws {
        if PostgresLocation.isURL(path) { return }
        let folder = (path as NSString).deletingLastPathComponent
        switch DatabaseFile(path) {
        case .file: return
        case .other(let what):
            throw CommandFailure("\(path): not a database file (\(what)); pass --database FILE")
        case .missing where access == .create, .empty where access == .create:
            guard folder.isEmpty || DataFolder.isFolder(folder) else {
                throw CommandFailure("\(path): no such folder \(folder) for the database")
            }
        case .missing:
            throw CommandFailure("\(path): no such database; run 'selfcare init' first")
        case .empty:
            throw CommandFailure("\(path): an empty file, not a database; run 'selfcare init' first")
        }
    }

    func hasher() throws -> PBKDF2PasswordHasher {
        PBKDF2PasswordHasher(pepper: try pepper(), iterations: try Environment.iterations())
    }

    /// The pepper file's pepper.
    func pepper() throws -> Pepper {
        do { return try Pepper.load(from: options.pepperPath) } catch { throw CommandFailure("\(error)") }
    }

    /// The reply texts of the prompts folder.
    func prompts() throws -> PromptCatalog {
        let folder = try options.promptsFolder()
        do {
            let catalog = try PromptCatalog.load(directory: folder)
            guard !catalog.templates.isEmpty else {
                throw CommandFailure("\(folder): no *.prompts files; pass --prompts DIR")
            }
            return catalog
        } catch let error as CommandFailure {
            throw error
        } catch let error as PromptFileError {
            throw CommandFailure("\(error)")
        } catch let error as TextFileError {
            throw CommandFailure("\(error)")
        } catch {
            throw CommandFailure("\(folder): cannot read prompts (\(error.localizedDescription)); pass --prompts DIR")
        }
    }

    /// The operations engine. With `needsPasswords` false a missing or unsafe pepper does not stop
    /// password-free work (queries, `tick`); an attempt that does need a hash then fails with the pepper's message.
    func engine(needsPasswords: Bool = true) throws -> OperationEngine {
        let hasher: any PasswordHasher
        if needsPasswords {
            hasher = try self.hasher()
        } else {
            do { hasher = try self.hasher() } catch { hasher = UnavailablePasswordHasher(reason: "\(error)") }
        }
        return OperationEngine(
            store: store, hasher: hasher, prompts: try prompts(), configuration: configuration, clock: clock,
            logger: Logger(label: "selfcare"))
    }

    /// The three channels over one engine and one set of grammars, for the server: the grammars of `served`
    /// are required, now and at every reload; each session store is bounded by `sessions`.
    /// With `shared`, live USSD sessions and IVR calls are kept in the PostgreSQL database, sealed under a key
    /// derived from the pepper, so that any node can take a session's next step.
    func gatewayChannels(
        served: Set<Channel>, sessions: SessionLimits = SessionLimits(), shared: Bool = false
    ) throws -> GatewayChannels {
        let engine = try engine(needsPasswords: false)
        let grammars = try grammarSet(required: served)
        guard shared else {
            return GatewayChannels(engine: engine, grammars: grammars, sms: try smsConfiguration(), sessions: sessions)
        }
        guard let postgres = store as? PostgresServiceStore else {
            throw CommandFailure("sessions in the database need a PostgreSQL database (--database postgres://…)")
        }
        let key = try pepper().derivedKey(purpose: "live sessions")
        var channels = GatewayChannels(
            engine: engine, grammars: grammars, sms: try smsConfiguration(), sessions: sessions,
            ussdSessions: PostgresSessionStore<USSDSession>(
                kind: "ussd", store: postgres, sealingKey: key, idleTimeout: GatewayChannels.ussdIdleTimeout,
                limits: sessions),
            ivrSessions: PostgresSessionStore<IVRSession>(
                kind: "ivr", store: postgres, sealingKey: key, idleTimeout: GatewayChannels.ivrIdleTimeout,
                limits: sessions))
        // The USSD sessions seen lately, and how they ended: a retry of an END on another node gets its screen.
        channels.recentUSSD = PostgresSessionStore<RecentUSSD>(
            kind: "ussd-recent", store: postgres, sealingKey: key, idleTimeout: 2 * GatewayChannels.ussdIdleTimeout,
            limits: SessionLimits(capacity: sessions.capacity))
        return channels
    }

    /// The IVR channel over the engine and the grammars folder.
    func ivrChannel() throws -> IVRChannel {
        IVRChannel(engine: try engine(needsPasswords: false), grammars: try grammarSet())
    }

    /// The USSD channel over the engine and the grammars folder.
    func ussdChannel() throws -> USSDChannel {
        USSDChannel(engine: try engine(needsPasswords: false), grammars: try grammarSet())
    }

    /// The SMS channel over the engine and the grammars folder.
    func smsChannel() throws -> SMSChannel {
        SMSChannel(
            engine: try engine(needsPasswords: false), grammars: try grammarSet(), configuration: try smsConfiguration()
        )
    }

    /// The SMS settings of the environment (`SELFCARE_SMS_RATE_LIMIT`), read in this one place.
    func smsConfiguration() throws -> SMSConfiguration {
        var configuration = SMSConfiguration()
        configuration.rateLimit = try Environment.integer("SELFCARE_SMS_RATE_LIMIT", default: 30, range: 1...100_000)
        return configuration
    }

    /// The compiled grammars, checked against the prompts; the grammars of `required` must be there.
    func grammarSet(required: Set<Channel> = []) throws -> GrammarSet {
        let prompts = try self.prompts()
        let folder = try options.grammarsFolder()
        let grammars: GrammarSet
        do {
            grammars = try GrammarSet(directory: folder, prompts: prompts, required: required)
        } catch let errors as GrammarErrors {
            let first = errors.diagnostics.first.map { "\($0.path):\($0.location): \($0.message)" } ?? ""
            throw CommandFailure(
                "the grammars have \(errors.diagnostics.count) error\(errors.diagnostics.count == 1 ? "" : "s"), "
                    + "the first: \(first); run `selfcare check`")
        } catch let error as TextFileError {
            throw CommandFailure("\(error)")
        } catch {
            throw CommandFailure("\(folder): cannot read grammars (\(error.localizedDescription)); pass --grammars DIR")
        }
        return grammars
    }

    /// An engine for work that checks no password (a data load, listing orders), so that it needs neither the pepper
    /// nor, for work that renders nothing, the prompts folder; `hasher` makes the passwords a data load provisions.
    func quietEngine(hasher: (any PasswordHasher)? = nil, pool: BlockingWorkPool? = nil) -> OperationEngine {
        OperationEngine(
            store: store, hasher: hasher ?? UnavailablePasswordHasher(reason: "this command checks no password"),
            // The prompts when they can be read: a notice it queues (a rejected order compensated) is in the
            // customer's language; a command that renders nothing works without them.
            prompts: (try? prompts()) ?? PromptCatalog(templates: [:]), configuration: configuration, clock: clock,
            pool: pool,
            logger: Logger(label: "selfcare"))
    }

    /// The importer, applying through an engine of its own (`quietEngine`).
    func importer(withHasher: Bool) throws -> CSVImporter {
        let hasher = withHasher ? try self.hasher() : nil
        // One pool for the importer's hashing and its engine (which hashes nothing).
        let pool = hasher == nil ? nil : BlockingWorkPool(threads: configuration.passwords.hashingConcurrency)
        return CSVImporter(engine: quietEngine(hasher: hasher, pool: pool), hasher: hasher, pool: pool)
    }
}

/// Stands in for the hasher when the pepper cannot be loaded: every call fails with the reason.
struct UnavailablePasswordHasher: PasswordHasher {
    let reason: String
    func hash(_ password: Secret) throws -> String { throw CommandFailure(reason) }
    func verify(_ password: Secret, against stored: String) throws -> PasswordVerification {
        throw CommandFailure(reason)
    }
}
