import Foundation
import SelfCareTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Copies the shipped `name` folder (grammars, prompts) to `destination`, changing the English points reply to
/// begin with `marker`, so a test can tell which copy the gateway read.
func copyShipped(_ name: String, to destination: URL, marker: String? = nil) throws {
    try FileManager.default.createDirectory(
        at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: Fixtures.repositoryRoot.appendingPathComponent(name), to: destination)
    guard let marker else { return }
    let english = destination.appendingPathComponent("en.prompts")
    let text = try String(contentsOf: english, encoding: .utf8)
    #expect(text.contains("You have {points} points."))
    try text.replacingOccurrences(of: "You have {points} points.", with: "\(marker) You have {points} points.")
        .write(to: english, atomically: true, encoding: .utf8)
}

/// Puts the built `selfcare` at `path` (a hard link where it can, a copy otherwise).
func placeBinary(at path: URL) throws {
    try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
    if link(selfcareBinary, path.path) != 0 {
        try FileManager.default.copyItem(at: URL(fileURLWithPath: selfcareBinary), to: path)
    }
}

@Suite("A newcomer's first hour", .serialized)
struct NewcomerTests {
    /// Only `init` and `serve --demo` create a database: any other command on a missing one says so and
    /// leaves nothing behind, so a later `serve --demo` still finds no database and loads the demo.
    @Test func onlyInitAndServeDemoCreateADatabase() throws {
        try withServeFolder { dir in
            let message = "selfcare: ./selfcare.sqlite: no such database; run 'selfcare init' first\n"
            let commands: [[String]] = [
                ["sms", "--from", "18612345678", "CXYE"], ["op", "query.balance", "--from", "18612345678"], ["tick"],
                ["ussd", "--from", "18612345678", "*100#"], ["ivr", "--from", "18612345678", "--digits", "1 1"],
                ["import", "plans", "plans.csv"], ["password", "set", "18612345678"], ["records", "list"],
                ["records", "verify"], ["serve", "--port", "0"],
            ]
            try "code\n".write(to: dir.appendingPathComponent("plans.csv"), atomically: true, encoding: .utf8)
            for command in commands {
                let r = try run(command, in: dir, stdin: "147036\n147036\n")
                #expect(r.status == 1, "\(command)")
                #expect(r.stderr == message, "\(command): \(r.stderr)")
                #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("selfcare.sqlite").path))
            }
            let other = try run(["sms", "--from", "18612345678", "CXYE", "--database", "typo.sqlite"], in: dir)
            #expect(other.stderr == "selfcare: typo.sqlite: no such database; run 'selfcare init' first\n")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("typo.sqlite").path))
            let server = try ServerProcess(["--demo"], in: dir)
            defer { server.stop() }
            #expect(server.stderr.contains("demo subscribers: applied 23"), "\(server.stderr)")
        }
    }

    /// Only a database file is opened: an empty file (which SQLite would quietly turn into an empty database),
    /// a device (which would grow a journal beside it) or a folder is refused, and `init` and `serve --demo`
    /// leave no pepper behind a path they cannot use; `serve --demo` fills an empty file.
    @Test func onlyADatabaseFileIsOpened() throws {
        try withServeFolder { dir in
            let empty = dir.appendingPathComponent("empty.sqlite")
            #expect(FileManager.default.createFile(atPath: empty.path, contents: nil))
            let sms = try run(["sms", "--from", "18612345678", "CXYE", "--database", "empty.sqlite"], in: dir)
            #expect(sms.status == 1)
            #expect(sms.stderr == "selfcare: empty.sqlite: an empty file, not a database; run 'selfcare init' first\n")
            #expect(try FileManager.default.attributesOfItem(atPath: empty.path)[.size] as? Int == 0)
            #expect(!FileManager.default.fileExists(atPath: empty.path + "-wal"))
            let journal = "/dev/null-journal"
            let journalBefore = FileManager.default.fileExists(atPath: journal)
            let device = try run(["tick", "--database", "/dev/null"], in: dir)
            #expect(device.stderr == "selfcare: /dev/null: not a database file (a device); pass --database FILE\n")
            #expect(journalBefore || !FileManager.default.fileExists(atPath: journal))
            let folder = try run(["records", "list", "--database", "grammars"], in: dir)
            #expect(folder.stderr == "selfcare: grammars: not a database file (a folder); pass --database FILE\n")
            for command in [["init"], ["serve", "--demo", "--port", "0"]] {
                let r = try run(command + ["--database", "missing/x.sqlite"], in: dir)
                #expect(r.status == 1)
                #expect(
                    r.stderr == "selfcare: missing/x.sqlite: no such folder missing for the database\n", "\(r.stderr)")
                #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("missing").path))
            }
            let server = try ServerProcess(["--demo", "--database", "empty.sqlite"], in: dir)
            defer { server.stop() }
            #expect(server.stderr.contains("demo subscribers: applied 23"), "\(server.stderr)")
        }
    }

    /// Grammars and prompts are found in the documented order when `selfcare` runs from PATH or is
    /// installed elsewhere: option, environment variable, working directory, PREFIX/share/selfcare.
    @Test func dataFoldersAreFoundFromPATHAndAnInstallPrefix() throws {
        try withScratchFolder { root in
            let prefix = root.appendingPathComponent("opt/selfcare")
            try placeBinary(at: prefix.appendingPathComponent("bin/selfcare"))
            try copyShipped("grammars", to: prefix.appendingPathComponent("share/selfcare/grammars"))
            try copyShipped("prompts", to: prefix.appendingPathComponent("share/selfcare/prompts"), marker: "PREFIX:")
            let links = root.appendingPathComponent("links")
            try FileManager.default.createDirectory(at: links, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                at: links.appendingPathComponent("selfcare"),
                withDestinationURL: prefix.appendingPathComponent("bin/selfcare"))
            let work = root.appendingPathComponent("work")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let initialised = try run(["init", "--demo"], in: work)
            #expect(initialised.status == 0, "\(initialised.stdout)\(initialised.stderr)")
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            func points(_ bin: URL, _ extra: String = "", _ environment: [String: String] = [:]) throws -> Run {
                var env = environment
                env["PATH"] = "\(bin.path):\(path)"
                return try run(
                    ["-c", "selfcare sms --from 18611110001 CXJF \(extra)"], in: work, environment: env,
                    program: "/bin/sh")
            }
            // Run by name from PATH, through a symlink and directly: the installation's share/selfcare.
            for bin in [links, prefix.appendingPathComponent("bin")] {
                let r = try points(bin)
                #expect(r.stdout == "PREFIX: You have 880 points.\n", "\(bin.path): \(r.stdout)\(r.stderr)")
            }
            // ./prompts in the working directory comes before the installation's.
            try copyShipped("prompts", to: work.appendingPathComponent("prompts"), marker: "LOCAL:")
            #expect(try points(links).stdout == "LOCAL: You have 880 points.\n")
            // SELFCARE_PROMPTS before ./prompts, and --prompts before both.
            try copyShipped("prompts", to: root.appendingPathComponent("env-prompts"), marker: "ENV:")
            try copyShipped("prompts", to: root.appendingPathComponent("flag-prompts"), marker: "FLAG:")
            let env = ["SELFCARE_PROMPTS": root.appendingPathComponent("env-prompts").path]
            #expect(try points(links, "", env).stdout == "ENV: You have 880 points.\n")
            let flag = "--prompts \(root.appendingPathComponent("flag-prompts").path)"
            #expect(try points(links, flag, env).stdout == "FLAG: You have 880 points.\n")
            let missing = try points(links, "", ["SELFCARE_GRAMMARS": "/no/such/grammars"])
            #expect(missing.status == 1)
            #expect(missing.stderr == "selfcare: /no/such/grammars: no such folder (given by SELFCARE_GRAMMARS)\n")
            // A binary with no data anywhere near it says where it looked.
            let lonely = root.appendingPathComponent("lonely")
            try placeBinary(at: lonely.appendingPathComponent("selfcare"))
            try FileManager.default.removeItem(at: work.appendingPathComponent("prompts"))
            let nowhere = try points(lonely)
            #expect(nowhere.status == 1)
            #expect(
                nowhere.stderr
                    == "selfcare: no prompts folder: looked in ./prompts; pass --prompts DIR or set SELFCARE_PROMPTS\n",
                "\(nowhere.stderr)")
        }
    }

    /// A prompts or grammar file that cannot be read names itself and the reason, for `sms` and `check` alike.
    @Test func anUnreadableDataFileNamesTheFileAndTheReason() throws {
        try withDemoAndGrammars { dir in
            let prompts = dir.appendingPathComponent("prompts/zh-CN.prompts")
            let original = try Data(contentsOf: prompts)
            // `reply.query.points = 积分` with the value saved as GBK, as Notepad's "ANSI" does on Chinese Windows.
            try Data("# saved as GBK\nreply.query.points = ".utf8 + [0xBB, 0xFD, 0xB7, 0xD6] + "\n".utf8).write(
                to: prompts)
            let reason =
                "./prompts/zh-CN.prompts: not valid UTF-8 at line 2, column 22 (byte 0xBB); save the file as UTF-8 "
                + "(a Chinese text saved as GBK reads like this)\n"
            for command in [["sms", "--from", "18612345678", "CXYE"], ["check"]] {
                let r = try run(command, in: dir)
                #expect(r.status == 1, "\(command)")
                #expect(r.stderr == "selfcare: " + reason, "\(command): \(r.stderr)")
            }
            try original.write(to: prompts)
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("grammars/extra.grammar"), withIntermediateDirectories: true)
            let folder = try run(["check"], in: dir)
            #expect(folder.status == 1)
            #expect(folder.stderr == "selfcare: ./grammars/extra.grammar: cannot read it (it is a folder)\n")
            try FileManager.default.removeItem(at: dir.appendingPathComponent("grammars/extra.grammar"))
            // A byte-order mark, as Windows editors write it, is fine.
            let grammar = dir.appendingPathComponent("grammars/sms.grammar")
            try (Data([0xEF, 0xBB, 0xBF]) + Data(contentsOf: grammar)).write(to: grammar)
            #expect(try run(["check"], in: dir).status == 0)
        }
    }

    /// `serve --port` takes 0 to 65535 only, and a busy port is named with what to do about it.
    @Test func servePortIsCheckedAndABusyPortIsNamed() throws {
        try withServeFolder { dir in
            #expect(try run(["init", "--demo"], in: dir).status == 0)
            for bad in ["70000", "65536"] {
                let r = try run(["serve", "--port", bad], in: dir)
                #expect(r.status == 64)
                #expect(
                    r.stderr
                        == "selfcare: serve: --port \(bad) is not a TCP port; use 0 to 65535 (0 takes any free port)\n",
                    "\(r.stderr)")
            }
            for negative in [["serve", "--port=-1"], ["serve", "--port", "-1"]] {
                let r = try run(negative, in: dir)
                #expect(r.status == 64)
                #expect(r.stderr.contains("--port -1 is not a TCP port"), "\(r.stderr)")
            }
            let sessions = try run(["serve", "--port", "0", "--session-store", "database"], in: dir)
            #expect(sessions.status == 64)
            #expect(
                sessions.stderr
                    == "selfcare: serve: --session-store database needs a PostgreSQL database (--database postgres://…)\n",
                "\(sessions.stderr)")
            let host = try run(["serve", "--port", "0", "--host", "nosuch.invalid"], in: dir)
            #expect(host.status == 1)
            #expect(
                host.stderr.hasSuffix(
                    "selfcare: serve: cannot listen on `nosuch.invalid`: no such host name or address; --host takes an "
                        + "address of this machine, such as 127.0.0.1, 0.0.0.0 or ::1, without a port\n"),
                "\(host.stderr)")
            let server = try ServerProcess([], in: dir)
            defer { server.stop() }
            let port = String(server.base.split(separator: ":").last ?? "")
            let busy = try run(["serve", "--port", port], in: dir)
            #expect(busy.status == 1)
            #expect(
                busy.stderr.hasSuffix(
                    "selfcare: serve: port \(port) on 127.0.0.1 is already in use (another selfcare serve?); stop that "
                        + "program, or choose another port with --port (0 takes any free port)\n"), "\(busy.stderr)")
        }
    }
}

@Suite("Mistakes on the command line", .serialized)
struct CommandLineMistakeTests {
    /// `op` refuses an operation it does not know with the likely one and writes no record; `--help` lists them.
    @Test func opSaysDidYouMeanAndWritesNoRecord() throws {
        try withDemo { dir in
            let typo = try run(["op", "query.balanse", "--from", "18612345678"], in: dir)
            #expect(typo.status == 64)
            #expect(typo.stdout.isEmpty)
            #expect(typo.stderr == "selfcare: op: unknown operation `query.balanse`; did you mean `query.balance`?\n")
            let far = try run(["op", "weather", "--from", "18612345678"], in: dir)
            #expect(
                far.stderr == "selfcare: op: unknown operation `weather`; see `selfcare op --help` for the operations\n"
            )
            let from = try run(["op", "query.balance", "--from", "zhangwei"], in: dir)
            #expect(from.status == 64)
            #expect(
                from.stderr
                    == "selfcare: op: --from `zhangwei` is not a phone number (5 to 15 digits, optionally with +86)\n")
            let subject = try run(["op", "query.balance", "--from", "18612345678", "--subject", "abc"], in: dir)
            #expect(subject.status == 64)
            #expect(subject.stderr.hasPrefix("selfcare: op: --subject `abc` is not a phone number"))
            #expect(
                try run(["records", "verify"], in: dir).stdout.hasPrefix("ok: \(demoImportRecords) records"),
                "no record written beyond the demo data's import records")
            let help = try run(["op", "--help"], in: dir)
            for name in [
                "query.balance", "query.puk", "loss.report", "plan.cancel", "suspend.resume", "password.change",
            ] {
                #expect(help.stdout.contains(name), "\(name) in op --help")
            }
            #expect(help.stdout.contains("* loss.report"), "the password marker")
        }
    }

    /// A mistyped command name gets the likely one; `--version` answers.
    @Test func aMistypedCommandSuggestsTheRightOne() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory())
        let top = try run(["recrods", "list"], in: dir)
        #expect(top.status == 64)
        #expect(top.stderr == "selfcare: unknown command `selfcare recrods`; did you mean `selfcare records`?\n")
        let nested = try run(["records", "lst"], in: dir)
        #expect(
            nested.stderr == "selfcare: unknown command `selfcare records lst`; did you mean `selfcare records list`?\n"
        )
        let helped = try run(["help", "recrods"], in: dir)
        #expect(helped.stderr == "selfcare: unknown command `selfcare recrods`; did you mean `selfcare records`?\n")
        let version = try run(["version"], in: dir)
        #expect(version.stderr == "selfcare: unknown command `selfcare version`; did you mean `selfcare --version`?\n")
        let early = try run(["--database", "x.sqlite", "records", "list"], in: dir)
        #expect(early.status == 64)
        #expect(early.stderr == "selfcare: options go after the command: `selfcare records … --database …`\n")
        let far = try run(["frobnicate"], in: dir)
        #expect(far.stderr.hasPrefix("selfcare: unknown command `selfcare frobnicate`; the commands are `init`, "))
        let printed = try run(["--version"], in: dir)
        #expect(printed.status == 0)
        #expect(printed.stdout.hasPrefix("selfcare 0."), "\(printed.stdout)")
    }

    /// An invalid SELFCARE_LOG_LEVEL is refused rather than silently replaced by the default.
    @Test func anInvalidLogLevelIsRefused() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory())
        let loud = try run(["check", "--prompts", "/none"], in: dir, environment: ["SELFCARE_LOG_LEVEL": "loud"])
        #expect(loud.status == 1)
        #expect(
            loud.stderr
                == "selfcare: SELFCARE_LOG_LEVEL: expected trace, debug, info, notice, warning, error, critical, found `loud`\n"
        )
        #expect(try run(["--version"], in: dir, environment: ["SELFCARE_LOG_LEVEL": "DEBUG"]).status == 0)
        // Help and the version still answer, whatever the environment.
        for asking in [["--version"], ["--help"], ["help", "records"], ["records", "list", "--help"]] {
            #expect(try run(asking, in: dir, environment: ["SELFCARE_LOG_LEVEL": "loud"]).status == 0, "\(asking)")
        }
    }

    /// Every SELFCARE_* variable the code reads is listed in the README, and in `selfcare --help` when the
    /// executable reads it (the test-support module, never linked into it, reads a few of its own).
    @Test func everyEnvironmentVariableIsDocumented() throws {
        var names: Set<String> = []
        var testOnly: Set<String> = []
        let sources = Fixtures.repositoryRoot.appendingPathComponent("Sources")
        let walker = try #require(FileManager.default.enumerator(atPath: sources.path))
        let pattern = try Regex(#""(SELFCARE_[A-Z0-9_]+)""#)
        while let path = walker.nextObject() as? String {
            guard path.hasSuffix(".swift") else { continue }
            let text = try String(contentsOf: sources.appendingPathComponent(path), encoding: .utf8)
            for match in text.matches(of: pattern) {
                guard let name = match.output[1].substring else { continue }
                if path.hasPrefix("SelfCareTesting/") {
                    testOnly.insert(String(name))
                } else {
                    names.insert(String(name))
                }
            }
        }
        #expect(names.count >= 10, "\(names.sorted())")
        let help = try run(["--help"], in: URL(fileURLWithPath: NSTemporaryDirectory())).stdout
        let readme = try String(
            contentsOf: Fixtures.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        for name in names.sorted() {
            #expect(help.contains(name), "\(name) is missing from selfcare --help")
            #expect(readme.contains("`\(name)`"), "\(name) is missing from README.md")
        }
        for name in testOnly.subtracting(names).sorted() {
            #expect(readme.contains("`\(name)`"), "\(name) is missing from README.md")
        }
    }
}
