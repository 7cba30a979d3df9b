import ArgumentParser
import Foundation
import SelfCareConsole
import SelfCareCore

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Manage the web console's accounts file (operators, auditors, admins).",
        discussion: """
            The accounts file holds one `NAME ROLE HASH` a line; `serve --console-accounts FILE` (or \
            SELFCARE_CONSOLE_ACCOUNTS) turns the console on at /console with it. Passwords are hashed with \
            PBKDF2-HMAC-SHA256 (libcrypto) and never stored in clear. Restart the server after a change. \
            Guide: docs/console.md.
            """,
        subcommands: [Add.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account, or set its role and password; the password is read from standard input.")

        @Option(help: "The accounts file (created when missing, owner-only).")
        var accounts: String

        @Option(help: "operator, auditor or admin.")
        var role: String

        @Argument(help: "The account's name: 1 to 32 of a-z, 0-9, . _ -")
        var name: String

        func run() async throws {
            try await reportingFailures {
                guard ConsoleAccount.isName(name) else {
                    throw CommandFailure("console add: `\(name)` is not an account name (1 to 32 of a-z, 0-9, . _ -)")
                }
                guard let role = ConsoleRole(rawValue: role) else {
                    throw CommandFailure("console add: --role is operator, auditor or admin")
                }
                var file = ConsoleAccounts([])
                if FileManager.default.fileExists(atPath: accounts) {
                    file = try loadAccounts(accounts)
                }
                let terminal = isatty(STDIN_FILENO) == 1
                let secrets = SecretInput.read(
                    prompts: terminal ? ["Password: ", "Password again: "] : ["Password: "], trimming: false)
                guard let password = secrets.first else {
                    throw CommandFailure("console add: no password on standard input")
                }
                if secrets.count > 1, !password.matches(secrets[1]) {
                    throw CommandFailure("console add: the two passwords differ")
                }
                guard password.withText({ $0.count >= 10 && $0.count <= 200 }) else {
                    throw CommandFailure("console add: a console password is 10 to 200 characters")
                }
                let hash = try ConsoleAccounts.hasher().hash(password)
                let existed = file.accounts[name] != nil
                file.set(ConsoleAccount(name: name, role: role, passwordHash: hash))
                try file.write(to: accounts)
                print("\(existed ? "changed" : "added") \(name) (\(role.rawValue)) in \(accounts)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an account.")

        @Option(help: "The accounts file.")
        var accounts: String

        @Argument(help: "The account's name.")
        var name: String

        func run() async throws {
            try await reportingFailures {
                var file = try loadAccounts(accounts)
                guard file.remove(name) else {
                    throw CommandFailure("console remove: no account `\(name)` in \(accounts)")
                }
                try file.write(to: accounts)
                print("removed \(name) from \(accounts)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts and their roles.")

        @Option(help: "The accounts file.")
        var accounts: String

        func run() async throws {
            try await reportingFailures {
                for account in try loadAccounts(accounts).accounts.values.sorted(by: { $0.name < $1.name }) {
                    print("\(account.name)\t\(account.role.rawValue)")
                }
            }
        }
    }
}

/// The accounts file at `path`, or the failure that says what is wrong with it.
func loadAccounts(_ path: String) throws -> ConsoleAccounts {
    do {
        return try ConsoleAccounts.load(path: path)
    } catch let error as ConsoleAccountsError {
        throw CommandFailure("\(error)")
    }
}
