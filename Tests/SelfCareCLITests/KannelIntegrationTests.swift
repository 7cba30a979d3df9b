import Foundation
import SelfCareTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's Kannel (`kannel` and `kannel-extras`): bearerbox, smsbox and the fake SMSC client.
enum Kannel {
    static let bearerbox = "/usr/sbin/bearerbox"
    static let smsbox = "/usr/sbin/smsbox"
    static let fakesmsc = "/usr/lib/kannel/test/fakesmsc"
    static var installed: Bool {
        [bearerbox, smsbox, fakesmsc].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }
    /// CI must run this test: a missing Kannel fails it there instead of skipping it.
    static var required: Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }
}

/// A free loopback TCP port (bound, read, closed).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts connections on the loopback `port`.
func accepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// Replies as fakesmsc prints them (`Got message N: <10010 18612345678 ucs-2 %5C%0A…>`), decoded.
struct FakeSMSCReply: Equatable {
    var to: String
    /// `text` (GSM, as is), `ucs-2` (UTF-16BE), or `udh` parts joined.
    var type: String
    var text: String
}

func kannelURLDecode(_ text: Substring) -> [UInt8] {
    var bytes: [UInt8] = []
    var utf8 = Array(text.utf8)[...]
    while let b = utf8.popFirst() {
        if b == UInt8(ascii: "+") {
            bytes.append(0x20)  // Kannel writes a space as +
        } else if b == UInt8(ascii: "%"), utf8.count >= 2,
            let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
        {
            bytes.append(v)
            utf8 = utf8.dropFirst(2)
        } else {
            bytes.append(b)
        }
    }
    return bytes
}

func utf16BE(_ bytes: [UInt8]) -> String {
    var units: [UInt16] = []
    for i in stride(from: 0, to: bytes.count - 1, by: 2) { units.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])) }
    return String(decoding: units, as: UTF16.self)
}

/// The complete replies in fakesmsc's output; multi-part ones once all their parts are there.
func fakeSMSCReplies(_ output: String) -> [FakeSMSCReply] {
    var replies: [FakeSMSCReply] = []
    var parts: [String: [Int: [UInt8]]] = [:]
    for line in output.split(separator: "\n") {
        guard let start = line.range(of: "Got message "), let open = line[start.upperBound...].firstIndex(of: "<"),
            line.hasSuffix(">")
        else { continue }
        let body = line[line.index(after: open)..<line.index(before: line.endIndex)]
        let fields = body.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3 else { continue }
        let to = String(fields[1])
        let rest = fields.count > 3 ? fields[3] : ""
        switch fields[2] {
        case "text": replies.append(FakeSMSCReply(to: to, type: "text", text: String(rest)))
        case "ucs-2": replies.append(FakeSMSCReply(to: to, type: "ucs-2", text: utf16BE(kannelURLDecode(rest))))
        case "udh":
            guard let split = rest.range(of: " data ") else { continue }
            let udh = kannelURLDecode(rest[..<split.lowerBound])
            let data = kannelURLDecode(rest[split.upperBound...])
            guard udh.count >= 6 else { continue }
            let key = "\(to)/\(udh[3])"
            let total = Int(udh[4])
            parts[key, default: [:]][Int(udh[5])] = data
            if parts[key]!.count == total {
                let joined = (1...total).flatMap { parts[key]![$0] ?? [] }
                // Parts do not say their coding; our multi-part replies here are Chinese (UCS-2).
                replies.append(FakeSMSCReply(to: to, type: "udh", text: utf16BE(joined)))
                parts[key] = nil
            }
        default: continue
        }
    }
    return replies
}

@Suite("Kannel integration", .serialized, .enabled(if: Kannel.installed || Kannel.required, "needs Debian's kannel"))
struct KannelIntegrationTests {
    @Test func moMessagesThroughBearerboxSmsboxAndFakesmscGetTheirRepliesIntact() throws {
        guard Kannel.installed else {
            Issue.record("CI is set but Kannel is missing: apt-get install kannel kannel-extras (.ci/run does)")
            return
        }
        try #require(curl != nil, "needs curl")
        try withServeFolder { dir in
            let gateway = try ServerProcess(
                ["--demo"], in: dir, environment: ["SELFCARE_NOW": "2026-11-24T10:00:00+08:00"])
            defer { _ = gateway.stop() }
            // Free ports are picked, then bound by bearerbox: another program may take one in between,
            // so a bearerbox that cannot listen is started again on other ports.
            var ports = (admin: 0, boxes: 0, smsc: 0, sendsms: 0)
            var conf = dir.appendingPathComponent("kannel.conf")
            var started: Background?
            for attempt in 1...3 {
                let (admin, boxes, smsc, sendsms) = (freePort(), freePort(), freePort(), freePort())
                ports = (admin, boxes, smsc, sendsms)
                let config = """
                    group = core
                    admin-port = \(admin)
                    admin-interface = 127.0.0.1
                    admin-password = secret
                    status-password = status
                    smsbox-port = \(boxes)
                    box-allow-ip = 127.0.0.1
                    log-level = 0

                    group = smsc
                    smsc = fake
                    smsc-id = fake
                    port = \(smsc)
                    connect-allow-ip = 127.0.0.1

                    group = smsbox
                    bearerbox-host = 127.0.0.1
                    bearerbox-port = \(boxes)
                    mo-recode = true
                    sendsms-port = \(sendsms)
                    sendsms-interface = 127.0.0.1
                    log-level = 0

                    group = sendsms-user
                    username = notices
                    password = n0tices
                    max-messages = 3
                    concatenation = true

                    group = sms-service
                    keyword = default
                    catch-all = true
                    get-url = "\(gateway.base)/sms/kannel?from=%p&to=%P&text=%a&id=%I"
                    accept-x-kannel-headers = true
                    max-messages = 5
                    concatenation = true
                    omit-empty = true

                    """
                conf = dir.appendingPathComponent("kannel-\(attempt).conf")
                try config.write(to: conf, atomically: true, encoding: .utf8)
                let candidate = try Background(
                    Kannel.bearerbox, ["-v", "0", conf.path],
                    log: dir.appendingPathComponent("bearerbox-\(attempt).log"),
                    in: dir)
                // smsbox gives up at once if bearerbox's box port is not listening yet.
                if waitUntil(15, { accepts(boxes) && accepts(smsc) && candidate.isRunning }) {
                    started = candidate
                    break
                }
                candidate.stop()
            }
            let bearerbox = try #require(started, "bearerbox did not listen")
            defer { bearerbox.stop() }
            let (admin, smsc) = (ports.admin, ports.smsc)
            let smsbox = try Background(
                Kannel.smsbox, ["-v", "0", conf.path], log: dir.appendingPathComponent("smsbox.log"), in: dir)
            defer { smsbox.stop() }
            let status = "http://127.0.0.1:\(admin)/status.txt?password=status"
            #expect(
                waitUntil(20) { (try? curlGet(status))?.contains("smsbox:") == true },
                "smsbox did not connect:\n\(smsbox.output)")

            // (MO line for fakesmsc, handset, text the gateway gets, reply type, a piece the reply holds)
            let cases: [(String, String, String, String, String)] = [
                ("18611110001 10010 text CXYE", "18611110001", "CXYE", "text", "CNY 56.20"),
                // 余额 sent as UCS-2, as a Chinese handset does; mo-recode hands it over as UTF-8.
                ("18612345678 10010 ucs2 %4F%59%98%9D", "18612345678", "余额", "ucs-2", "余额为123.45元"),
                ("18612345678 10010 text 查积分", "18612345678", "查积分", "ucs-2", "3200"),
                // A reply of several UCS-2 parts, concatenated by Kannel.
                ("18612345678 10010 text CXXD 258036", "18612345678", "CXXD 258036", "udh", "通话"),
            ]
            for (index, (line, handset, text, type, piece)) in cases.enumerated() {
                let fake = try Background(
                    Kannel.fakesmsc, ["-H", "127.0.0.1", "-r", String(smsc), "-i", "0", "-v", "0", "-m", "1", line],
                    log: dir.appendingPathComponent("fakesmsc-\(index).log"), in: dir)
                let arrived = waitUntil(30) { !fakeSMSCReplies(fake.output).isEmpty }
                fake.stop(SIGINT)  // after the reply: stopped earlier, the reply would go to the next client
                try #require(arrived, "no reply to \(line):\n\(fake.output)\n\(smsbox.output.suffix(2000))")
                let reply = try #require(fakeSMSCReplies(fake.output).first)
                // What the gateway answers the same text directly (a query: nothing changes).
                let direct = try curlGet(
                    "\(gateway.base)/sms/kannel?from=\(handset)&"
                        + "text=\(text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text)")
                #expect(reply.to == handset)
                #expect(reply.type == type, "\(line): \(reply)")
                #expect(reply.text == direct, "\(line): the reply arrived changed")
                #expect(reply.text.contains(piece), "\(line): \(reply.text)")
                #expect(!reply.text.contains("?"), "\(line): never a ? for a character Kannel could not send")
                #expect(!reply.text.contains("258036"))
            }

            // A notice through sendsms: a wrong password from another phone leaves one for the owner, in Chinese;
            // `selfcare notices send` hands it to Kannel, and the handset (fakesmsc) gets it as UCS-2.
            let wrong = "GS 18612345678 000000".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            _ = try curlGet("\(gateway.base)/sms/kannel?from=13900000000&text=\(wrong)")
            let handset = try Background(
                Kannel.fakesmsc,
                [
                    "-H", "127.0.0.1", "-r", String(smsc), "-i", "0", "-v", "0", "-m", "1",
                    "18612345678 10010 text CXJF",
                ],
                log: dir.appendingPathComponent("fakesmsc-notice.log"), in: dir)
            defer { handset.stop(SIGINT) }
            #expect(waitUntil(30) { !fakeSMSCReplies(handset.output).isEmpty }, "the handset did not connect")
            let send = try run(
                [
                    "notices", "send", "--quiet-hours", "none",
                    "--sendsms", "http://127.0.0.1:\(ports.sendsms)/cgi-bin/sendsms?username=notices&password=n0tices",
                ], in: dir, environment: ["SELFCARE_NOW": "2026-11-24T10:00:00+08:00"])
            #expect(send.status == 0, "\(send.stdout)\(send.stderr)")
            #expect(send.stdout == "notices: 1 sent, 0 refused, 0 unknown\n")
            let arrived = waitUntil(30) { fakeSMSCReplies(handset.output).contains { $0.text.contains("安全提醒") } }
            #expect(arrived, "no notice at the handset:\n\(handset.output.suffix(2000))")
            let notice = try #require(fakeSMSCReplies(handset.output).first { $0.text.contains("安全提醒") })
            #expect(notice.to == "18612345678" && (notice.type == "ucs-2" || notice.type == "udh"), "\(notice)")
            #expect(notice.text.contains("139****0000") && !notice.text.contains("000000"), "\(notice.text)")
            // At most once: a second pass sends nothing.
            let again = try run(
                [
                    "notices", "send", "--quiet-hours", "none",
                    "--sendsms", "http://127.0.0.1:\(ports.sendsms)/cgi-bin/sendsms?username=notices&password=n0tices",
                ], in: dir, environment: ["SELFCARE_NOW": "2026-11-24T10:00:00+08:00"])
            #expect(again.stdout == "notices: 0 sent, 0 refused, 0 unknown\n")
            let listed = try run(["notices", "list", "--state", "sent"], in: dir)
            #expect(listed.stdout.contains("\"kind\":\"password.third_party\""), "\(listed.stdout)")
        }
    }
}
