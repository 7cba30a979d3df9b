import Foundation
import SelfCareTesting
import Testing

/// One `$ command` of a ```console block and the output shown under it.
struct DocExample {
    /// The command as a shell reads it (continuation lines joined with their line breaks).
    var command: String
    /// The expected output lines, the block's indentation removed.
    var expected: [String]
    /// Where the expected output sits in the file's lines.
    var outputLines: Range<Int>
    /// The block's indentation (a block inside a list item is indented).
    var indent: String
    /// Whether the command is the first of a block that begins with `selfcare init`: it starts in a new
    /// folder without a database, to show init's own output.
    var startsFresh: Bool
    /// The line of the `$` in the file, counted from 1.
    var line: Int
}

/// The examples of the ```console blocks of a Markdown file, in order.
///
/// The rules (CONTRIBUTING.md, "Examples in the docs are tests"): a line starting with `$ ` is a command
/// (a trailing `\` continues it on the next line); the lines up to the next `$ ` or the end of the block
/// are its output, standard output and standard error together.
func consoleExamples(in lines: [String]) -> [DocExample] {
    var examples: [DocExample] = []
    var i = 0
    while i < lines.count {
        let trimmed = lines[i].drop { $0 == " " }
        guard trimmed.hasPrefix("```console") else {
            i += 1
            continue
        }
        let indent = String(lines[i].prefix { $0 == " " })
        var end = i + 1
        while end < lines.count, lines[end].trimmingCharacters(in: .whitespaces) != "```" { end += 1 }
        func body(_ n: Int) -> String {
            lines[n].hasPrefix(indent) ? String(lines[n].dropFirst(indent.count)) : lines[n]
        }
        var j = i + 1
        var first = true
        while j < end {
            guard body(j).hasPrefix("$ ") else {
                j += 1
                continue
            }
            let start = j
            var command = String(body(j).dropFirst(2))
            while command.hasSuffix("\\") && j + 1 < end {
                j += 1
                command += "\n" + body(j)
            }
            var k = j + 1
            while k < end, !body(k).hasPrefix("$ ") { k += 1 }
            examples.append(
                DocExample(
                    command: command, expected: ((j + 1)..<k).map(body), outputLines: (j + 1)..<k, indent: indent,
                    startsFresh: first && command.hasPrefix("selfcare init"), line: start + 1))
            first = false
            j = k
        }
        i = end + 1
    }
    return examples
}

/// What a reader compares: no trailing blank lines; of an actual output also no HTTP `Date` header, the one
/// line that differs from run to run (the docs leave it out).
func normalizedLines(_ lines: [String], droppingDateHeaders: Bool = false) -> [String] {
    let header = #/^Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/#
    var out = lines.filter { !droppingDateHeaders || $0.wholeMatch(of: header) == nil }
    while out.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { out.removeLast() }
    return out
}

/// README.md and every page of docs/.
let documentedFiles: [String] = {
    let docs =
        (try? FileManager.default.contentsOfDirectory(
            atPath: Fixtures.repositoryRoot.appendingPathComponent("docs").path)) ?? []
    return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }
}()

/// A folder laid out like the checkout for the examples: grammars/, prompts/, scenarios/ and docs/examples/.
func exampleFolder(in parent: URL, _ name: String) throws -> URL {
    let dir = parent.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("docs"), withIntermediateDirectories: true)
    for folder in ["grammars", "prompts", "scenarios", "docs/examples"] {
        try FileManager.default.copyItem(
            at: Fixtures.repositoryRoot.appendingPathComponent(folder), to: dir.appendingPathComponent(folder))
    }
    return dir
}

@Suite("Documentation examples", .serialized, .enabled(if: curl != nil, "needs curl"))
struct DocsExamplesTests {
    /// Every ```console example of the file, run in order in one shell on a fresh demo database with the clock
    /// the docs were written with, gives the output the file shows. `SELFCARE_UPDATE_DOCS=1` writes the
    /// outputs into the file instead (review the diff like a snapshot).
    @Test(arguments: documentedFiles)
    func everyConsoleExampleGivesWhatItShows(_ file: String) throws {
        let url = Fixtures.repositoryRoot.appendingPathComponent(file)
        var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        let examples = consoleExamples(in: lines)
        guard !examples.isEmpty else { return }
        let update = ProcessInfo.processInfo.environment["SELFCARE_UPDATE_DOCS"] == "1"
        try withScratchFolder { scratch in
            let bin = scratch.appendingPathComponent("bin")
            try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                at: bin.appendingPathComponent("selfcare"), withDestinationURL: URL(fileURLWithPath: selfcareBinary))
            let outputs = scratch.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
            // A reader's environment: the default password cost, the docs' clock.
            let environment = [
                "SELFCARE_PBKDF2_ITERATIONS": "160000", "SELFCARE_NOW": fixedNow,
                "PATH": bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            ]
            var folders = [try exampleFolder(in: scratch, "folder-0")]
            if !(examples.first?.startsFresh ?? false) {
                let initialised = try run(["init", "--demo"], in: folders[0], environment: environment)
                try #require(initialised.status == 0, "\(initialised.stderr)")
            }
            var server: ServerProcess?
            defer { server?.stop() }
            if examples.contains(where: { $0.command.contains("127.0.0.1:8080") }) {
                var serverEnvironment = environment
                serverEnvironment["SELFCARE_ADMIN_TOKEN"] = "s3cret"
                server = try ServerProcess(["--demo"], in: folders[0], environment: serverEnvironment)
            }
            var script = """
                set +e
                cd '\(folders[0].path)'
                swift() { if [ "$1" = run ]; then shift; selfcare "$@"; else command swift "$@"; fi; }

                """
            if let server {
                let port = server.base.split(separator: ":").last.map(String.init) ?? "8080"
                script += """
                    curl() {
                        local a=()
                        for x in "$@"; do a+=("${x//127.0.0.1:8080/127.0.0.1:\(port)}"); done
                        command curl --no-progress-meter "${a[@]}"
                    }

                    """
            }
            for (n, example) in examples.enumerated() {
                if example.startsFresh && n > 0 {
                    folders.append(try exampleFolder(in: scratch, "folder-\(folders.count)"))
                    script += "cd '\(folders.last!.path)'\n"
                }
                script += "{\n\(example.command)\n} >'\(outputs.path)/\(n)' 2>&1 </dev/null\n"
            }
            let scriptURL = scratch.appendingPathComponent("examples.sh")
            try script.write(to: scriptURL, atomically: true, encoding: .utf8)
            let ran = try run([scriptURL.path], in: folders[0], environment: environment, program: "/bin/bash")
            #expect(ran.stderr.isEmpty, "\(ran.stderr)")
            var replacements: [(Range<Int>, [String])] = []
            for (n, example) in examples.enumerated() {
                let text = (try? String(contentsOf: outputs.appendingPathComponent("\(n)"), encoding: .utf8)) ?? ""
                // "\r\n" is one Character in Swift: join HTTP's line ends before splitting.
                let actual = normalizedLines(
                    text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n"),
                    droppingDateHeaders: true)
                if update {
                    replacements.append(
                        (example.outputLines, actual.map { $0.isEmpty ? $0 : example.indent + $0 }))
                } else {
                    let expected = normalizedLines(example.expected)
                    #expect(
                        actual == expected,
                        """
                        \(file):\(example.line): $ \(example.command)
                        \(expected.map { "  - \($0)" }.joined(separator: "\n"))
                        \(actual.map { "  + \($0)" }.joined(separator: "\n"))
                        """)
                }
            }
            if update {
                for (range, output) in replacements.reversed() { lines.replaceSubrange(range, with: output) }
                try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
            }
        }
    }

    /// The docs test itself: it finds the examples of a block, its continuation lines and fresh starts.
    @Test func examplesAreReadAsTheRulesSay() {
        let text = """
            ```console
            $ selfcare init --demo | head -1
            database ./selfcare.sqlite: ready
            $ echo one \\
              two
            one two
            ```
            ```sh
            $ not an example
            ```
              ```console
              $ selfcare sms --from 1 CXYE
              reply

              ```
            """
        let examples = consoleExamples(in: text.components(separatedBy: "\n"))
        #expect(
            examples.map(\.command) == [
                "selfcare init --demo | head -1", "echo one \\\n  two", "selfcare sms --from 1 CXYE",
            ])
        #expect(examples.map(\.startsFresh) == [true, false, false])
        #expect(examples.map(\.expected) == [["database ./selfcare.sqlite: ready"], ["one two"], ["reply", ""]])
        #expect(examples.map(\.line) == [2, 4, 12])
        #expect(examples[2].indent == "  ")
        #expect(documentedFiles.contains("README.md") && documentedFiles.contains("docs/adapters.md"))
    }
}
