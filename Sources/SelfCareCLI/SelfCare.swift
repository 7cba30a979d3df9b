import ArgumentParser
import Foundation
import Logging
import SelfCareCore

@main
struct SelfCare: AsyncParsableCommand {
    /// The version `selfcare --version` prints.
    static let version = "0.1.0-dev"

    static let configuration = CommandConfiguration(
        commandName: "selfcare",
        abstract: "SelfCare: a self-service channel gateway for a mobile carrier.",
        discussion: """
            Every command takes --database, --grammars, --prompts and --pepper-file. Only `init` and \
            `serve --demo` create a database. Guides: README.md and docs/ in the source tree.

            Environment:
            \(Environment.documented.map { "  \($0.name.padding(toLength: 28, withPad: " ", startingAt: 0))\($0.meaning)" }.joined(separator: "\n"))
            """,
        version: "selfcare \(version)",
        subcommands: [
            InitCommand.self, ImportCommand.self, OpCommand.self, SMSCommand.self, USSDCommand.self, IVRCommand.self,
            TestCommand.self, CheckCommand.self, RecordsCommand.self, OrdersCommand.self, PasswordCommand.self,
            TickCommand.self, SyncCommand.self, NoticesCommand.self, SurveyCommand.self,
            ServeCommand.self, ConsoleCommand.self, BenchCommand.self,
        ]
    )

    /// Checks the environment and the command's name before ArgumentParser sees the arguments, then runs it.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // Help and the version never depend on the environment.
        let asksForHelp =
            arguments.first == "help" || arguments.contains { ["--help", "-h", "--version"].contains($0) }
        do {
            try LoggingSetup.bootstrap(checking: !asksForHelp)
        } catch {
            printError("selfcare: \(error)")
            Foundation.exit(1)
        }
        if let mistake = unknownSubcommand(in: arguments) {
            printError("selfcare: \(mistake)")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// What to say about a word where a subcommand belongs that names none: the likely one, or the list.
    /// ArgumentParser only says "unexpected argument".
    static func unknownSubcommand(in arguments: [String]) -> String? {
        var command: any ParsableCommand.Type = SelfCare.self
        var path = ["selfcare"]
        // `selfcare help records lsit` checks the words after `help`.
        let words = arguments.first == "help" ? Array(arguments.dropFirst()) : arguments
        if let first = words.first, first.hasPrefix("-"), !["--help", "-h", "--version"].contains(first) {
            // Options belong to a command: `selfcare --database x records list` reads as an unknown option.
            let option = first.split(separator: "=").first.map(String.init) ?? first
            if let command = words.first(where: subcommandNames(of: SelfCare.self).contains) {
                return "options go after the command: `selfcare \(command) … \(option) …`"
            }
            return nil
        }
        for argument in words {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty, !argument.hasPrefix("-") else { return nil }
            let names = subcommandNames(of: command)
            guard let index = names.firstIndex(of: argument) else {
                let prefix = path.joined(separator: " ")
                if argument == "version" && path.count == 1 {
                    return "unknown command `selfcare version`; did you mean `selfcare --version`?"
                }
                if let near = suggestion(for: argument, among: names) {
                    return "unknown command `\(prefix) \(argument)`; did you mean `\(prefix) \(near)`?"
                }
                return "unknown command `\(prefix) \(argument)`; the commands are "
                    + names.map { "`\($0)`" }.joined(separator: ", ") + " (see `\(prefix) --help`)"
            }
            command = subcommands[index]
            path.append(argument)
        }
        return nil
    }

    static func subcommandNames(of command: any ParsableCommand.Type) -> [String] {
        command.configuration.subcommands.map { $0._commandName }
    }
}

/// Bootstraps logging once: warnings and worse to standard error, unless SELFCARE_LOG_LEVEL says otherwise.
enum LoggingSetup {
    /// - Parameter checking: whether a SELFCARE_LOG_LEVEL that names no level is refused (else: ignored).
    /// - Throws: `CommandFailure` when SELFCARE_LOG_LEVEL names no level.
    static func bootstrap(checking: Bool) throws {
        var level = Logger.Level.warning
        if let text = Environment.values["SELFCARE_LOG_LEVEL"], !text.isEmpty {
            guard let named = Logger.Level(rawValue: text.lowercased()) else {
                guard checking else { return }
                throw CommandFailure(
                    "SELFCARE_LOG_LEVEL: expected "
                        + Logger.Level.allCases.map(\.rawValue).joined(separator: ", ") + ", found `\(text)`")
            }
            level = named
        }
        let chosen = level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = chosen
            return handler
        }
    }
}
