import ArgumentParser
import Foundation
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareGrammar
import SelfCareScenarios
import SelfCareStore
import Synchronization

/// Durable-write benchmarks on this machine, each beside its baseline measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure durable records and the in-process SMS path against single-row SQLite commits.",
        discussion: """
            In a scratch database (WAL, synchronous=FULL), alternately for --rounds rounds of --seconds each:
              baseline   one single-row transaction after another (rows/s)
              records/1  service records appended by one writer
              records/N  service records appended by --writers concurrent writers (group commit)
              sms/N      query.balance through the SMS channel from --writers concurrent senders
            Prints each round and the medians, with each figure as a ratio to the baseline.
            Build in release first: swift build -c release; .build/release/selfcare bench
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Concurrent writers and senders.")
    var writers = 32

    @Option(help: "Seconds each measurement runs.")
    var seconds = 3.0

    @Option(help: "Rounds (the medians are over them).")
    var rounds = 3

    @Flag(help: "Measure only PBKDF2 password verifications at the configured cost, on every core.")
    var kdf = false

    @Flag(help: "Measure only SMS grammar matching on one core, against a keyword dictionary lookup.")
    var grammar = false

    @Option(help: "Measure only the memory of this many live USSD sessions and as many IVR calls.")
    var sessions: Int?

    @Option(
        help: """
            Only flood the HTTP adapters with this many new USSD sessions and as many IVR calls, over a session \
            cap of --flood-cap, while a customer stands at a password screen and a caller at a confirmation; \
            report whether both came through, and resident memory before, at the peak and after expiry.
            """)
    var flood: Int?

    @Option(help: "The session cap of --flood (default: a tenth of the flood).")
    var floodCap: Int?

    func run() async throws {
        try await reportingFailures {
            guard writers >= 1, seconds > 0, rounds >= 1 else {
                throw ValidationError("--writers, --seconds and --rounds must be positive")
            }
            if kdf {
                try await measureKDF()
                return
            }
            if grammar {
                try measureGrammar()
                return
            }
            if let flood {
                let cap = floodCap ?? max(1, flood / 10)
                guard flood >= 1, cap >= 1 else { throw ValidationError("--flood and --flood-cap must be positive") }
                let report = try await SessionFlood(
                    capacity: cap, sessions: flood, grammars: try global.grammarsFolder(),
                    prompts: try global.promptsFolder(), start: try Environment.clock().now(), logger: Self.quiet
                ).run()
                print(report)
                if !report.customerKept || !report.callerKept || report.liveAfterExpiry != (0, 0) {
                    FileHandle.standardError.write(
                        Data("bench: the flood cost a customer their session, or left sessions behind\n".utf8))
                    throw ExitCode(1)
                }
                return
            }
            if let sessions {
                guard sessions >= 1 else { throw ValidationError("--sessions must be positive") }
                try await measureSessions(sessions)
                return
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-bench-\(getpid())")
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let clock = try Environment.clock()
            let (store, engine, numbers) = try await scratchGateway(in: folder, clock: clock)
            let writes = try await ScratchWrites(store: store)
            let grammars = try GrammarSet(directory: try global.grammarsFolder(), prompts: engine.prompts)
            var sms = SMSConfiguration()
            sms.rateLimit = .max  // the path, not the limiter's refusals
            let channel = SMSChannel(engine: engine, grammars: grammars, configuration: sms)
            let duration = seconds
            let n = writers

            var results: [String: [Double]] = [:]
            var batches: [Double] = []
            for round in 1...rounds {
                let baseline = try await Self.rate(for: duration) { i in try await writes.commitRow(i) }
                let single = try await Self.rate(for: duration) { i in
                    try await writes.appendRecord(Self.draft(i, numbers, at: clock.now()))
                }
                let before = store.commitStatistics
                let concurrent = try await Self.rate(for: duration, concurrency: n) { i in
                    try await writes.appendRecord(Self.draft(i, numbers, at: clock.now()))
                }
                let after = store.commitStatistics
                let perCommit =
                    Double(after.writes - before.writes) / Double(max(1, after.transactions - before.transactions))
                let smsRate = try await Self.rate(for: duration, concurrency: n) { i in
                    _ = await channel.handle(InboundSMS(from: numbers[i % numbers.count], text: "CXYE"))
                }
                results["baseline", default: []].append(baseline)
                results["records/1", default: []].append(single)
                results["records/N", default: []].append(concurrent)
                results["sms/N", default: []].append(smsRate)
                batches.append(perCommit)
                printError(
                    String(
                        format:
                            "round %d: baseline %.0f rows/s, records/1 %.0f/s, records/%d %.0f/s (%.1f a commit), sms/%d %.0f/s",
                        round, baseline, single, n, concurrent, perCommit, n, smsRate))
            }
            let base = median(results["baseline"]!)
            print("durable writes, synchronous=FULL, \(rounds) rounds of \(duration) s, medians")
            print("| measurement | per second | ratio to baseline |")
            print("|---|---|---|")
            for (key, label) in [
                ("baseline", "baseline: single-row commits, one after another"),
                ("records/1", "service records, 1 writer"),
                (
                    "records/N",
                    "service records, \(n) concurrent writers (\(String(format: "%.1f", median(batches))) a commit)"
                ),
                ("sms/N", "SMS query.balance end to end, \(n) concurrent senders"),
            ] {
                let value = median(results[key]!)
                print("| \(label) | \(Int(value.rounded())) | \(String(format: "%.2f", value / base))× |")
            }
        }
    }

    /// Password verifications per second at SELFCARE_PBKDF2_ITERATIONS, one thread per core: the ceiling of
    /// password-checked transactions on this machine.
    func measureKDF() async throws {
        let iterations = try Environment.iterations()
        let hasher = PBKDF2PasswordHasher(pepper: Pepper(bytes: try LibCrypto.randomBytes(32)), iterations: iterations)
        let stored = try hasher.hash(Secret("470159"))
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var rates: [Double] = []
        for round in 1...rounds {
            let counts = Mutex([Int](repeating: 0, count: threads))
            let started = ContinuousClock.now
            let deadline = started + .milliseconds(Int(seconds * 1000))
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                var count = 0
                while ContinuousClock.now < deadline {
                    _ = try? hasher.verify(Secret("470159"), against: stored)
                    count += 1
                }
                counts.withLock { $0[thread] = count }
            }
            let (whole, atto) = (ContinuousClock.now - started).components
            let rate = Double(counts.withLock { $0.reduce(0, +) }) / (Double(whole) + Double(atto) / 1e18)
            rates.append(rate)
            printError(String(format: "round %d: %.1f verifications/s", round, rate))
        }
        print(
            String(
                format: "kdf: %.1f PBKDF2-HMAC-SHA256 verifications/s at %d iterations on %d threads (median of %d)",
                median(rates), iterations, threads, rounds))
    }

    /// Resident memory added by `count` live USSD sessions, then by `count` live IVR calls, each opened
    /// and one step in (a menu below the root), over a scratch database with 1,000 subscribers.
    func measureSessions(_ count: Int) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-bench-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (_, engine, numbers) = try await scratchGateway(in: folder, clock: try Environment.clock())
        let grammars = try GrammarSet(directory: try global.grammarsFolder(), prompts: engine.prompts)
        let ussd = USSDChannel(
            engine: engine, grammars: grammars, sessions: MemorySessionStore<USSDSession>(capacity: max(count, 1)))
        let ivr = IVRChannel(
            engine: engine, grammars: grammars,
            sessions: MemorySessionStore<IVRSession>(idleTimeout: 600, capacity: max(count, 1)))
        let idle = residentBytes()
        for i in 0..<count {
            let caller = numbers[i % numbers.count]
            _ = await ussd.handle(sessionID: "u\(i)", caller: caller, serviceCode: "*100#", input: nil)
            _ = await ussd.handle(sessionID: "u\(i)", caller: caller, serviceCode: "*100#", input: "1")
        }
        let afterUSSD = residentBytes()
        for i in 0..<count {
            let caller = numbers[i % numbers.count]
            _ = await ivr.start(callID: "c\(i)", caller: caller)
            _ = await ivr.input(callID: "c\(i)", digits: "1")
        }
        let afterIVR = residentBytes()
        let liveUSSD = await ussd.sessions.count()
        let liveIVR = await ivr.sessions.count()
        print(
            "sessions: resident \(idle / 1_048_576) MiB before; \(liveUSSD) live USSD sessions add "
                + "\((afterUSSD - idle) / 1_048_576) MiB (\((afterUSSD - idle) / max(1, liveUSSD)) bytes each); "
                + "\(liveIVR) live IVR calls add \((afterIVR - afterUSSD) / 1_048_576) MiB "
                + "(\((afterIVR - afterUSSD) / max(1, liveIVR)) bytes each)")
    }

    /// Texts matched per second on one thread by the shipped SMS grammar, and by the simplest keyword
    /// table (upper-case, first word, dictionary) as the baseline, alternately.
    func measureGrammar() throws {
        let path = try global.grammarsFolder() + "/sms.grammar"
        let compiled = try CompiledGrammar(text: try String(contentsOfFile: path, encoding: .utf8), path: path)
        let mix = SMSMix.texts
        func rate(_ body: (String) -> Bool) -> Double {
            var count = 0
            var hits = 0
            let started = ContinuousClock.now
            let deadline = started + .milliseconds(Int(seconds * 1000))
            while ContinuousClock.now < deadline {
                for _ in 0..<100 {
                    for text in mix where body(text) { hits += 1 }
                    count += mix.count
                }
            }
            let (s, atto) = (ContinuousClock.now - started).components
            precondition(hits > 0)
            return Double(count) / (Double(s) + Double(atto) / 1e18)
        }
        var matched: [Double] = []
        var looked: [Double] = []
        for round in 1...rounds {
            let baseline = rate { SMSMix.lookUp($0) != nil }
            let grammar = rate { compiled.match($0) != nil }
            looked.append(baseline)
            matched.append(grammar)
            printError(
                String(format: "round %d: grammar %.0f texts/s, dictionary %.0f texts/s", round, grammar, baseline))
        }
        print(
            String(
                format:
                    "grammar: %.0f texts/s on one thread; keyword dictionary baseline %.0f texts/s (%.2f×); medians of %d",
                median(matched), median(looked), median(matched) / median(looked), rounds))
    }

    /// A scratch database in `folder` with the demo plans and 1,000 subscribers without passwords, loaded through
    /// the importer as `selfcare import` loads a billing file, and an engine over it (a cheap hash under a fresh
    /// random pepper, the configured prompts, no logging).
    func scratchGateway(
        in folder: URL, clock: any TimeSource
    ) async throws -> (SQLiteServiceStore, OperationEngine, [String]) {
        let store = try SQLiteServiceStore(path: folder.appendingPathComponent("bench.sqlite").path)
        let hasher = PBKDF2PasswordHasher(pepper: Pepper(bytes: try LibCrypto.randomBytes(32)), iterations: 1_000)
        let engine = OperationEngine(
            store: store, hasher: hasher, prompts: try PromptCatalog.load(directory: try global.promptsFolder()),
            clock: clock, logger: Self.quiet)
        let numbers = (0..<1000).map { "186\(String(format: "%08d", $0))" }
        let header = ImportKind.subscribers.requiredColumns.joined(separator: ",")
        let rows = numbers.map { "\($0),张伟,normal,postpaid,,P38,12345,3200,gold,zh-CN,false,,false," }
        let importer = CSVImporter(engine: engine, hasher: nil, pool: nil)
        for (kind, text) in [
            (ImportKind.plans, DemoData.plans), (.subscribers, ([header] + rows).joined(separator: "\n")),
        ] {
            let (_, rejects, _) = try await importer.importData(kind, data: Data(text.utf8), source: "bench \(kind)")
            guard rejects.isEmpty else { throw CommandFailure("bench: the scratch \(kind) were refused: \(rejects)") }
        }
        return (store, engine, numbers)
    }

    /// Where the gateways a benchmark builds log: nowhere, so logging costs nothing in the figures.
    static let quiet = Logger(label: "selfcare.bench", factory: { _ in SwiftLogNoOpLogHandler() })

    static func draft(_ i: Int, _ numbers: [String], at time: Date) -> RecordDraft {
        RecordDraft(
            time: time, channel: .sms, session: nil, caller: numbers[i % numbers.count],
            subject: numbers[i % numbers.count], operation: "query.balance", inputs: [:], auth: .none, result: .ok,
            reason: .ok, reply: "尊敬的客户，您的账户余额为123.45元 \(i)", durationMS: 1)
    }

    /// Operations per second: `concurrency` workers run `operation` (numbered from 0) for `seconds`.
    static func rate(
        for seconds: Double, concurrency: Int = 1, _ operation: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Double {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let started = ContinuousClock.now
        // Each worker counts its own operations; the counts are summed at the end.
        let done = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var i = worker
                    var count = 0
                    while ContinuousClock.now < deadline {
                        try await operation(i)
                        i += concurrency
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - started
        let (s, atto) = elapsed.components
        return Double(done) / (Double(s) + Double(atto) / 1e18)
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
