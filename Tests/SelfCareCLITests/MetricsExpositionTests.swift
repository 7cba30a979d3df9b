import Foundation
import SelfCareTesting
import Testing

/// Prometheus' own checker (`promtool`, Debian's `prometheus` package, installed by `.ci/run`).
enum Promtool {
    static let path = "/usr/bin/promtool"
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: path) }
    /// CI must run the check: a missing promtool fails it there instead of skipping it.
    static var required: Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }
}

@Suite("Metrics exposition", .serialized, .enabled(if: curl != nil, "needs curl"))
struct MetricsExpositionTests {
    /// Every family has HELP and TYPE, the counters a dashboard rates over are there at zero before their first
    /// event, and `promtool check metrics` accepts the scrape, before any traffic and after some.
    @Test func everyFamilyIsDescribedAndPromtoolAcceptsTheScrape() throws {
        guard Promtool.installed || Promtool.required else { return }
        #expect(Promtool.installed, "promtool is missing: apt-get install prometheus")
        try withServeFolder { dir in
            let server = try ServerProcess(["--demo"], in: dir)
            defer { server.stop() }
            let fresh = try curlGet("\(server.base)/metrics")
            for channel in ["sms", "ussd", "ivr", "api"] {
                for family in [
                    "selfcare_password_failures_total", "selfcare_password_locks_total",
                    "selfcare_third_party_locks_total",
                ] {
                    #expect(fresh.contains("\(family){channel=\"\(channel)\"} 0\n"), "\(family) \(channel): \(fresh)")
                }
            }
            #expect(fresh.contains("selfcare_http_connections_refused_total 0\n"), "\(fresh)")
            try check(fresh, in: dir)
            // Traffic of every kind: replies, a wrong password, a lock, sessions, a 404.
            for text in ["CXYE", "GS+000000", "GS+000000", "GS+000000", "GS+000000", "GS+000000", "CXJF"] {
                _ = try curlGet("\(server.base)/sms/kannel?from=18612345678&text=\(text)")
            }
            _ = try curlGet(
                "\(server.base)/ussd/at", ["-d", "sessionId=m1&serviceCode=*100%23&phoneNumber=18612345678&text="])
            _ = try curlGet("\(server.base)/nowhere")
            let busy = try curlGet("\(server.base)/metrics")
            #expect(busy.contains("selfcare_password_locks_total{channel=\"sms\"} 1\n"), "\(busy)")
            try check(busy, in: dir)
        }
    }

    /// Each family's HELP and TYPE lines, then promtool's verdict on the whole text.
    private func check(_ exposition: String, in dir: URL) throws {
        let lines = exposition.split(separator: "\n").map(String.init)
        let typed = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(!typed.isEmpty)
        #expect(typed == helped, "families without HELP: \(typed.subtracting(helped).sorted())")
        for family in typed {
            #expect(family.hasPrefix("selfcare_"), "\(family)")
        }
        guard Promtool.installed else { return }
        let result = try run(["check", "metrics"], in: dir, stdin: exposition, program: Promtool.path)
        #expect(result.status == 0, "promtool: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "promtool: \(result.stdout)\(result.stderr)")
        let samples = lines.filter { !$0.hasPrefix("#") && !$0.isEmpty }.count
        print("Prometheus: \(typed.count) families, \(samples) samples, accepted by `promtool check metrics`")
    }
}
