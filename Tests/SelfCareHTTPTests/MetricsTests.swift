import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SelfCareHTTP
import Testing

/// The value of the first sample of `name` whose labels include every pair of `labels`, 0 when absent.
func sample(_ exposition: String, _ name: String, _ labels: [String: String] = [:]) -> Double {
    var total = 0.0
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        let matches = labels.allSatisfy { line.contains("\($0.key)=\"\($0.value)\"") }
        if matches, let value = line.split(separator: " ").last.flatMap({ Double($0) }) { total += value }
    }
    return total
}

@Suite("Prometheus metrics")
struct MetricsTests {
    func scrape(_ client: some TestClientProtocol) async throws -> String {
        try await client.execute(uri: "/metrics", method: .get) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            return String(buffer: response.body)
        }
    }

    @Test func operationsLatencyPasswordFailuresLocksAndSessionsAreExposed() async throws {
        let (app, _) = try await gateway(metrics: true)
        try await app.test(.router) { client in
            let before = try await scrape(client)
            let balance = ["channel": "sms", "operation": "query.balance", "result": "ok"]
            try await client.execute(uri: "/sms/kannel?from=18612345678&text=CXYE&id=m-1", method: .get) { _ in }
            try await client.execute(uri: "/sms/kannel?from=18612345678&text=CXYE&id=m-2", method: .get) { _ in }
            // Five wrong passwords lock the password (threshold 5): five failures, one lock.
            for i in 0..<5 {
                try await client.execute(
                    uri: "/sms/kannel?from=18611110001&text=CXZD+111111&id=w-\(i)", method: .get
                ) { _ in }
            }
            try await client.execute(
                uri: "/ussd/at", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "sessionId=metrics-1&serviceCode=*100%23&phoneNumber=18612345678&text=")
            ) { _ in }
            let after = try await scrape(client)
            #expect(
                sample(after, "selfcare_operations_total", balance)
                    - sample(before, "selfcare_operations_total", balance) == 2)
            let failed = ["channel": "sms", "operation": "query.bill", "reason": "bad_password"]
            #expect(
                sample(after, "selfcare_operations_total", failed) - sample(before, "selfcare_operations_total", failed)
                    == 5)
            #expect(
                sample(after, "selfcare_password_failures_total", ["channel": "sms"])
                    - sample(before, "selfcare_password_failures_total", ["channel": "sms"]) == 5)
            #expect(
                sample(after, "selfcare_password_locks_total", ["channel": "sms"])
                    - sample(before, "selfcare_password_locks_total", ["channel": "sms"]) == 1)
            // Latency histograms: the engine's per operation, and the HTTP server's per route.
            let latency = ["channel": "sms", "operation": "query.balance"]
            #expect(
                sample(after, "selfcare_operation_duration_seconds_count", latency)
                    - sample(before, "selfcare_operation_duration_seconds_count", latency) == 2)
            #expect(after.contains("selfcare_operation_duration_seconds_bucket{"))
            #expect(after.contains("# TYPE selfcare_operation_duration_seconds histogram"))
            #expect(
                sample(after, "selfcare_http_requests_total", ["route": "/sms/kannel", "status": "200"])
                    - sample(before, "selfcare_http_requests_total", ["route": "/sms/kannel", "status": "200"]) == 7)
            #expect(sample(after, "selfcare_http_request_duration_seconds_count", ["route": "/ussd/at"]) == 1)
            #expect(sample(after, "selfcare_live_sessions", ["channel": "ussd"]) == 1)
            #expect(after.contains("selfcare_live_sessions{channel=\"ivr\"}"))
            // No number and no password digits in the exposition.
            #expect(!after.contains("18612345678") && !after.contains("111111"))
        }
    }

    @Test func thirdPartyFailuresAndCallerLocksAreExposed() async throws {
        let (app, _) = try await gateway(metrics: true)
        try await app.test(.router) { client in
            let before = try await scrape(client)
            // One phone fails five times on other numbers (threshold 5): five failures, one caller lock.
            for (i, subject) in ["18612345678", "18611110001", "13700000000", "18612345678", "18611110001"].enumerated()
            {
                try await client.execute(
                    uri: "/sms/kannel?from=13900000000&text=GS+\(subject)+11111\(i)&id=t-\(i)", method: .get
                ) { _ in }
            }
            let after = try await scrape(client)
            let refused = ["channel": "sms", "operation": "loss.report", "reason": "third_party_refused"]
            #expect(
                sample(after, "selfcare_operations_total", refused)
                    - sample(before, "selfcare_operations_total", refused) == 5)
            #expect(
                sample(after, "selfcare_third_party_locks_total", ["channel": "sms"])
                    - sample(before, "selfcare_third_party_locks_total", ["channel": "sms"]) == 1)
            #expect(
                sample(after, "selfcare_password_locks_total", ["channel": "sms"])
                    - sample(before, "selfcare_password_locks_total", ["channel": "sms"]) == 0, "no owner is locked")
        }
    }

    @Test func metricsAreOffUnlessConfigured() async throws {
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
