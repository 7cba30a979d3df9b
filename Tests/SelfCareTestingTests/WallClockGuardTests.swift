import Foundation
import SelfCareTesting
import Testing

/// Finds what would make the suite pass only on some days: a reading of the wall clock in `Sources/`
/// outside the time source or anywhere in `Tests/`, and a program started outside the one test helper
/// that gives every spawned `selfcare` a fixed `SELFCARE_NOW`.
struct WallClockGuard {
    /// The files allowed to read the wall clock: the time source itself.
    static let clockReaders: Set<String> = ["Sources/SelfCareCore/TimeSource.swift"]
    /// The one file allowed to start programs (it refuses to start one without a fixed SELFCARE_NOW).
    static let spawners: Set<String> = ["Tests/SelfCareCLITests/Support/Processes.swift"]
    /// This file, which names the patterns it looks for.
    static let itself = "Tests/SelfCareTestingTests/WallClockGuardTests.swift"

    /// Ways Swift code reads the time of day. Monotonic clocks (`ContinuousClock`, `DispatchTime`) are fine:
    /// they measure durations, not dates.
    static let clockPatterns: [(name: String, pattern: String)] = [
        ("Date()", #"\bDate\(\s*\)"#),
        ("Date.init()", #"\bDate\.init\(\s*\)"#),
        ("Date.now", #"\bDate\.now\b"#),
        ("Date(timeIntervalSinceNow:)", #"\bDate\(\s*timeIntervalSinceNow:"#),
        (".timeIntervalSinceNow", #"\.timeIntervalSinceNow\b"#),
        ("NSDate()", #"\bNSDate\(\s*\)"#),
        ("CFAbsoluteTimeGetCurrent", #"\bCFAbsoluteTimeGetCurrent\b"#),
        ("gettimeofday", #"\bgettimeofday\s*\("#),
        ("time(nil)", #"\btime\(\s*nil\s*\)"#),
        ("CLOCK_REALTIME", #"\bCLOCK_REALTIME\b"#),
        ("SystemTimeSource()", #"\bSystemTimeSource\(\s*\)"#),
    ]

    /// Ways to start a program.
    static let spawnPatterns: [(name: String, pattern: String)] = [
        ("Process()", #"\bProcess\(\s*\)"#),
        ("executableURL", #"\bexecutableURL\b"#),
        ("posix_spawn", #"\bposix_spawnp?\s*\("#),
        ("fork()", #"\b(v?fork)\(\s*\)"#),
        ("popen", #"\bpopen\s*\("#),
        ("system()", #"(^|[^\w.])system\s*\("#),
        ("execv", #"\bexecv[pe]?\s*\("#),
    ]

    /// One finding: `path:line: what`.
    struct Finding: CustomStringConvertible, Equatable {
        var path: String
        var line: Int
        var what: String
        var description: String { "\(path):\(line): \(what)" }
    }

    /// Every finding under `root` (a checkout: its `Sources/` and `Tests/`).
    static func findings(in root: URL) throws -> [Finding] {
        let clockRegexes = try clockPatterns.map { ($0.name, try Regex($0.pattern).wordBoundaryKind(.simple)) }
        let spawnRegexes = try spawnPatterns.map { ($0.name, try Regex($0.pattern).wordBoundaryKind(.simple)) }
        var found: [Finding] = []
        for folder in ["Sources", "Tests"] {
            for path in try swiftFiles(under: root, folder) where path != itself {
                let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
                for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = codePart(of: rawLine)
                    if !clockReaders.contains(path) {
                        for (name, regex) in clockRegexes where code.contains(regex) {
                            // SystemTimeSource() is the wall clock by injection: allowed in the executable only.
                            if name == "SystemTimeSource()" && path.hasPrefix("Sources/SelfCareCLI/") { continue }
                            found.append(Finding(path: path, line: index + 1, what: "reads the wall clock (\(name))"))
                        }
                    }
                    if !spawners.contains(path) {
                        for (name, regex) in spawnRegexes where code.contains(regex) {
                            if folder == "Sources" && path.hasPrefix("Sources/SelfCareCLI/") { continue }
                            found.append(
                                Finding(
                                    path: path, line: index + 1,
                                    what: "starts a program (\(name)) outside \(spawners.sorted().joined())"))
                        }
                    }
                }
            }
        }
        return found
    }

    /// The line without its `//` comment and without the contents of string literals on it, so a doc
    /// comment or a message that names `Date()` is no finding.
    static func codePart(of line: Substring) -> String {
        var out = ""
        var inString = false
        var previous: Character = " "
        var chars = line.makeIterator()
        while let c = chars.next() {
            if inString {
                if c == "\"" && previous != "\\" { inString = false; out.append("\"") }
                previous = c == "\\" && previous == "\\" ? " " : c
                continue
            }
            if c == "\"" {
                inString = true
                out.append("\"")
                previous = c
                continue
            }
            if c == "/" && previous == "/" {
                out.removeLast()
                break
            }
            out.append(c)
            previous = c
        }
        return out
    }

    /// Paths of the `.swift` files under `root/folder`, relative to `root`, sorted.
    static func swiftFiles(under root: URL, _ folder: String) throws -> [String] {
        let base = root.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        var paths: [String] = []
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(".swift") { paths.append("\(folder)/\(relative)") }
        }
        return paths.sorted()
    }
}

@Suite("The suite never reads the wall clock")
struct WallClockGuardTests {
    @Test func noSourceOrTestReadsTheWallClockOrStartsAProgramOutsideTheHelper() throws {
        let findings = try WallClockGuard.findings(in: Fixtures.repositoryRoot)
        #expect(
            findings.isEmpty,
            """
            Inject the time (`TimeSource`, `Fixtures.midNovember`, `ContinuousClock` for durations) and start \
            programs through Tests/SelfCareCLITests/Support/Processes.swift, which fixes SELFCARE_NOW:
            \(findings.map(\.description).joined(separator: "\n"))
            """)
        #expect(try WallClockGuard.swiftFiles(under: Fixtures.repositoryRoot, "Sources").count > 40, "it looked")
    }

    /// The guard finds what is planted in a copy of the tree's shape, and passes over comments and strings.
    @Test func theGuardFindsAPlantedReading() throws {
        try withTemporaryDirectoryForGuard { root in
            let plant = """
                import Foundation
                // Date() in a comment is fine
                let message = "Date() in a string is fine"
                func stamp() -> Date { Date() }
                let later = Date(timeIntervalSinceNow: 60)
                let also = Date.now
                """
            try write(plant, to: root, "Sources/SelfCareChannels/Planted.swift")
            try write("import Foundation\nlet started = Date()\n", to: root, "Tests/SelfCareCoreTests/PlantedTests.swift")
            try write(
                "import Foundation\nlet p = Process()\np.executableURL = URL(fileURLWithPath: \"selfcare\")\n", to: root,
                "Tests/SelfCareCLITests/SpawnsTests.swift")
            try write("public func now() -> Date { Date() }\n", to: root, "Sources/SelfCareCore/TimeSource.swift")
            let findings = try WallClockGuard.findings(in: root).map(\.description)
            #expect(
                findings == [
                    "Sources/SelfCareChannels/Planted.swift:4: reads the wall clock (Date())",
                    "Sources/SelfCareChannels/Planted.swift:5: reads the wall clock (Date(timeIntervalSinceNow:))",
                    "Sources/SelfCareChannels/Planted.swift:6: reads the wall clock (Date.now)",
                    "Tests/SelfCareCLITests/SpawnsTests.swift:2: starts a program (Process()) outside "
                        + "Tests/SelfCareCLITests/Support/Processes.swift",
                    "Tests/SelfCareCLITests/SpawnsTests.swift:3: starts a program (executableURL) outside "
                        + "Tests/SelfCareCLITests/Support/Processes.swift",
                    "Tests/SelfCareCoreTests/PlantedTests.swift:2: reads the wall clock (Date())",
                ], "\(findings)")
        }
    }

    private func write(_ text: String, to root: URL, _ path: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    private func withTemporaryDirectoryForGuard(_ body: (URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(dir)
    }
}
