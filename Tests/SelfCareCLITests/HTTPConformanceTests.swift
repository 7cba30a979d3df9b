import Foundation
import SelfCareTesting
import Testing

/// RFC 9110/9112 on a real socket, request by request as a client writes them.
@Suite("HTTP by the RFCs, on a real socket", .serialized, .enabled(if: curl != nil, "needs curl"))
struct HTTPConformanceTests {
    /// One request on a new connection: what came back within `seconds`, and whether the server closed.
    private func exchange(
        _ server: ServerProcess, _ request: String, within seconds: Double = 2
    )
        throws -> (text: String, closed: Bool)
    {
        let connection = try #require(RawConnection(server.base))
        connection.send(request)
        return connection.receive(within: seconds)
    }

    private func withServer(_ body: (ServerProcess) throws -> Void) throws {
        try withServeFolder { dir in
            let server = try ServerProcess(["--demo"], in: dir, environment: ["SELFCARE_ADMIN_TOKEN": "t"])
            defer { server.stop() }
            try body(server)
        }
    }

    /// Every GET route answers HEAD with GET's status and headers and no body; where GET acts (delivers a
    /// message, opens a call), HEAD runs nothing.
    @Test func headIsAnsweredOnEveryGetRoute() throws {
        try withServer { server in
            for path in [
                "/healthz", "/readyz", "/metrics", "/sms/kannel?from=18612345678&text=CXYE", "/ivr/vxml",
                "/ivr/vxml?from=18612345678&session=h1", "/v1/records?limit=1",
            ] {
                let answer = try exchange(
                    server, "HEAD \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n")
                #expect(answer.text.hasPrefix("HTTP/1.1 200 OK\r\n"), "HEAD \(path): \(answer.text)")
                #expect(answer.text.hasSuffix("\r\n\r\n"), "HEAD \(path) carries no body: \(answer.text)")
            }
            let records = try curlGet("\(server.base)/v1/records", ["-H", "Authorization: Bearer t"])
            #expect(!records.contains("CXYE") && !records.contains("query.balance"), "HEAD ran nothing: \(records)")
        }
    }

    /// A client that sends `Expect: 100-continue` gets `100 Continue` before it sends the body, then the answer.
    @Test func expectContinueIsAnsweredBeforeTheBody() throws {
        try withServer { server in
            let connection = try #require(RawConnection(server.base))
            connection.send(
                "POST /sms/kannel?from=18612345678 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            let interim = connection.receive(within: 0.5)
            #expect(interim.text == "HTTP/1.1 100 Continue\r\n\r\n", "\(interim.text)")
            connection.send("CXYE")
            let final = connection.receive(within: 1)
            #expect(final.text.hasPrefix("HTTP/1.1 200 OK\r\n") && final.text.contains("123.45"), "\(final.text)")
        }
    }

    /// HTTP/1.1 needs `Host`; HTTP/1.0 does not.
    @Test func anHTTP11RequestWithoutHostIs400() throws {
        try withServer { server in
            let missing = try exchange(server, "GET /healthz HTTP/1.1\r\n\r\n")
            #expect(missing.text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(missing.text)")
            #expect(missing.text.contains("Host"))
            #expect(missing.closed)
            let old = try exchange(server, "GET /healthz HTTP/1.0\r\n\r\n")
            #expect(old.text.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(old.text)")
        }
    }

    /// An HTTP/1.0 request is answered in HTTP/1.0 and its connection closed, unless it asks to keep it.
    @Test func anHTTP10ConnectionClosesUnlessKeptAlive() throws {
        try withServer { server in
            let plain = try exchange(server, "GET /healthz HTTP/1.0\r\n\r\n")
            #expect(plain.text.hasPrefix("HTTP/1.0 200 OK\r\n") && plain.text.hasSuffix("ok\n"), "\(plain.text)")
            #expect(plain.closed, "an HTTP/1.0 connection closes after its answer")
            let kept = try #require(RawConnection(server.base))
            kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let first = kept.receive(within: 0.5)
            #expect(first.text.lowercased().contains("connection: keep-alive"), "\(first.text)")
            #expect(!first.closed)
            kept.send("GET /healthz HTTP/1.0\r\n\r\n")
            let second = kept.receive(within: 1)
            #expect(second.text.hasPrefix("HTTP/1.0 200 OK\r\n") && second.closed, "\(second.text)")
            let closing = try exchange(server, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(closing.closed)
        }
    }

    /// A known path asked with a method it does not take is 405 with `Allow`; an unknown path stays 404.
    @Test func aWrongMethodIs405WithAllow() throws {
        try withServer { server in
            for (request, allow) in [
                ("DELETE /sms/kannel", "GET, HEAD, POST"), ("GET /v1/messages", "POST"), ("POST /healthz", "GET, HEAD"),
                ("PUT /v1/records", "GET, HEAD"),
            ] {
                let answer = try exchange(server, "\(request) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                #expect(answer.text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"), "\(request): \(answer.text)")
                #expect(answer.text.contains("\r\nAllow: \(allow)\r\n"), "\(request): \(answer.text)")
            }
            let unknown = try exchange(server, "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(unknown.text.hasPrefix("HTTP/1.1 404 Not Found\r\n"), "\(unknown.text)")
        }
    }

    /// A body whose chunking cannot be read is 400, and the connection closes; nothing is written.
    @Test func malformedChunkingIs400() throws {
        try withServer { server in
            for chunk in ["ZZ\r\nabc\r\n0\r\n\r\n", "4\r\nCXYE\r\n-1\r\n\r\n", "4;x=\"\r\nCXYE\r\n0\r\n\r\n"] {
                let answer = try exchange(
                    server,
                    "POST /sms/kannel?from=18612345678 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n\(chunk)")
                #expect(answer.text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(chunk): \(answer.text)")
                #expect(answer.closed)
            }
            let records = try curlGet("\(server.base)/v1/records", ["-H", "Authorization: Bearer t"])
            #expect(records.isEmpty, "\(records)")
        }
    }
}
