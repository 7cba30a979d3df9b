import ArgumentParser
import Foundation
import SelfCareChannels
import SelfCareCore

struct USSDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ussd",
        abstract: "Dial a USSD code and answer its screens; prints each screen as an aggregator gets it.",
        discussion: """
            Each screen is printed as `CON …` (the session continues) or `END …` (the last one), screens
            separated by a blank line. With no INPUT and a terminal on standard input, answers are read
            interactively. Example: selfcare ussd --from 18612345678 '*100#' 1 1
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The caller's number.")
    var from: String

    @Argument(help: "The dialled code, such as *100# or a direct string *100*1*1#.")
    var code: String

    @Argument(help: "The answers to the screens, in order.")
    var inputs: [String] = []

    func run() async throws {
        try await reportingFailures {
            let runtime = try Runtime(global)
            let channel = try runtime.ussdChannel()
            let session = "ussd-\(UUID().uuidString.prefix(8))"
            var screen = await channel.handle(sessionID: session, caller: from, serviceCode: code, input: nil)
            print(screen)
            let interactive = inputs.isEmpty && isatty(STDIN_FILENO) == 1
            var pending = inputs[...]
            while !screen.ends {
                let answer: String
                if let next = pending.first {
                    answer = next
                    pending = pending.dropFirst()
                } else if interactive,
                    let line = Self.asksForPassword(screen)
                        ? SecretInput.readWithoutEcho() : readLine(strippingNewline: true)
                {
                    answer = line
                } else {
                    break
                }
                screen = await channel.handle(sessionID: session, caller: from, serviceCode: code, input: answer)
                print("")
                print(screen)
            }
        }
    }

    /// Whether a screen asks for a password, so the terminal must not echo the answer.
    static func asksForPassword(_ screen: USSDScreen) -> Bool {
        let text = screen.text.lowercased()
        return text.contains("密码") || text.contains("password")
    }
}
