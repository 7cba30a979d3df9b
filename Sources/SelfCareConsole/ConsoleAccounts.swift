import Foundation
import SelfCareCore
import SelfCareCrypto

/// What a console account may do.
public enum ConsoleRole: String, Sendable, CaseIterable, Comparable {
    /// Runs the phone simulator, opens one subscriber at a time (with a reason) and acts for them, tries grammars.
    case operator_ = "operator"
    /// Reads and exports the service records, and checks their chain.
    case auditor
    /// Everything, and reloads grammars and prompts.
    case admin

    public static func < (a: ConsoleRole, b: ConsoleRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One console account: a name, a role and the PBKDF2 hash of its password.
public struct ConsoleAccount: Sendable, Equatable {
    public var name: String
    public var role: ConsoleRole
    /// `$pbkdf2-sha256$v=1$i=…,l=…$SALT$HASH`, as the service passwords are stored.
    public var passwordHash: String

    public init(name: String, role: ConsoleRole, passwordHash: String) {
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
    }

    /// Whether `name` can name an account: 1 to 32 of `a-z 0-9 . _ -`, starting with a letter or digit.
    public static func isName(_ name: String) -> Bool {
        guard (1...32).contains(name.utf8.count), let first = name.unicodeScalars.first,
            ("a"..."z").contains(first) || ("0"..."9").contains(first)
        else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
        }
    }
}

/// A problem in the accounts file, with its line.
public struct ConsoleAccountsError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var line: Int
    public var message: String
    public var description: String { "\(path):\(line): \(message)" }
}

/// The console's accounts file: one `NAME ROLE HASH` a line, `#` starts a comment.
///
/// The hashes are PBKDF2-HMAC-SHA256 through libcrypto, as the service passwords, but under a fixed key of their
/// own rather than the database's pepper: the file stands alone, and `selfcare console add` writes it.
public struct ConsoleAccounts: Sendable {
    /// The accounts, by name.
    public private(set) var accounts: [String: ConsoleAccount]

    public init(_ accounts: [ConsoleAccount]) {
        self.accounts = Dictionary(accounts.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The hasher of console passwords: libcrypto's PBKDF2 with a key of the console's own.
    public static func hasher(iterations: Int = PBKDF2PasswordHasher.defaultIterations) -> PBKDF2PasswordHasher {
        PBKDF2PasswordHasher(pepper: Pepper(bytes: Array("selfcare console accounts v1".utf8)), iterations: iterations)
    }

    /// Reads the accounts file at `path`.
    /// - Throws: `ConsoleAccountsError` for a malformed line, an unknown role, a bad hash or a repeated name.
    public static func load(path: String) throws -> ConsoleAccounts {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConsoleAccountsError(
                path: path, line: 0, message: "cannot read the accounts file (\(error.localizedDescription))")
        }
        return try parse(text, path: path)
    }

    /// The accounts of a file's `text`.
    public static func parse(_ text: String, path: String) throws -> ConsoleAccounts {
        var accounts: [ConsoleAccount] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if fields.isEmpty { continue }
            func fail(_ message: String) -> ConsoleAccountsError {
                ConsoleAccountsError(path: path, line: index + 1, message: message)
            }
            guard fields.count == 3 else { throw fail("expected NAME ROLE HASH, found \(fields.count) fields") }
            guard ConsoleAccount.isName(fields[0]) else {
                throw fail("`\(fields[0])` is not an account name (1 to 32 of a-z, 0-9, . _ -)")
            }
            guard let role = ConsoleRole(rawValue: fields[1]) else {
                throw fail("`\(fields[1])` is not a role: operator, auditor or admin")
            }
            guard fields[2].hasPrefix("$pbkdf2-sha256$") else {
                throw fail("the password of `\(fields[0])` is not a PBKDF2 hash; write it with `selfcare console add`")
            }
            if accounts.contains(where: { $0.name == fields[0] }) { throw fail("`\(fields[0])` is listed twice") }
            accounts.append(ConsoleAccount(name: fields[0], role: role, passwordHash: fields[2]))
        }
        return ConsoleAccounts(accounts)
    }

    /// The file's text: a header and one line an account, by name.
    public var text: String {
        "# SelfCare console accounts: NAME ROLE HASH (roles: operator, auditor, admin). Keep this file private.\n"
            + accounts.values.sorted { $0.name < $1.name }.map { "\($0.name) \($0.role.rawValue) \($0.passwordHash)\n" }
            .joined()
    }

    /// Adds `account`, or replaces the account of that name.
    public mutating func set(_ account: ConsoleAccount) { accounts[account.name] = account }

    /// Removes the account `name`; false when there is none.
    @discardableResult
    public mutating func remove(_ name: String) -> Bool { accounts.removeValue(forKey: name) != nil }

    /// Writes the file at `path` with owner-only permissions, replacing it atomically.
    public func write(to path: String) throws {
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw ConsoleAccountsError(path: path, line: 0, message: "cannot write the accounts file") }
        if rename(temporary, path) != 0 {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ConsoleAccountsError(
                path: path, line: 0, message: "cannot replace the accounts file (errno \(errno))")
        }
    }

    /// The demo accounts of `serve --demo`: one a role, each with a fresh random password, returned beside it. At
    /// the full cost, as an unknown name's check is: a wrong password and an unknown name take as long.
    public static func demo(
        iterations: Int = PBKDF2PasswordHasher.defaultIterations
    ) throws -> (ConsoleAccounts, [(ConsoleAccount, String)]) {
        let hasher = hasher(iterations: iterations)
        var made: [(ConsoleAccount, String)] = []
        for role in ConsoleRole.allCases {
            let password = try randomPassword()
            let account = ConsoleAccount(
                name: "demo-\(role.rawValue)", role: role, passwordHash: try hasher.hash(Secret(password)))
            made.append((account, password))
        }
        return (ConsoleAccounts(made.map(\.0)), made)
    }

    /// Twelve characters from an alphabet without look-alikes, from libcrypto's random bytes.
    public static func randomPassword() throws -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        return String(try LibCrypto.randomBytes(12).map { alphabet[Int($0) % alphabet.count] })
    }
}
