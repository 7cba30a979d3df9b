import ArgumentParser
import Foundation
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareGrammar
import SelfCareHTTP
import SelfCareStore

/// Options every command takes (SPEC §4).
struct GlobalOptions: ParsableArguments {
    @Option(help: "The SQLite database file.")
    var database = "./selfcare.sqlite"

    @Option(help: "The folder of grammar files (default: ./grammars, else the one shipped beside the executable).")
    var grammars: String?

    @Option(help: "The folder of prompt files (default: ./prompts, else the one shipped beside the executable).")
    var prompts: String?

    /// The prompt folder: as given, else `./prompts`, else the repository's or installation's copy.
    var promptsDirectory: String { dataDirectory(prompts, named: "prompts") }

    /// The grammar folder, found the same way.
    var grammarsDirectory: String { dataDirectory(grammars, named: "grammars") }

    /// `explicit` when given; else `./NAME` when it exists; else `NAME` found from the executable
    /// (`.build/debug/selfcare` → the checkout's `NAME`, `bin/selfcare` → `share/selfcare/NAME`).
    private func dataDirectory(_ explicit: String?, named name: String) -> String {
        if let explicit { return explicit }
        let local = "./\(name)"
        if FileManager.default.fileExists(atPath: local) { return local }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let bin = executable.deletingLastPathComponent()
        let candidates = [
            bin.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(name),
            bin.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(name),
            bin.deletingLastPathComponent().appendingPathComponent("share/selfcare/\(name)"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }?.path ?? local
    }

    @Option(help: "The pepper file (default: beside the database, with extension .pepper; or SELFCARE_PEPPER_FILE).")
    var pepperFile: String?

    var pepperPath: String {
        if let pepperFile { return pepperFile }
        if let env = ProcessInfo.processInfo.environment["SELFCARE_PEPPER_FILE"], !env.isEmpty { return env }
        let base = database.hasSuffix(".sqlite") ? String(database.dropLast(".sqlite".count)) : database
        return base + ".pepper"
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
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Environment settings (all optional).
enum Environment {
    static var values: [String: String] { ProcessInfo.processInfo.environment }

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
        return configuration
    }

    static func iterations() throws -> Int {
        try integer(
            "SELFCARE_PBKDF2_ITERATIONS", default: PBKDF2PasswordHasher.defaultIterations, range: 1_000...10_000_000)
    }
}

/// What a command needs, opened from the global options.
struct Runtime {
    let options: GlobalOptions
    let store: SQLiteServiceStore
    let clock: any TimeSource
    let configuration: EngineConfiguration

    /// Opens the database (migrating it) and reads the environment.
    init(_ options: GlobalOptions, readonly: Bool = false) throws {
        self.options = options
        clock = try Environment.clock()
        configuration = try Environment.engineConfiguration()
        if readonly && !FileManager.default.fileExists(atPath: options.database) {
            throw CommandFailure("\(options.database): no such database; run `selfcare init` first")
        }
        var storeConfiguration = SQLiteStoreConfiguration()
        storeConfiguration.readonly = readonly
        do {
            store = try SQLiteServiceStore(path: options.database, configuration: storeConfiguration)
        } catch let error as StoreError {
            throw CommandFailure(error.message)
        } catch {
            throw CommandFailure("\(options.database): \(error)")
        }
    }

    func hasher() throws -> PBKDF2PasswordHasher {
        let pepper: Pepper
        do { pepper = try Pepper.load(from: options.pepperPath) } catch { throw CommandFailure("\(error)") }
        return PBKDF2PasswordHasher(pepper: pepper, iterations: try Environment.iterations())
    }

    func prompts() throws -> PromptCatalog {
        do {
            let catalog = try PromptCatalog.load(directory: options.promptsDirectory)
            guard !catalog.templates.isEmpty else {
                throw CommandFailure("\(options.promptsDirectory): no *.prompts files; pass --prompts DIR")
            }
            return catalog
        } catch let error as CommandFailure {
            throw error
        } catch let error as PromptFileError {
            throw CommandFailure("\(error)")
        } catch {
            throw CommandFailure(
                "\(options.promptsDirectory): cannot read prompts (\(error.localizedDescription)); pass --prompts DIR")
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

    /// The three channels over one engine and one set of grammars, for the server.
    func gatewayChannels() throws -> GatewayChannels {
        let engine = try engine(needsPasswords: false)
        let grammars = try grammarSet()
        var sms = SMSConfiguration()
        sms.rateLimit = try Environment.integer("SELFCARE_SMS_RATE_LIMIT", default: 30, range: 1...100_000)
        return GatewayChannels(
            sms: SMSChannel(engine: engine, grammars: grammars, configuration: sms),
            ussd: USSDChannel(engine: engine, grammars: grammars), ivr: IVRChannel(engine: engine, grammars: grammars))
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
        var configuration = SMSConfiguration()
        configuration.rateLimit = try Environment.integer("SELFCARE_SMS_RATE_LIMIT", default: 30, range: 1...100_000)
        return SMSChannel(
            engine: try engine(needsPasswords: false), grammars: try grammarSet(), configuration: configuration)
    }

    /// The compiled grammars, checked against the prompts.
    func grammarSet() throws -> GrammarSet {
        let prompts = try self.prompts()
        let grammars: GrammarSet
        do {
            grammars = try GrammarSet(directory: options.grammarsDirectory, prompts: prompts)
        } catch let errors as GrammarErrors {
            let first = errors.diagnostics.first.map { "\($0.path):\($0.location): \($0.message)" } ?? ""
            throw CommandFailure(
                "the grammars have \(errors.diagnostics.count) error\(errors.diagnostics.count == 1 ? "" : "s"), "
                    + "the first: \(first); run `selfcare check`")
        } catch {
            throw CommandFailure(
                "\(options.grammarsDirectory): cannot read grammars (\(error.localizedDescription)); pass --grammars DIR"
            )
        }
        return grammars
    }

    func importer(withHasher: Bool) throws -> CSVImporter {
        let hasher = withHasher ? try self.hasher() : nil
        return CSVImporter(
            store: store, hasher: hasher,
            pool: hasher == nil ? nil : BlockingWorkPool(threads: configuration.passwords.hashingConcurrency))
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

/// Bootstraps logging once: warnings and worse to standard error, unless SELFCARE_LOG_LEVEL says otherwise.
enum LoggingSetup {
    static let once: Void = {
        let level = Logger.Level(rawValue: ProcessInfo.processInfo.environment["SELFCARE_LOG_LEVEL"] ?? "") ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }()
}
