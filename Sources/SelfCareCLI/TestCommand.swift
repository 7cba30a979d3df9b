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

    @Argument(help: "Scenario files or folders.")
    var paths: [String]

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
                    files += names.sorted().map { (path as NSString).appendingPathComponent($0) }
                } else {
                    files.append(path)
                }
            }
            let runner = ScenarioRunner(
                grammarsDirectory: try global.grammarsFolder(), promptsDirectory: try global.promptsFolder(),
                start: try Environment.clock().now())
            var results: [(file: String, name: String, seconds: Double, failure: String?)] = []
            for file in files {
                let started = ContinuousClock.now
                let scenario = try Scenario(path: file)
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

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private func xmlEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
