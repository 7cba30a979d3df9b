import ArgumentParser
import Foundation
import SelfCareCore
import SelfCareStore

struct OpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "op",
        abstract: "Run one operation directly (channel api); prints the reply, then `reason: CODE`.",
        discussion: """
            The service password is read from standard input when the operation needs one (one line; for \
            password.change three lines, or one line, holding old, new and new again); for recharge.card the \
            card's PIN is read there instead. Arguments: month=YYYYMM (query.bill), plan=CODE and when=now|next \
            (plan.change), when=now|next (suspend.keep), card=SERIAL (recharge.card; --subject recharges another \
            number), pack=CODE and when=now|next (data.pack.order), pack=CODE (data.pack.cancel), service=CODE \
            (service.subscribe, service.unsubscribe), kind=unconditional|busy|no_answer|unreachable and \
            target=NUMBER (forwarding.set; kind alone or nothing for forwarding.cancel), reward=CODE \
            (points.redeem), category=network|billing|service|other and text=… (complaint.file), offender=NUMBER \
            and text=… (spam.report).

            Exit status: 0 when the operation succeeded, 3 when it was refused, 1 on a fault, 64 on a mistake in \
            the command (an unknown operation, a --from or --subject that is no phone number), which writes no \
            record.

            Operations (* needs the service password):
            \(OpCommand.operationList)

            Example: echo 258036 | selfcare op loss.report --from 13900000000 --subject 18612345678
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The operation, such as query.balance or plan.change.")
    var operation: String

    @Option(help: "The caller's number (5 to 15 digits, optionally with +86).")
    var from: String

    @Option(
        help:
            "The number the operation concerns, when not the caller's (operations with a password, and recharge.card).")
    var subject: String?

    @Option(name: .customLong("arg"), help: "An argument KEY=VALUE; repeatable.")
    var arguments: [String] = []

    @Option(help: "A session id to write into the record.")
    var session: String?

    func run() async throws {
        try await reportingFailures {
            var values: [String: String] = [:]
            for argument in arguments {
                guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else {
                    throw CommandFailure("--arg \(argument): expected KEY=VALUE")
                }
                let key = String(argument[..<eq]).lowercased()
                if OperationRequest.secretArgumentNames.contains(key) {
                    throw CommandFailure("--arg \(key)=…: passwords are read from standard input, never from arguments")
                }
                guard OperationRequest.argumentNames.contains(key) else {
                    let names = OperationRequest.argumentNames.sorted()
                    let hint = suggestion(for: key, among: names).map { "did you mean `\($0)`?" }
                    throw CommandFailure(
                        "--arg \(key): no operation takes it; "
                            + (hint ?? "arguments: " + names.joined(separator: ", ")),
                        code: 64)
                }
                values[key] = String(argument[argument.index(after: eq)...])
            }
            let name = OperationName(operation)
            guard OperationName.all.contains(name) else {
                let names = OperationName.all.map(\.rawValue)
                let hint = suggestion(for: operation, among: names).map { "did you mean `\($0)`?" }
                throw CommandFailure(
                    "op: unknown operation `\(operation)`; " + (hint ?? "see `selfcare op --help` for the operations"),
                    code: 64)
            }
            for (option, value) in [("--from", from), ("--subject", subject)] {
                guard let value, normalizeNumber(value) == nil else { continue }
                throw CommandFailure(
                    "op: \(option) `\(value)` is not a phone number (5 to 15 digits, optionally with +86)", code: 64)
            }
            let runtime = try Runtime(global)
            let engine = try runtime.engine(
                needsPasswords: runtime.configuration.policy.needsPassword(name) || name == .rechargeCard)
            var request = OperationRequest(
                operation: name, channel: .api, session: session, caller: from, subject: subject, arguments: values,
                receivedAt: runtime.clock.now())
            if engine.configuration.policy.needsPassword(name) {
                var secrets = SecretInput.read(
                    prompts: name == .passwordChange
                        ? ["Current service password: ", "New password: ", "New password again: "]
                        : ["Service password: "])
                if name == .passwordChange, secrets.count == 1 {
                    // One line "OLD NEW NEW", as an SMS would carry it.
                    let parts = secrets[0].withText {
                        $0.split(whereSeparator: \.isWhitespace).map { Secret(String($0)) }
                    }
                    if parts.count > 1 { secrets = parts }
                }
                request.password = secrets.first
                if name == .passwordChange {
                    request.newPassword = secrets.count > 1 ? secrets[1] : nil
                    request.newPasswordAgain = secrets.count > 2 ? secrets[2] : nil
                }
            }
            if name == .rechargeCard {
                request.cardPIN = SecretInput.read(prompts: ["Card PIN: "]).first
            }
            let outcome = await engine.perform(request)
            print(outcome.reply)
            print("reason: \(outcome.reason)")
            switch outcome.result {
            case .ok: return
            case .refused: throw CommandFailure("\(operation): refused (\(outcome.reason))", code: 3)
            case .error: throw CommandFailure("\(operation): failed (\(outcome.reason)); see the log", code: 1)
            }
        }
    }
}

extension OpCommand {
    /// The operations for `--help`, two to a line, those that need the service password marked.
    static var operationList: String {
        let policy = EngineConfiguration().policy
        let cells = OperationName.all.map { name in
            (policy.needsPassword(name) ? "* " : "  ")
                + name.rawValue.padding(toLength: 21, withPad: " ", startingAt: 0)
        }
        return stride(from: 0, to: cells.count, by: 3).map { cells[$0..<min($0 + 3, cells.count)].joined() }
            .map { String($0.reversed().drop { $0 == " " }.reversed()) }.joined(separator: "\n")
    }
}

/// Reads secrets from standard input: with echo off on a terminal, a line each otherwise.
enum SecretInput {
    /// Reads one secret a prompt; `trimming` drops spaces around each (service passwords are digits; a console
    /// password is kept exactly as typed).
    static func read(prompts: [String], trimming: Bool = true) -> [Secret] {
        let terminal = isatty(STDIN_FILENO) == 1
        var secrets: [Secret] = []
        for prompt in prompts {
            if terminal { FileHandle.standardError.write(Data(prompt.utf8)) }
            guard let line = terminal ? readWithoutEcho() : readLine(strippingNewline: true) else { break }
            secrets.append(Secret(trimming ? line.trimmingCharacters(in: .whitespaces) : line))
        }
        return secrets
    }

    static func readWithoutEcho() -> String? {
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true)
    }
}
