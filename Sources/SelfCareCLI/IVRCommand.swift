import ArgumentParser
import Foundation
import SelfCareChannels
import SelfCareCore

struct IVRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ivr",
        abstract: "Place a call to the IVR and press keys; prints what the caller hears and the actions.",
        discussion: """
            --digits holds the key presses of each step separated by spaces; `#` ends an entry, `*` goes back,
            and an empty step (two spaces) is no input. Digits are never printed.
            Example: selfcare ivr --from 18612345678 --digits "2 1 258036# 1"
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The caller's number.")
    var from: String

    @Option(help: "Key presses, a step per space-separated group.")
    var digits: String?

    func run() async throws {
        try await reportingFailures {
            let runtime = try Runtime(global)
            let channel = try runtime.ivrChannel()
            let call = "call-\(UUID().uuidString.prefix(8))"
            var actions = await channel.start(callID: call, caller: from)
            print(actions.map(\.description).joined(separator: "\n"))
            let steps = (digits ?? "").split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            for (i, step) in steps.enumerated() where !(digits ?? "").isEmpty {
                guard let last = actions.last, last.kind != .hangup, last.kind != .transfer else { break }
                actions = await channel.input(callID: call, digits: step)
                print("")
                print(
                    "> step \(i + 1): \(step.isEmpty ? "no input" : "\(step.count) key\(step.count == 1 ? "" : "s")")")
                print(actions.map(\.description).joined(separator: "\n"))
            }
        }
    }
}
