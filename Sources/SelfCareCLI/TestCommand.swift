import ArgumentParser
import Foundation
import Logging
import SelfCareScenarios

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run conversation scenario files (or folders of *.scenario files); exits 1 at any failure.",
        discussion: "Each scenario runs on a fresh database. See docs/scenarios.md for the format.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Write a JUnit XML report to this file.")
    var junit: String?

    @Flag(help: "Rewrite failing and bare `expect` and `record` lines from what the gateway now answers.")
    var update = false

    @Argument(help: "Scenario files or folders.")
    var paths: [String]

    func validate() throws {
        if update && junit != nil { throw ValidationError("--update writes scenarios, not a report: drop --junit") }
    }

    func run() async throws {
        try await reportingFailures {
            var files: [String] = []
            for path in paths {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                    throw CommandFailure("\(path): no such file or folder")
                }
                if isFolder.boolValue {
                    let names = try FileManager.default.contentsOfDirectory(atPath: path).filter {
                        $0.hasSuffix(".scenario")
                    }
                    // A folder without scenarios is a wrong path, not a pass.
                    guard !names.isEmpty else { throw CommandFailure("\(path): no *.scenario files in this folder") }
                    files += names.sorted().map { (path as NSString).appendingPathComponent($0) }
                } else {
                    files.append(path)
                }
            }
            let runner = ScenarioRunner(
                grammarsDirectory: try global.grammarsFolder(), promptsDirectory: try global.promptsFolder(),
                start: try Environment.clock().now(),
                // The scenario's gateway keeps quiet: what it did is what the scenario checks.
                logger: Logger(label: "selfcare.scenario", factory: { _ in SwiftLogNoOpLogHandler() }))
            if update {
                try await updateAll(files, with: runner)
                return
            }
            // The report's timestamp is the clock's (SELFCARE_NOW), its durations the monotonic clock's.
            let suiteStarted = ContinuousClock.now
            var report = JUnitReport(name: "selfcare scenarios", timestamp: runner.start, hostname: Self.hostname)
            for file in files {
                let started = ContinuousClock.now
                func fail(_ name: String, _ outcome: JUnitReport.Outcome, _ text: String) {
                    report.cases.append(
                        .init(classname: file, name: name, seconds: seconds(since: started), outcome: outcome))
                    print("FAIL  \(file)")
                    print(text)
                }
                let scenario: Scenario
                do {
                    scenario = try Scenario(path: file)
                } catch {
                    // An unreadable file fails alone; the others still run. It never ran: an error, not a failure.
                    fail(file, Self.outcome(.mistake, "\(error)"), "\(error)")
                    continue
                }
                do {
                    let checks = try await runner.run(scenario)
                    report.cases.append(.init(classname: file, name: scenario.name, seconds: seconds(since: started)))
                    print("ok    \(file) (\(checks) checks)")
                } catch let failure as ScenarioFailure {
                    fail(scenario.name, Self.outcome(failure.kind, failure.description), failure.description)
                } catch {
                    // A fault (prompts, grammars, the database): the scenario could not run to its end.
                    fail(scenario.name, Self.outcome(nil, "\(file): \(error)"), "\(file): \(error)")
                }
            }
            report.seconds = seconds(since: suiteStarted)
            let failed = report.failures + report.errors
            print("\(report.cases.count - failed) passed, \(failed) failed")
            if let junit { try report.xml.write(toFile: junit, atomically: true, encoding: .utf8) }
            if failed > 0 { throw CommandFailure("test: \(failed) of \(report.cases.count) scenarios failed") }
        }
    }

    /// `--update`: rewrites each file's failing expectations, then runs the files it wrote to confirm they pass.
    private func updateAll(_ files: [String], with runner: ScenarioRunner) async throws {
        var updated = 0
        var unchanged = 0
        var failed = 0
        for file in files {
            let result: ScenarioUpdate
            do {
                result = try await runner.update(try Scenario(path: file))
            } catch let failure as ScenarioFailure {
                failed += 1
                print("FAIL  \(file) (not updated)")
                print(failure.description)
                continue
            } catch {
                failed += 1
                print("FAIL  \(file) (not updated)")
                print("\(file): \(error)")
                continue
            }
            if result.changed {
                do {
                    try Self.rewrite(file, with: result.text)
                } catch {
                    failed += 1
                    print("FAIL  \(file) (not updated)")
                    print("\(error)")
                    continue
                }
                updated += 1
                let count = result.changes.count
                print("updated \(file): \(count) line\(count == 1 ? "" : "s")")
            }
            if !result.unresolved.isEmpty {
                failed += 1
                print("FAIL  \(file) (\(result.unresolved.count) left to fix by hand)")
                for failure in result.unresolved { print(failure.description) }
                continue
            }
            guard result.changed else {
                unchanged += 1
                print("ok \(file) (unchanged)")
                continue
            }
            // The rewritten file must now pass as it is on disk.
            do {
                try await runner.run(Scenario(path: file))
            } catch {
                failed += 1
                print("FAIL  \(file) (still fails after the update)")
                print(error is ScenarioFailure ? "\(error)" : "\(file): \(error)")
            }
        }
        print("\(updated) updated, \(unchanged) unchanged, \(failed) failed")
        if failed > 0 { throw CommandFailure("test --update: \(failed) of \(files.count) scenarios failed") }
    }

    /// Replaces the scenario at `path` with `text`: the file a symlink points to, atomically, keeping its
    /// permissions, owner and byte-order mark. A file without write permission is left alone.
    static func rewrite(_ path: String, with text: String) throws {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let attributes = try FileManager.default.attributesOfItem(atPath: target)
        let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o644
        guard access(target, W_OK) == 0, permissions & 0o222 != 0 else {
            throw CommandFailure("\(path): read-only; make it writable to update it")
        }
        let original = FileManager.default.contents(atPath: target) ?? Data()
        let bom = original.starts(with: [0xEF, 0xBB, 0xBF]) ? Data([0xEF, 0xBB, 0xBF]) : Data()
        let staged =
            (target as NSString).deletingLastPathComponent + "/.\((target as NSString).lastPathComponent).update"
        try (bom + Data(text.utf8)).write(to: URL(fileURLWithPath: staged))
        var kept: [FileAttributeKey: Any] = [.posixPermissions: permissions]
        kept[.ownerAccountID] = attributes[.ownerAccountID]
        kept[.groupOwnerAccountID] = attributes[.groupOwnerAccountID]
        try? FileManager.default.setAttributes(kept, ofItemAtPath: staged)
        guard rename(staged, target) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: staged)
            throw CommandFailure("\(path): cannot write it (\(reason))")
        }
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// A mismatch is a JUnit failure; a mistake in the scenario (`kind` `.mistake`) or a fault (nil) an error.
    static func outcome(_ kind: ScenarioFailure.Kind?, _ text: String) -> JUnitReport.Outcome {
        let message = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? text
        guard let kind else { return .error(type: "fault", message: message, details: text) }
        return kind == .mismatch
            ? .failure(type: kind.rawValue, message: message, details: text)
            : .error(type: kind.rawValue, message: message, details: text)
    }

    /// This machine's name, for the report's `hostname` (no name lookup: `gethostname` alone).
    static var hostname: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}
