import Foundation
import SelfCareTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// The one place in the tests that starts programs. `WallClockGuardTests` fails on a process started anywhere
// else, and every start here refuses an environment without a fixed SELFCARE_NOW: a spawned `selfcare`
// never reads the wall clock, so the suite passes on any day.
//
// Programs start through posix_spawn with a clean signal mask and are waited for with waitpid; Foundation's
// `Process` is not used: its wait runs a run loop on wall-clock deadlines, which hangs when the suite runs
// under libfaketime at a far date (`scripts/test-far-date.sh`), and its children inherit the test process's
// blocked signals.

/// The instant every spawned program's clock is fixed at, unless a test gives its own `SELFCARE_NOW`.
/// The docs' examples were produced at this instant too.
let fixedNow = "2026-11-24T10:00:00+08:00"

/// The result of running a command.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct SpawnError: Error, CustomStringConvertible {
    let description: String
}

/// The environment of a spawned program: this process's without any `SELFCARE_*` setting of the developer's
/// shell, a cheap PBKDF2 cost, the clock fixed at `fixedNow`, then `overrides`.
func childEnvironment(_ overrides: [String: String] = [:]) -> [String: String] {
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SELFCARE_") }
    env["SELFCARE_PBKDF2_ITERATIONS"] = "20000"
    env["SELFCARE_NOW"] = fixedNow
    for (k, v) in overrides { env[k] = v }
    return env
}

/// Starts `program` in `directory` with `environment`, its standard streams set up by `actions`; `openFiles`
/// lowers its open-files limit (soft and hard), as a machine with a small limit would have it.
private func start(
    _ program: String, _ arguments: [String], in directory: URL, environment: [String: String],
    actions: inout posix_spawn_file_actions_t, openFiles: Int? = nil
) throws -> pid_t {
    guard let now = environment["SELFCARE_NOW"], !now.isEmpty else {
        throw SpawnError(
            description: "\(program): refused to start without a fixed SELFCARE_NOW (use childEnvironment)")
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    // glibc's posix_spawn has no portable chdir: the program runs through `cd DIR && exec PROGRAM ARGS`.
    let limit = openFiles.map { "ulimit -n \($0) && " } ?? ""
    let argv = ["/bin/sh", "-c", limit + "cd \"$0\" && exec \"$@\"", directory.path, program] + arguments
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for p in cArgs { free(p) }
        for p in cEnv { free(p) }
    }
    var child: pid_t = 0
    let rc = posix_spawn(&child, "/bin/sh", &actions, &attributes, cArgs, cEnv)
    guard rc == 0 else { throw SpawnError(description: "could not start \(program): \(String(cString: strerror(rc)))") }
    return child
}

/// The exit status as a shell reports it: the code, or 128 + the signal.
private func exitCode(_ status: Int32) -> Int32 {
    status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// A writer to a pipe whose reader is gone gets EPIPE instead of a fatal SIGPIPE.
private let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

/// Runs the built `selfcare` binary (or another program) in `directory` to its end, feeding `stdin`.
func run(
    _ arguments: [String], in directory: URL, stdin: String? = nil, environment: [String: String] = [:],
    program: String? = nil, stdinBytes: [UInt8]? = nil
) throws -> Run {
    _ = ignoreSIGPIPE
    var input = Array((stdin ?? "").utf8) + (stdinBytes ?? [])
    var pipes: [[Int32]] = [[0, 0], [0, 0], [0, 0]]
    for i in 0..<3 { guard pipe(&pipes[i]) == 0 else { throw SpawnError(description: "pipe failed") } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
    posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
    posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)
    for p in pipes { for fd in p { posix_spawn_file_actions_addclose(&actions, fd) } }
    let pid: pid_t
    do {
        pid = try start(
            program ?? selfcareBinary, arguments, in: directory, environment: childEnvironment(environment),
            actions: &actions)
    } catch {
        for p in pipes { for fd in p { close(fd) } }
        throw error
    }
    close(pipes[0][0])
    close(pipes[1][1])
    close(pipes[2][1])
    var stdinFD: Int32 = pipes[0][1]
    _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK)
    if input.isEmpty {
        close(stdinFD)
        stdinFD = -1
    }
    var outFD = pipes[1][0]
    var errFD = pipes[2][0]
    var out: [UInt8] = []
    var err: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while outFD >= 0 || errFD >= 0 {
        var polled = [
            pollfd(fd: outFD, events: Int16(POLLIN), revents: 0), pollfd(fd: errFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0),
        ]
        guard poll(&polled, 3, -1) >= 0 else {
            if errno == EINTR { continue }
            break
        }
        if stdinFD >= 0, polled[2].revents != 0 {
            let written = input.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
            if written > 0 { input.removeFirst(written) }
            if input.isEmpty || (written < 0 && errno != EAGAIN) {
                close(stdinFD)
                stdinFD = -1
            }
        }
        for (index, fd) in [(0, outFD), (1, errFD)] where fd >= 0 && polled[index].revents != 0 {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                if index == 0 { out += buffer[0..<n] } else { err += buffer[0..<n] }
            } else if n == 0 || errno != EINTR {
                close(fd)
                if index == 0 { outFD = -1 } else { errFD = -1 }
            }
        }
    }
    if stdinFD >= 0 { close(stdinFD) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return Run(
        status: exitCode(status), stdout: String(decoding: out, as: UTF8.self),
        stderr: String(decoding: err, as: UTF8.self))
}

/// The `selfcare` executable built beside this test bundle.
let selfcareBinary = Fixtures.selfcareBinary

/// `sqlite3`, the shell an auditor or an attacker would use.
let sqlite3: String? = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3", "/bin/sqlite3"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// curl, as an integrator would call the server.
let curl: String? = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

func curlGet(_ url: String, _ extra: [String] = []) throws -> String {
    let result = try run(["-sS", "--max-time", "20"] + extra + [url], in: URL(fileURLWithPath: "/"), program: curl!)
    return result.stdout
}

/// Polls `condition` every 50 ms for up to `seconds` of monotonic time.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return condition()
}

/// A background program whose standard output and error go to a file.
final class Background: @unchecked Sendable {
    // Used from one test at a time; `exitStatus` is only touched by `isRunning`, from that test's thread.
    let pid: pid_t
    let log: URL
    private var exitStatus: Int32?

    init(
        _ program: String, _ arguments: [String], log: URL, in directory: URL, environment: [String: String] = [:],
        openFiles: Int? = nil
    ) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        pid = try start(
            program, arguments, in: directory, environment: childEnvironment(environment), actions: &actions,
            openFiles: openFiles)
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = exitCode(status)
            return false
        }
        return true
    }

    /// The exit status once the program has ended.
    var status: Int32? { isRunning ? nil : exitStatus }

    func signal(_ number: Int32) { kill(pid, number) }

    /// `signal`, then a second SIGTERM (bearerbox stuck on queued messages), then SIGKILL; the exit status, or
    /// nil when it had to be killed.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM, seconds: Double = 5) -> Int32? {
        guard isRunning else { return exitStatus }
        kill(pid, signal)
        if waitUntil(seconds, { !isRunning }) { return exitStatus }
        kill(pid, SIGTERM)
        if waitUntil(3, { !isRunning }) { return nil }
        kill(pid, SIGKILL)
        _ = waitUntil(3, { !isRunning })
        return nil
    }

    deinit { if exitStatus == nil { kill(pid, SIGKILL) } }
}

/// A `selfcare serve` process on a free port; what it writes is kept.
final class ServerProcess: @unchecked Sendable {
    // As `Background`: one test uses it at a time.
    let background: Background
    let directory: URL
    private(set) var base = ""

    /// Starts `selfcare serve --port 0 ARGUMENTS` in `directory` and waits until it listens; `openFiles` lowers
    /// its open-files limit.
    init(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:], openFiles: Int? = nil
    ) throws {
        self.directory = directory
        background = try Background(
            selfcareBinary, ["serve", "--port", "0"] + arguments,
            log: FileManager.default.temporaryDirectory.appendingPathComponent(
                "selfcare-serve-\(UUID().uuidString).log"),
            in: directory,
            environment: environment, openFiles: openFiles)
        var found: String?
        _ = waitUntil(60) {
            let text = background.output
            if let range = text.range(of: #"serving on (http://[0-9.]+:[0-9]+)"#, options: .regularExpression) {
                found = String(text[range].dropFirst("serving on ".count))
                return true
            }
            return !background.isRunning
        }
        guard let found else {
            background.stop(SIGKILL)
            throw SpawnError(description: "selfcare serve did not start:\n\(background.output)")
        }
        base = found
    }

    /// What the server wrote so far (standard error and output).
    var stderr: String { background.output }

    /// Waits until the server has written `text`.
    func waitFor(_ text: String, seconds: Double = 15) -> Bool {
        waitUntil(seconds) { stderr.contains(text) }
    }

    func signal(_ number: Int32) { background.signal(number) }

    /// SIGTERM, then the exit status (nil if it did not exit within `seconds`).
    @discardableResult
    func stop(seconds: Double = 15) -> Int32? { background.stop(SIGTERM, seconds: seconds) }

    deinit { try? FileManager.default.removeItem(at: background.log) }
}
