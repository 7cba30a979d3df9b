import ArgumentParser
import Foundation
import SelfCareTesting

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
                start: try Environment.clock().now())
            if update {
                try await updateAll(files, with: runner)
                return
            }
            var results: [(file: String, name: String, seconds: Double, failure: String?)] = []
            for file in files {
                let started = ContinuousClock.now
                let scenario: Scenario
                do {
                    scenario = try Scenario(path: file)
                } catch {
                    // An unreadable file fails alone; the others still run.
                    results.append((file, file, seconds(since: started), "\(error)"))
                    print("FAIL  \(file)")
                    print("\(error)")
                    continue
                }
                do {
                    let checks = try await runner.run(scenario)
                    results.append((file, scenario.name, seconds(since: started), nil))
                    print("ok    \(file) (\(checks) checks)")
                } catch let failure as ScenarioFailure {
                    results.append((file, scenario.name, seconds(since: started), failure.description))
                    print("FAIL  \(file)")
                    print(failure.description)
                } catch {
                    results.append((file, scenario.name, seconds(since: started), "\(file): \(error)"))
                    print("FAIL  \(file)")
                    print("\(file): \(error)")
                }
            }
            let failed = results.filter { $0.failure != nil }.count
            print("\(results.count - failed) passed, \(failed) failed")
            if let junit {
                var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                let total = results.reduce(0) { $0 + $1.seconds }
                xml +=
                    "<testsuite name=\"selfcare scenarios\" tests=\"\(results.count)\" failures=\"\(failed)\" "
                    + "time=\"\(String(format: "%.3f", total))\">\n"
                for r in results {
                    xml +=
                        "  <testcase classname=\"\(xmlEscape(r.file))\" name=\"\(xmlEscape(r.name))\" "
                        + "time=\"\(String(format: "%.3f", r.seconds))\""
                    if let failure = r.failure {
                        let first = failure.split(separator: "\n").first.map(String.init) ?? failure
                        xml +=
                            ">\n    <failure message=\"\(xmlEscape(first))\">\(xmlEscape(failure))</failure>\n  </testcase>\n"
                    } else {
                        xml += "/>\n"
                    }
                }
                xml += "</testsuite>\n"
                try xml.write(toFile: junit, atomically: true, encoding: .utf8)
            }
            if failed > 0 { throw CommandFailure("test: \(failed) of \(results.count) scenarios failed") }
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

    private func xmlEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
