import Foundation
import SelfCareTesting
import Testing

/// One `$ curl …` line of a ```console block in the docs, and the output shown under it.
struct DocExample {
    var command: String
    var expected: String
    /// Where the expected output sits in the file's lines.
    var outputLines: Range<Int>
}

/// The curl examples of a Markdown file.
func curlExamples(in lines: [String]) -> [DocExample] {
    var examples: [DocExample] = []
    var inConsole = false
    var i = 0
    while i < lines.count {
        let line = lines[i]
        if line.hasPrefix("```") {
            inConsole = !inConsole && line.hasPrefix("```console")
            i += 1
            continue
        }
        if inConsole, line.hasPrefix("$ ") {
            var j = i + 1
            while j < lines.count, !lines[j].hasPrefix("$ "), !lines[j].hasPrefix("```") { j += 1 }
            let command = String(line.dropFirst(2))
            if command.hasPrefix("curl ") {
                examples.append(
                    DocExample(
                        command: command, expected: lines[(i + 1)..<j].joined(separator: "\n"), outputLines: (i + 1)..<j
                    ))
            }
            i = j
            continue
        }
        i += 1
    }
    return examples
}

/// What a reader compares: no carriage returns, no `Date` header, no trailing blank lines.
func normalizedOutput(_ text: String) -> String {
    text.replacingOccurrences(of: "\r", with: "").split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.lowercased().hasPrefix("date: ") }.joined(separator: "\n")
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("Documentation examples", .serialized, .enabled(if: curl != nil, "needs curl"))
struct DocsExamplesTests {
    /// Every curl example of docs/adapters.md, run in order against `selfcare serve --demo` on a fresh
    /// database with the clock the docs were written with, gives what the docs show.
    /// `SELFCARE_UPDATE_DOCS=1` writes the outputs into the file instead.
    @Test func everyCurlExampleInTheAdaptersGuideGivesWhatItShows() throws {
        let file = Fixtures.repositoryRoot.appendingPathComponent("docs/adapters.md")
        var lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
        let examples = curlExamples(in: lines)
        #expect(examples.count >= 12, "the guide has its examples")
        let update = ProcessInfo.processInfo.environment["SELFCARE_UPDATE_DOCS"] == "1"
        try withServeFolder { dir in
            let server = try ServerProcess(
                ["--demo"], in: dir,
                environment: ["SELFCARE_NOW": "2026-11-24T10:00:00+08:00", "SELFCARE_ADMIN_TOKEN": "s3cret"])
            defer { _ = server.stop() }
            var replacements: [(Range<Int>, [String])] = []
            for example in examples {
                let command = example.command.replacingOccurrences(of: "http://127.0.0.1:8080", with: server.base)
                let result = try run(["-c", command], in: dir, program: "/bin/bash")
                let actual = normalizedOutput(result.stdout)
                if update {
                    replacements.append((example.outputLines, actual.components(separatedBy: "\n")))
                } else {
                    #expect(actual == normalizedOutput(example.expected), "\(example.command)\n\(result.stderr)")
                }
            }
            if update {
                for (range, output) in replacements.reversed() { lines.replaceSubrange(range, with: output) }
                try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
            }
        }
    }
}
