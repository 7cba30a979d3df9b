// Grammar matching and the in-process SMS path, each beside a baseline measured in the same run.
//
//   cd Benchmarks && swift package benchmark
//
// Throughput is texts (or requests) per second on one core; compare each figure with its baseline.
import Benchmark
import Foundation
import Logging
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar
import SelfCareScenarios
import SelfCareStore
import SelfCareTesting

/// The repository's root, found from this file.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// The texts and the keyword-table baseline, shared with `selfcare bench --grammar`.
let smsMix = SMSMix.texts
let keywordTable = SMSMix.keywordTable

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock], warmupIterations: 10, scalingFactor: .kilo, maxDuration: .seconds(3),
        maxIterations: .kilo(10))

    let grammarText = try! String(
        contentsOf: repository.appendingPathComponent("grammars/sms.grammar"), encoding: .utf8)
    let grammar = try! CompiledGrammar(text: grammarText, path: "grammars/sms.grammar")

    // Baseline: a dictionary lookup of the first word (what Kannel's keyword table does).
    Benchmark("baseline: keyword dictionary lookup (texts)") { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            let text = smsMix[i % smsMix.count].uppercased()
            let first = text.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            blackHole(keywordTable[first])
            i &+= 1
        }
    }

    Benchmark("grammar match, SMS mix (texts)") { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            blackHole(grammar.match(smsMix[i % smsMix.count]))
            i &+= 1
        }
    }

    // The in-process SMS path against SQLite with synchronous=FULL.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-bench-\(getpid())")
    try? FileManager.default.removeItem(at: folder)
    try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let store = try! SQLiteServiceStore(path: folder.appendingPathComponent("bench.sqlite").path)
    let prompts = try! PromptCatalog.load(directory: repository.appendingPathComponent("prompts").path)
    let numbers = (0..<1000).map { "186\(String(format: "%08d", $0))" }
    let seeded = Task {
        try await Fixtures.seed(store, subscribers: numbers.map { Fixtures.subscriber($0) })
    }
    let engine = OperationEngine(
        store: store, hasher: Fixtures.hasher(), prompts: prompts, clock: SystemTimeSource(),
        pool: BlockingWorkPool(threads: 2), logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    var smsConfiguration = SMSConfiguration()
    smsConfiguration.rateLimit = .max  // measure the path, not the limiter's refusals
    let channel = SMSChannel(engine: engine, grammars: GrammarSet([grammar]), configuration: smsConfiguration)
    let writes = Task { try await ScratchWrites(store: store) }

    // Baseline: one single-row transaction, durably committed (synchronous=FULL, WAL).
    Benchmark(
        "baseline: SQLite single-row FULL commit (rows)",
        configuration: .init(metrics: [.throughput, .wallClock], scalingFactor: .one, maxDuration: .seconds(3))
    ) { benchmark in
        let writes = try await writes.value
        for i in benchmark.scaledIterations { try await writes.commitRow(i) }
    }

    // Where the end-to-end time goes: one read, one record append, the engine alone.
    Benchmark(
        "part: store read of one subscriber (reads)",
        configuration: .init(
            metrics: [.throughput, .wallClock], scalingFactor: .one, maxDuration: .seconds(2),
            setup: { _ = try await seeded.value })
    ) { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            let number = numbers[i % numbers.count]
            blackHole(try await store.read { try $0.subscriber(number) })
            i &+= 1
        }
    }

    Benchmark(
        "part: record append, FULL (records)",
        configuration: .init(metrics: [.throughput, .wallClock], scalingFactor: .one, maxDuration: .seconds(2))
    ) { benchmark in
        let writes = try await writes.value
        for i in benchmark.scaledIterations {
            let draft = RecordDraft(
                time: Fixtures.midNovember, channel: .sms, session: nil, caller: "18600000001", subject: "18600000001",
                operation: "query.balance", inputs: [:], auth: .none, result: .ok, reason: .ok,
                reply: "尊敬的客户，您的账户余额为123.45元 \(i)", durationMS: 1)
            try await writes.appendRecord(draft)
        }
    }

    Benchmark(
        "part: engine query.balance without the SMS channel (requests)",
        configuration: .init(
            metrics: [.throughput, .wallClock], scalingFactor: .one, maxDuration: .seconds(2),
            setup: { _ = try await seeded.value })
    ) { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            blackHole(
                await engine.perform(
                    OperationRequest(operation: .queryBalance, channel: .sms, caller: numbers[i % numbers.count])))
            i &+= 1
        }
    }

    Benchmark(
        "query.balance end to end: match, read, durable record (requests)",
        configuration: .init(
            metrics: [.throughput, .wallClock], scalingFactor: .one, maxDuration: .seconds(3),
            setup: { _ = try await seeded.value })
    ) { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            blackHole(await channel.handle(InboundSMS(from: numbers[i % numbers.count], text: "CXYE")))
            i &+= 1
        }
    }

    // Sessions: 100,000 live USSD sessions held in memory, and the rate of steps on live sessions.
    let menus = try! String(contentsOf: repository.appendingPathComponent("grammars/ussd.grammar"), encoding: .utf8)
    let ussdGrammar = try! CompiledGrammar(text: menus, path: "grammars/ussd.grammar")
    let ussd = USSDChannel(engine: engine, grammars: GrammarSet([grammar, ussdGrammar]))

    Benchmark(
        "ussd: open 100,000 live sessions (sessions)",
        configuration: .init(
            metrics: [.throughput, .wallClock, .peakMemoryResident], scalingFactor: .one, maxDuration: .seconds(60),
            maxIterations: 1, setup: { _ = try await seeded.value })
    ) { benchmark in
        let before = residentBytes()
        let count = 100_000
        for i in 0..<count {
            blackHole(
                await ussd.handle(
                    sessionID: "bench-\(i)", caller: numbers[i % numbers.count], serviceCode: "*100#", input: nil))
        }
        let after = residentBytes()
        let live = await ussd.sessions.count()
        FileHandle.standardError.write(
            Data(
                "ussd: \(live) live sessions, resident +\((after - before) / 1_048_576) MiB, \((after - before) / max(1, live)) bytes a session\n"
                    .utf8))
    }

    Benchmark(
        "ussd session steps on live sessions (steps)",
        configuration: .init(metrics: [.throughput, .wallClock], scalingFactor: .one, maxDuration: .seconds(3))
    ) { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            let id = "step-\(i % 1000)"
            if i < 1000 {
                _ = await ussd.handle(
                    sessionID: id, caller: numbers[i % numbers.count], serviceCode: "*100#", input: nil)
            }
            blackHole(
                await ussd.handle(
                    sessionID: id, caller: numbers[i % numbers.count], serviceCode: "*100#",
                    input: i % 2 == 0 ? "1" : "0"))
            i &+= 1
        }
    }
}
