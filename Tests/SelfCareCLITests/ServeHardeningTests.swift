import Foundation
import SelfCareTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP connection to the server under test, driven byte by byte as a misbehaving client would.
final class RawConnection {
    let fd: Int32

    /// Connects to `base` (`http://127.0.0.1:PORT`); nil when the connection is not made within `seconds`.
    /// `receiveBuffer` shrinks the socket's receive buffer, so that unread answers fill it sooner.
    init?(_ base: String, seconds: Double = 3, receiveBuffer: Int32? = nil) {
        guard let port = base.split(separator: ":").last.flatMap({ UInt16($0) }) else { return nil }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if var size = receiveBuffer {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 && errno != EINPROGRESS {
            close(fd)
            return nil
        }
        var polled = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&polled, 1, Int32(seconds * 1000)) == 1 else {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Sends as much of `text` as the connection takes within `seconds`; the bytes sent.
    @discardableResult
    func sendAll(_ text: String, within seconds: Double) -> Int {
        let bytes = Array(text.utf8)
        var sent = 0
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while sent < bytes.count && ContinuousClock.now < deadline {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                sent += n
            } else {
                var polled = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&polled, 1, 20)
            }
        }
        return sent
    }

    /// What the server sends within `seconds`, and whether it closed the connection by then.
    func receive(within seconds: Double) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            var polled = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&polled, 1, 20) <= 0 { continue }
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                received += buffer[0..<n]
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                return (String(decoding: received, as: UTF8.self), true)
            }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}

/// Seconds `body` took, on the monotonic clock.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

@Suite("selfcare serve under hostile load", .serialized, .enabled(if: curl != nil, "needs curl"))
struct ServeHardeningTests {
    // MARK: D3 — every channel's grammar is required

    @Test func checkStartAndReloadRefuseAFolderWithoutAChannelsGrammar() throws {
        try withServeFolder { dir in
            let ivr = dir.appendingPathComponent("grammars/ivr.grammar")
            let ivrText = try String(contentsOf: ivr, encoding: .utf8)
            try FileManager.default.removeItem(at: ivr)
            let check = try run(["check"], in: dir)
            #expect(check.status == 1, "\(check.stdout)")
            #expect(check.stderr.contains("no grammar for channel `ivr`"), "\(check.stderr)")
            // The server does not start on it either.
            let refused = try Background(
                selfcareBinary, ["serve", "--demo", "--port", "0"],
                log: dir.appendingPathComponent("refused.log"), in: dir)
            _ = waitUntil(60) { !refused.isRunning || refused.output.contains("serving on") }
            let startedAnyway = refused.isRunning
            refused.stop(SIGKILL)
            #expect(!startedAnyway, "\(refused.output)")
            #expect(refused.output.contains("no grammar for channel `ivr`"), "\(refused.output)")
            // Turned off on purpose, the channel needs no grammar, and its routes say it is off.
            let off = ["SELFCARE_CHANNELS": "sms,ussd"]
            let checkOff = try run(["check"], in: dir, environment: off)
            #expect(checkOff.status == 0, "\(checkOff.stderr)")
            let server = try ServerProcess([], in: dir, environment: off)
            let vxml = try curlGet("\(server.base)/ivr/vxml?from=18612345678", ["-w", "\n%{http_code}"])
            #expect(vxml.hasSuffix("\n404"), "\(vxml)")
            #expect(vxml.contains("ivr channel is turned off"), "\(vxml)")
            #expect(try curlGet("\(server.base)/sms/kannel?from=18612345678&text=CXYE").contains("123.45"))
            #expect(server.stop() == 0)
            // Served with all three, a reload that lost one is refused and the channel keeps working.
            try ivrText.write(to: ivr, atomically: true, encoding: .utf8)
            let full = try ServerProcess([], in: dir, environment: ["SELFCARE_ADMIN_TOKEN": "t"])
            defer { full.stop() }
            try FileManager.default.removeItem(at: dir.appendingPathComponent("grammars/ussd.grammar"))
            full.signal(SIGHUP)
            #expect(full.waitFor("reload refused"), "\(full.stderr)")
            #expect(full.stderr.contains("no grammar for channel `ussd`"), "\(full.stderr)")
            let admin = try curlGet(
                "\(full.base)/v1/admin/reload", ["-X", "POST", "-H", "Authorization: Bearer t", "-w", "\n%{http_code}"])
            #expect(admin.hasSuffix("\n422"), "\(admin)")
            #expect(admin.contains("no grammar for channel `ussd`"), "\(admin)")
            let screen = try curlGet(
                "\(full.base)/ussd/at", ["-d", "sessionId=r1&serviceCode=*100*1*1%23&phoneNumber=18612345678&text="])
            #expect(screen.hasPrefix("END 尊敬的张伟客户"), "\(screen)")
        }
    }

    /// What `check` refuses in the prompts, `serve` and both kinds of reload refuse too: an emptied file once made
    /// customers read raw keys (`reply.query.balance`), and a missing language file answered them in the other.
    @Test func startAndReloadRefusePromptsThatCheckRefuses() throws {
        try withServeFolder { dir in
            let zh = dir.appendingPathComponent("prompts/zh-CN.prompts")
            let zhText = try String(contentsOf: zh, encoding: .utf8)
            let en = dir.appendingPathComponent("prompts/en.prompts")
            let enText = try String(contentsOf: en, encoding: .utf8)
            try FileManager.default.removeItem(at: en)
            let check = try run(["check"], in: dir)
            #expect(check.status == 1)
            #expect(check.stderr.contains("en.prompts: error: missing: the gateway answers in en"), "\(check.stderr)")
            let refused = try run(["serve", "--demo", "--port", "0"], in: dir)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("serve: the prompts are not fit to serve"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("selfcare.sqlite").path))
            try enText.write(to: en, atomically: true, encoding: .utf8)

            let server = try ServerProcess(["--demo"], in: dir, environment: ["SELFCARE_ADMIN_TOKEN": "t"])
            defer { server.stop() }
            try Data().write(to: zh)
            server.signal(SIGHUP)
            #expect(server.waitFor("reload refused"), "\(server.stderr)")
            #expect(
                server.stderr.contains("missing key `confirm.ask.sms`, which the gateway sends"), "\(server.stderr)")
            let admin = try curlGet(
                "\(server.base)/v1/admin/reload",
                ["-X", "POST", "-H", "Authorization: Bearer t", "-w", "\n%{http_code}"])
            #expect(admin.hasSuffix("\n422"), "\(admin)")
            #expect(admin.contains("more (selfcare check lists them all)"), "\(admin)")
            // The running prompts stay: customers read words, not keys.
            let reply = try curlGet("\(server.base)/sms/kannel?from=18612345678&text=CXYE")
            #expect(reply.contains("123.45") && !reply.contains("reply.query"), "\(reply)")
            try zhText.write(to: zh, atomically: true, encoding: .utf8)
            let again = try curlGet(
                "\(server.base)/v1/admin/reload",
                ["-X", "POST", "-H", "Authorization: Bearer t", "-w", "\n%{http_code}"])
            #expect(again.hasSuffix("\n200"), "\(again)")
        }
    }

    // MARK: D4 — idle, header and body timeouts; a connection cap below the descriptor limit

    @Test func idleAndHalfSentConnectionsAreClosedAndTheExcessIsRefusedAtOnce() throws {
        try withServeFolder { dir in
            let server = try ServerProcess(
                [
                    "--demo", "--idle-timeout", "2", "--header-timeout", "2", "--body-timeout", "3",
                    "--max-connections", "6",
                ], in: dir)
            defer { server.stop() }
            // A request head that never ends.
            let halfHead = try #require(RawConnection(server.base))
            halfHead.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
            // A body that trickles in, a byte at a time, and never completes.
            let trickle = try #require(RawConnection(server.base))
            trickle.send(
                "POST /sms/kannel?from=18612345678 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 100\r\n\r\n")
            // A kept-alive connection after one answer.
            let keptAlive = try #require(RawConnection(server.base))
            keptAlive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(keptAlive.receive(within: 0.5).text.hasPrefix("HTTP/1.1 200"))
            // Three connections that say nothing: six in all, the cap.
            let silent = (0..<3).compactMap { _ in RawConnection(server.base) }
            #expect(silent.count == 3)
            Thread.sleep(forTimeInterval: 0.2)
            // One more is refused at once, with an answer, not left waiting.
            let excess = try #require(RawConnection(server.base))
            excess.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let refusal = excess.receive(within: 2)
            #expect(refusal.text.hasPrefix("HTTP/1.1 503"), "\(refusal.text)")
            #expect(refusal.closed)
            var trickleClosed = false
            let trickleTime = seconds {
                for _ in 0..<40 where !trickleClosed {
                    trickle.send("a")
                    trickleClosed = trickle.receive(within: 0.2).closed
                }
            }
            #expect(trickleClosed, "a body still arriving is cut at the body timeout")
            #expect(trickleTime < 6)
            #expect(halfHead.receive(within: 3).closed, "a head that never ends is cut at the header timeout")
            #expect(keptAlive.receive(within: 3).closed, "an idle kept-alive connection is closed")
            for connection in silent { #expect(connection.receive(within: 3).closed) }
            // Room again: a new request is served.
            #expect(try curlGet("\(server.base)/healthz") == "ok\n")
        }
    }

    /// A client that sends requests and never reads the answers: once the answers fill the socket's buffers, the
    /// connection takes no more bytes, and it is closed at the send timeout instead of holding its place for ever.
    @Test func aClientThatNeverReadsItsAnswersIsCutAtTheSendTimeout() throws {
        try withServeFolder { dir in
            let server = try ServerProcess(["--demo", "--send-timeout", "2", "--idle-timeout", "60"], in: dir)
            defer { server.stop() }
            let requests = 2_000
            let client = try #require(RawConnection(server.base, receiveBuffer: 4096))
            client.sendAll(String(repeating: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", count: requests), within: 3)
            Thread.sleep(forTimeInterval: 5)
            // Drain what was sent before the close: a connection still open would now take every other answer.
            let drained = client.receive(within: 5)
            let (answers, closed) = (drained.text.components(separatedBy: "HTTP/1.1 200").count - 1, drained.closed)
            #expect(closed, "a connection whose answers are not read is closed (\(answers) answers read)")
            #expect(answers < requests, "\(answers)")
            #expect(try curlGet("\(server.base)/healthz") == "ok\n")
        }
    }

    @Test func connectionsPastTheOpenFilesLimitAreRefusedAndServingResumes() throws {
        try withServeFolder { dir in
            // 256 descriptors in all, soft and hard: the server cannot raise it, so it caps connections below.
            let server = try ServerProcess(["--demo"], in: dir, openFiles: 256)
            defer { server.stop() }
            var held: [RawConnection] = []
            for _ in 0..<300 {
                if let connection = RawConnection(server.base, seconds: 1) { held.append(connection) }
            }
            #expect(held.count > 256, "the server keeps accepting: \(held.count)")
            // A health check is answered at once (refused while the idle connections fill the cap), not left to
            // time out because accept() fails.
            var status = ""
            let waited = try seconds {
                status = try curlGet(
                    "\(server.base)/healthz", ["-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"])
            }
            #expect(status == "503" || status == "200", "\(status)")
            #expect(waited < 4)
            // The silent connections are cut at the header timeout (10 s by default); then health is ok again.
            let healthy = waitUntil(25) {
                (try? curlGet("\(server.base)/healthz", ["--max-time", "2"])) == "ok\n"
            }
            #expect(healthy, "\(server.stderr)")
            held.removeAll()
            #expect(try curlGet("\(server.base)/sms/kannel?from=18612345678&text=CXYE").contains("123.45"))
        }
    }

    // MARK: D5 — a bounded flood, for CI

    /// The flood CI runs (through `swift test`): eight times the session cap in new USSD sessions and as many IVR
    /// calls, in a process of its own so that its resident memory is the flood's.
    @Test func aFloodKeepsCustomersMidStepAndGivesItsMemoryBackOnceExpired() throws {
        try withServeFolder { dir in
            let result = try run(["bench", "--flood", "12000", "--flood-cap", "1500"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            let out = result.stdout
            #expect(out.contains("customer at the USSD password screen: kept"), "\(out)")
            #expect(out.contains("caller at an IVR confirmation: kept"), "\(out)")
            // The flood comes from one client address, which holds at most half the cap (`--sessions-per-source`);
            // the customer and the caller call from another, and keep their one session each.
            #expect(
                out.contains("live sessions 751 USSD and 751 IVR after the flood; 0 and 0 once expired"), "\(out)")
            let figures = try #require(
                out.firstMatch(
                    of: /resident ([0-9.]+) MiB before, ([0-9.]+) MiB at the peak .*, ([0-9.]+) MiB once expired/))
            let (before, peak, after) = (Double(figures.1)!, Double(figures.2)!, Double(figures.3)!)
            // Bounded by the cap, not by the flood: every per-session table holds 1,500 entries at most.
            #expect(peak - before < 12, "\(out)")
            #expect(after - before < 2, "the memory comes back once the sessions expire: \(out)")
        }
    }

    // MARK: D8 — a removed database is not served as healthy

    @Test func aRemovedDatabaseStopsAcknowledgingAndIsNotReady() throws {
        try withServeFolder { dir in
            let server = try ServerProcess(["--demo"], in: dir)
            defer { server.stop() }
            let ready = try curlGet("\(server.base)/readyz", ["-w", "\n%{http_code}"])
            #expect(ready == "ready\n\n200", "\(ready)")
            try FileManager.default.removeItem(at: dir.appendingPathComponent("selfcare.sqlite"))
            let answer = try curlGet(
                "\(server.base)/sms/kannel?from=18612345678&text=GS+258036", ["-w", "\n%{http_code}"])
            #expect(answer.hasSuffix("\n503"), "\(answer)")
            #expect(answer.contains("database"), "\(answer)")
            #expect(server.stderr.contains("selfcare.sqlite"), "a log line names the file: \(server.stderr)")
            let notReady = try curlGet("\(server.base)/readyz", ["-w", "\n%{http_code}"])
            #expect(notReady.hasSuffix("\n503"), "\(notReady)")
            #expect(notReady.contains("removed or replaced"), "\(notReady)")
            // Liveness is still liveness.
            #expect(try curlGet("\(server.base)/healthz") == "ok\n")
        }
    }
}
