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

    /// Ways Swift code reads the time of day, matched on code with comments and string contents blanked
    /// (interpolations kept), across line breaks. Monotonic clocks (`ContinuousClock`, `DispatchTime`) are
    /// fine: they measure durations, not dates.
    static let clockPatterns: [(name: String, pattern: String)] = [
        ("Date()", #"\bN?S?Date\s*(\.\s*init\s*)?\(\s*\)"#),
        ("Date.now", #"\bN?S?Date\s*\.\s*now\b"#),
        ("Date(timeIntervalSinceNow:)", #"\bN?S?Date\s*(\.\s*init\s*)?\(\s*timeIntervalSinceNow\s*:"#),
        (".timeIntervalSinceNow", #"\.\s*timeIntervalSinceNow\b"#),
        ("Date.timeIntervalSinceReferenceDate", #"\bN?S?Date\s*\.\s*timeIntervalSinceReferenceDate\b"#),
        ("a Date = .now", #":\s*N?S?Date\s*[?!]?\s*=\s*\.\s*(now\b|init\s*\(\s*\))"#),
        ("an argument .now", #"\b(for|from|to|since|of|in|at|date|before|after|timeIntervalSince)\s*:\s*\.now\b"#),
        ("CFAbsoluteTimeGetCurrent", #"\bCFAbsoluteTimeGetCurrent\b"#),
        ("gettimeofday", #"\bgettimeofday\b"#),
        ("time()", #"\btime\s*\(\s*(nil|&|0\s*\))"#),
        ("clock_gettime", #"\bclock_gettime\s*\(\s*(?!CLOCK_MONOTONIC|CLOCK_BOOTTIME|CLOCK_PROCESS|CLOCK_THREAD)"#),
        ("CLOCK_REALTIME", #"\bCLOCK_REALTIME\w*"#),
        ("DispatchWallTime", #"\bDispatchWallTime\b"#),
        ("SystemTimeSource()", #"\bSystemTimeSource\s*(\.\s*init\s*)?\("#),
    ]

    /// Ways to start a program, looked for in the tests and the test support library.
    static let spawnPatterns: [(name: String, pattern: String)] = [
        ("Process", #"\bProcess\b"#),
        ("NSTask", #"\bNSTask\b"#),
        ("posix_spawn", #"\bposix_spawnp?\b"#),
        ("fork()", #"\bv?fork\s*\("#),
        ("popen", #"\bpopen\b"#),
        ("system()", #"(^|[^\w.])system\s*\("#),
        ("exec", #"\bexec(v|l)[pe]*\b"#),
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
                let code = codeOnly(try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8))
                func line(of index: String.Index) -> Int { code[..<index].count(where: { $0 == "\n" }) + 1 }
                if !clockReaders.contains(path) {
                    for (name, regex) in clockRegexes {
                        // SystemTimeSource() is the wall clock by injection: the executable alone builds one.
                        if name == "SystemTimeSource()" && path.hasPrefix("Sources/SelfCareCLI/") { continue }
                        for match in code.matches(of: regex) {
                            found.append(
                                Finding(
                                    path: path, line: line(of: match.range.lowerBound),
                                    what: "reads the wall clock (\(name))"))
                        }
                    }
                }
                let testCode = folder == "Tests" || path.hasPrefix("Sources/SelfCareTesting/")
                if testCode && !spawners.contains(path) {
                    for (name, regex) in spawnRegexes {
                        for match in code.matches(of: regex) {
                            found.append(
                                Finding(
                                    path: path, line: line(of: match.range.lowerBound),
                                    what: "starts a program (\(name)) outside \(spawners.sorted().joined())"))
                        }
                    }
                }
            }
        }
        return found.sorted { ($0.path, $0.line, $0.what) < ($1.path, $1.line, $1.what) }
    }

    /// `source` with its comments and the contents of its string literals replaced by spaces, line breaks
    /// kept (CR and CRLF read as LF), so that a comment or a message naming `Date()` is no finding; the code
    /// of a string interpolation (`"\\(Date())"`) is kept. Handles nested block comments, multi-line strings and
    /// raw strings (`#"…"#`, whose interpolation is `\\#(…)`).
    static func codeOnly(_ source: String) -> String {
        enum Context {
            /// Code; `parentheses` counts the open ones inside an interpolation, which ends at its `)`.
            case code(parentheses: Int)
            case string(multiline: Bool, hashes: Int)
        }
        let s = Array(
            source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
                .unicodeScalars)
        func at(_ i: Int) -> Unicode.Scalar? { i < s.count ? s[i] : nil }
        func repeated(_ c: Unicode.Scalar, from i: Int, count: Int) -> Bool {
            (0..<count).allSatisfy { at(i + $0) == c }
        }
        var out = String.UnicodeScalarView()
        var stack: [Context] = [.code(parentheses: 0)]
        func blank(_ c: Unicode.Scalar) { out.append(c == "\n" ? "\n" : " ") }
        var i = 0
        while i < s.count {
            let c = s[i]
            switch stack[stack.count - 1] {
            case .code(let parentheses):
                if c == "/" && at(i + 1) == "/" {
                    while let d = at(i), d != "\n" { blank(d); i += 1 }
                    continue
                }
                if c == "/" && at(i + 1) == "*" {
                    var depth = 0
                    repeat {
                        if at(i) == "/" && at(i + 1) == "*" {
                            depth += 1; blank("/"); blank("*"); i += 2
                        } else if at(i) == "*" && at(i + 1) == "/" {
                            depth -= 1; blank("*"); blank("/"); i += 2
                        } else {
                            blank(s[i]); i += 1
                        }
                    } while depth > 0 && i < s.count
                    continue
                }
                var hashes = 0
                while at(i + hashes) == "#" { hashes += 1 }
                if at(i + hashes) == "\"" {
                    let multiline = repeated("\"", from: i + hashes, count: 3)
                    let opening = hashes + (multiline ? 3 : 1)
                    for _ in 0..<opening { out.append(" ") }
                    i += opening
                    stack.append(.string(multiline: multiline, hashes: hashes))
                    continue
                }
                if stack.count > 1 {
                    if c == "(" { stack[stack.count - 1] = .code(parentheses: parentheses + 1) }
                    if c == ")" {
                        if parentheses == 0 {
                            stack.removeLast()
                            out.append(" ")
                            i += 1
                            continue
                        }
                        stack[stack.count - 1] = .code(parentheses: parentheses - 1)
                    }
                }
                out.append(c)
                i += 1
            case .string(let multiline, let hashes):
                if c == "\\" && repeated("#", from: i + 1, count: hashes) {
                    let after = i + 1 + hashes
                    if at(after) == "(" {
                        for _ in 0...(hashes + 1) { out.append(" ") }
                        i = after + 1
                        stack.append(.code(parentheses: 0))
                        continue
                    }
                    blank(c)
                    if let escaped = at(after) { blank(escaped) }
                    for _ in 0..<hashes { out.append(" ") }
                    i = after + 1
                    continue
                }
                let closing = multiline ? 3 : 1
                if c == "\"" && repeated("\"", from: i, count: closing)
                    && repeated("#", from: i + closing, count: hashes)
                {
                    for _ in 0..<(closing + hashes) { out.append(" ") }
                    i += closing + hashes
                    stack.removeLast()
                    continue
                }
                if c == "\n" && !multiline { stack.removeLast() }  // an unterminated line: the compiler says so
                blank(c)
                i += 1
            }
        }
        return String(out)
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

    /// The guard finds what is planted in a copy of the tree's shape, written every way a hostile review
    /// tried, and passes over comments, strings and monotonic clocks.
    @Test func theGuardFindsAPlantedReading() throws {
        try withTemporaryDirectoryForGuard { root in
            let plant = #"""
                import Foundation
                // Date() in a comment is fine; so is /* Date() */ and "Date()" in a string
                let message = "Date() in a string is fine \("and in an interpolation of a string") too"
                let a = Date()
                let b = Foundation.Date()
                let c = Date .now
                let d = Date
                    .now
                let e: Date = .now
                let f: Date = .init()
                let g = Calendar.current.startOfDay(for: .now)
                let h = NSDate.init()
                let i = Date.init(timeIntervalSinceNow: 0)
                var t = time_t(); let j = time(&t)
                let k = clock_gettime(CLOCK_REALTIME_COARSE, nil)
                let l = "stamp \(Date())"
                let m = Date.timeIntervalSinceReferenceDate
                let n = DispatchWallTime.now()
                let o = #"\"#; let p = Date()
                /* see http://example.com */ let q = Date()
                let r = ContinuousClock.now; let s = clock.now(); enum W { case now }; let w: W = .now; let u = ProcessInfo()
                """#
            try write(plant, to: root, "Sources/SelfCareChannels/Planted.swift")
            try write(
                "import Foundation\r// a comment\rlet z = Date()\r", to: root, "Sources/SelfCareChannels/CR.swift")
            try write(
                "import Foundation\nlet started = Date()\n", to: root, "Tests/SelfCareCoreTests/PlantedTests.swift")
            let spawns = """
                import Foundation
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "selfcare")
                try Process.run(URL(fileURLWithPath: "/bin/true"), arguments: [])
                let q: Process = .init()
                let f = posix_spawnp
                let info = ProcessInfo.processInfo
                """
            try write(spawns, to: root, "Tests/SelfCareCLITests/SpawnsTests.swift")
            try write("let p = Process()\n", to: root, "Sources/SelfCareCLI/Allowed.swift")
            try write("public func now() -> Date { Date() }\n", to: root, "Sources/SelfCareCore/TimeSource.swift")
            let findings = try WallClockGuard.findings(in: root).map(\.description)
            let planted = "Sources/SelfCareChannels/Planted.swift"
            let outside = "outside Tests/SelfCareCLITests/Support/Processes.swift"
            #expect(
                findings == [
                    "Sources/SelfCareChannels/CR.swift:3: reads the wall clock (Date())",
                    "\(planted):4: reads the wall clock (Date())", "\(planted):5: reads the wall clock (Date())",
                    "\(planted):6: reads the wall clock (Date.now)", "\(planted):7: reads the wall clock (Date.now)",
                    "\(planted):9: reads the wall clock (a Date = .now)",
                    "\(planted):10: reads the wall clock (a Date = .now)",
                    "\(planted):11: reads the wall clock (an argument .now)",
                    "\(planted):12: reads the wall clock (Date())",
                    "\(planted):13: reads the wall clock (Date(timeIntervalSinceNow:))",
                    "\(planted):14: reads the wall clock (time())",
                    "\(planted):15: reads the wall clock (CLOCK_REALTIME)",
                    "\(planted):15: reads the wall clock (clock_gettime)",
                    "\(planted):16: reads the wall clock (Date())",
                    "\(planted):17: reads the wall clock (Date.timeIntervalSinceReferenceDate)",
                    "\(planted):18: reads the wall clock (DispatchWallTime)",
                    "\(planted):19: reads the wall clock (Date())", "\(planted):20: reads the wall clock (Date())",
                    "Tests/SelfCareCLITests/SpawnsTests.swift:2: starts a program (Process) \(outside)",
                    "Tests/SelfCareCLITests/SpawnsTests.swift:4: starts a program (Process) \(outside)",
                    "Tests/SelfCareCLITests/SpawnsTests.swift:5: starts a program (Process) \(outside)",
                    "Tests/SelfCareCLITests/SpawnsTests.swift:6: starts a program (posix_spawn) \(outside)",
                    "Tests/SelfCareCoreTests/PlantedTests.swift:2: reads the wall clock (Date())",
                ], "\(findings.joined(separator: "\n"))")
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
