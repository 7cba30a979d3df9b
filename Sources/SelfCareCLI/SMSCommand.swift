import ArgumentParser
import Foundation
import SelfCareChannels
import SelfCareCore

struct SMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sms",
        abstract: "Send one SMS to the gateway and print the reply, or pipe many with --interactive.",
        discussion: """
            With --interactive, each line of standard input is `FROM TO TEXT` (like Kannel's fakesmsc) and each
            reply is printed as `FROM <- REPLY`. Example: selfcare sms --from 18612345678 CXYE
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The sender's number.")
    var from: String?

    @Option(help: "The short code.")
    var to = "10010"

    @Option(help: "The gateway's message id (a repeat is answered once and applied once).")
    var id: String?

    @Flag(help: "Print each part as `[i/n] text`.")
    var segments = false

    @Flag(help: "Read `FROM TO TEXT` lines from standard input.")
    var interactive = false

    @Argument(help: "The message text; its words are joined with spaces.")
    var text: [String] = []

    func validate() throws {
        if interactive {
            if !text.isEmpty { throw ValidationError("--interactive reads messages from standard input; give no TEXT") }
        } else {
            if from == nil { throw ValidationError("--from NUMBER is required") }
            if text.isEmpty { throw ValidationError("give the message TEXT") }
        }
    }

    func run() async throws {
        try await reportingFailures {
            let runtime = try Runtime(global)
            let channel = try runtime.smsChannel()
            if interactive {
                while let line = readLine(strippingNewline: true) {
                    let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
                    if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
                    guard fields.count >= 2 else {
                        printError("selfcare: skipped `\(line)`: expected FROM TO TEXT")
                        continue
                    }
                    let reply = await channel.handle(
                        InboundSMS(
                            from: String(fields[0]), to: String(fields[1]),
                            text: fields.count > 2 ? String(fields[2]) : ""))
                    // One line a reply (or a part), as fakesmsc logs them: line breaks inside are written `\n`.
                    print(render(reply, prefix: "\(fields[0]) <- ", escapingLineBreaks: true))
                }
                return
            }
            let reply = await channel.handle(InboundSMS(from: from!, to: to, text: text.joined(separator: " "), id: id))
            print(render(reply, prefix: ""))
            if reply.outcome.result == .error {
                throw CommandFailure("sms: the gateway failed (internal_error); see the log")
            }
        }
    }

    private func render(_ reply: SMSReply, prefix: String, escapingLineBreaks: Bool = false) -> String {
        func line(_ text: String) -> String {
            escapingLineBreaks ? text.replacingOccurrences(of: "\n", with: "\\n") : text
        }
        guard segments else { return prefix + line(reply.text) }
        let n = reply.segments.count
        return reply.segments.enumerated().map { "\(prefix)[\($0.offset + 1)/\(n)] \(line($0.element))" }
            .joined(separator: "\n")
    }
}
