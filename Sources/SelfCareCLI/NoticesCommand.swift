import ArgumentParser
import Foundation
import SelfCareCore
import SelfCareHTTP

/// `selfcare notices`: the SMS notices queued for customers, and sending them through Kannel.
struct NoticesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notices", abstract: "List the SMS notices to customers, and send them through Kannel.",
        subcommands: [List.self, Send.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print notices as JSON Lines, oldest first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only notices in this state: pending, sending, sent, failed or unknown.")
        var state: String?

        func run() async throws {
            try await reportingFailures {
                var filter = NoticeFilter(limit: 1_000)
                if let state { filter.state = try stateOption(state, NoticeState.self) }
                let engine = try Runtime(global, access: .readonly).quietEngine()
                let output = BufferedOutput(lineEnd: "\n")
                while true {
                    let page = try await engine.notices(filter)
                    for notice in page { output.write(notice.jsonLine) }
                    guard let last = page.last, page.count == filter.limit else { break }
                    filter.afterID = last.id
                }
                output.flush()
            }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send every due notice once through Kannel's sendsms interface.",
            discussion: """
                Outside the quiet hours only. A notice is marked as being sent before the call, so it is never \
                sent twice: a call without a clear answer leaves it `unknown`. Exit status 0, or 2 when a call \
                was not accepted.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var notices: NoticeOptions

        func run() async throws {
            try await reportingFailures {
                let engine = try Runtime(global).quietEngine()
                guard let sender = try notices.sender(engine: engine, command: "notices send") else {
                    throw CommandFailure("notices send: give --sendsms URL", code: 64)
                }
                let pass = try await sender.drain()
                print("notices: \(pass.sent) sent, \(pass.refused) refused, \(pass.unknown) unknown")
                if pass.refused + pass.unknown > 0 {
                    throw CommandFailure("notices send: a call was not accepted; see selfcare notices list", code: 2)
                }
            }
        }
    }
}

/// How notices are sent: `notices send` and `serve`.
struct NoticeOptions: ParsableArguments {
    @Option(
        help: """
            Kannel's sendsms URL with its user, e.g. 'http://127.0.0.1:13013/cgi-bin/sendsms?username=U&password=P'.
            """)
    var sendsms: String?

    @Option(help: "The sender shown on the handset.")
    var smsFrom = "10010"

    @Option(help: "Local hours no notice is sent, FROM-UNTIL (22-8), or none (as is FROM equal to UNTIL).")
    var quietHours = "22-8"

    /// The sender as configured; nil without --sendsms.
    func sender(engine: OperationEngine, command: String) throws -> NoticeSender? {
        guard let sendsms else { return nil }
        guard let url = URL(string: sendsms), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            url.host != nil
        else {
            throw CommandFailure("\(command): --sendsms \(visible(sendsms)): expected an http or https URL", code: 64)
        }
        guard smsFrom.count <= 20, smsFrom.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw CommandFailure("\(command): --sms-from: up to 20 ASCII letters and digits", code: 64)
        }
        var sender = NoticeSender(engine: engine, sendsms: url)
        sender.from = smsFrom
        sender.policy.quietFrom = nil
        if quietHours != "none" {
            let parts = quietHours.split(separator: "-", omittingEmptySubsequences: false).map {
                $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && !$0.isEmpty ? Int($0) : nil
            }
            guard parts.count == 2, let from = parts[0], let until = parts[1], (0...23).contains(from),
                (0...23).contains(until)
            else {
                throw CommandFailure(
                    "\(command): --quiet-hours \(visible(quietHours)): expected FROM-UNTIL in hours 0-23, or none",
                    code: 64)
            }
            sender.policy.quietFrom = from
            sender.policy.quietUntil = until
        }
        return sender
    }
}
