import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SelfCareCore

/// Where a PostgreSQL store is: parsed from `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// The server's host name or address.
    public var host: String
    /// The server's port (5432 unless the URL says).
    public var port: Int
    /// The role to log in as.
    public var user: String
    /// The role's password, if the server asks for one.
    public var password: String?
    /// The database's name.
    public var database: String

    /// The location `url` names; nil when it is not a `postgres://` or `postgresql://` URL with a user, a host and
    /// a database.
    public init?(url: String) {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
            let host = parts.host, !host.isEmpty, let user = parts.user, !user.isEmpty
        else { return nil }
        let database = String(parts.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { return nil }
        self.host = host
        port = parts.port ?? 5432
        self.user = user
        password = parts.password
        self.database = database
    }

    /// Whether `text` names a PostgreSQL database rather than a file.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The URL without its password.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }
}

/// A store error from PostgreSQL, with the server's message (never a bound value).
public struct PostgresStoreError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// The SQLSTATE, when the server sent one.
    public let code: String?

    /// An error saying `description`, with the server's SQLSTATE `code` if any.
    public init(_ description: String, code: String? = nil) {
        self.description = description
        self.code = code
    }

    /// A client error with the server's message and code where there are some.
    init(_ error: any Error, doing what: String) {
        if let psql = error as? PSQLError, let server = psql.serverInfo {
            self.init(
                "\(what): \(server[.message] ?? "PostgreSQL error") (\(server[.sqlState] ?? "?"))",
                code: server[.sqlState])
        } else {
            self.init("\(what): \(String(reflecting: error))")
        }
    }
}

/// One connection used from one blocking thread at a time: every call waits for the server's answer. The store's
/// contract is synchronous inside a transaction (the engine reads, decides and writes in one closure), so the
/// store runs each transaction on a thread of its own and waits there, never on an event loop.
final class PostgresSession: @unchecked Sendable {
    let connection: PostgresConnection
    let logger: Logger

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Opens a connection to `location`, waiting for it.
    static func open(_ location: PostgresLocation, id: Int, logger: Logger) throws -> PostgresSession {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        do {
            let connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger
            ).wait()
            // A prepared statement's plan is made once and kept (the server would otherwise plan the first runs
            // again and again, and keep doing so where it guesses a fresh plan could be cheaper): every statement
            // the store prepares finds its rows by an index on its equality columns.
            _ = try connection.query("SET plan_cache_mode = force_generic_plan", logger: logger).wait()
            return PostgresSession(connection: connection, logger: logger)
        } catch {
            throw PostgresStoreError(error, doing: "cannot connect to \(location)")
        }
    }

    /// Runs `sql` with `binds` and returns its rows and the number of rows it changed.
    @discardableResult
    func query(_ sql: String, _ binds: Binds = Binds()) throws -> PostgresQueryResult {
        do {
            return try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds.bindings), logger: logger).wait()
        } catch {
            // A statement sent before and failed aborted the transaction: its error is the one to tell.
            try settle()
            throw PostgresStoreError(error, doing: "PostgreSQL")
        }
    }

    /// What the current write transaction knows of the record chains, once read: under the lock that makes the
    /// transaction a chain's only writer nobody else moves its head, so a batch reads each head once and each append
    /// moves it here; and the record ids it took from the sequence and has not used. Reset when a transaction
    /// begins and restored when a savepoint is rolled back (`PostgresCommitter`).
    struct RecordCache {
        /// Each chain's head read so far; an inner nil: the chain has no record yet.
        var heads: [Int: (id: Int64, hash: String)?] = [:]
        /// Ids taken for this transaction, not used yet, lowest first.
        var ids: ArraySlice<Int64> = []
        /// How many records the transaction is expected to append (its batch's writes), and has appended.
        var expected = 1
        var used = 0
        /// The chains whose head moved and is not written yet (`PostgresAccess.writeHeads`).
        var moved: Set<Int> = []
        /// The head and new ids of the transaction's chain, asked for when it began (`PostgresAccess.prefetch`).
        var prefetched: (chain: Int, rows: EventLoopFuture<[PostgresRow]>)?
    }
    var records = RecordCache()

    /// Statements sent without waiting for their answers, oldest first.
    private var sent: [EventLoopFuture<Void>] = []

    /// Sends `sql` without waiting for its answer: the connection runs statements in the order they were sent,
    /// so a later `query` answers after it, and `settle` reports its failure. For statements whose result the
    /// caller does not need (a record's insert), so that a write does not wait for each of them in turn.
    func send(_ sql: String, _ binds: Binds = Binds()) {
        sent.append(
            connection.query(PostgresQuery(unsafeSQL: sql, binds: binds.bindings), logger: logger).map { _ in })
    }

    /// Runs `sql` as a statement prepared on this connection (`prepared(_:)`) and returns its rows: for the
    /// statements a request runs again and again, which the server then parses and plans once a connection
    /// instead of at every run (most of its work for a request's short statements).
    @discardableResult
    func execute(_ sql: String, _ binds: Binds = Binds()) throws -> [PostgresRow] {
        try answer(try prepared(sql).execute(binds.data))
    }

    /// Waits for the rows of a statement sent before (`sendPrepared`); a failure is told as `execute` tells it.
    func answer(_ rows: EventLoopFuture<[PostgresRow]>) throws -> [PostgresRow] {
        do {
            return try rows.wait()
        } catch {
            // A statement sent before and failed aborted the transaction: its error is the one to tell.
            try settle()
            throw PostgresStoreError(error, doing: "PostgreSQL")
        }
    }

    /// `execute` without waiting for the answer, as `send` does; returns the answer to come, for a caller that
    /// reads it later (`settle` reports its failure too).
    @discardableResult
    func sendPrepared(_ sql: String, _ binds: Binds = Binds()) throws -> EventLoopFuture<[PostgresRow]> {
        let answer = try prepared(sql).execute(binds.data)
        sent.append(answer.map { _ in })
        return answer
    }

    /// Sends `sql` without waiting, and returns its answer to come; `settle` does not wait for it.
    func sendForAnswer(_ sql: String) -> EventLoopFuture<PostgresQueryResult> {
        connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// The statements prepared on this connection, by their text.
    private var statements: [String: PreparedQuery] = [:]

    /// `sql` prepared on this connection, preparing it the first time (it outlives a rolled-back transaction). The
    /// server infers each parameter's type from where it is used: the statements bind `Int` only where a `BIGINT`
    /// is expected, as the schema's integer columns are.
    private func prepared(_ sql: String) throws -> PreparedQuery {
        if let known = statements[sql] { return known }
        do {
            let statement = try connection.prepare(query: sql).wait()
            statements[sql] = statement
            return statement
        } catch {
            try settle()
            throw PostgresStoreError(error, doing: "PostgreSQL")
        }
    }

    /// Waits for every statement `send` sent; throws the first one's failure.
    func settle() throws {
        let waiting = sent
        sent = []
        var failure: (any Error)?
        for future in waiting {
            do { _ = try future.wait() } catch { failure = failure ?? error }
        }
        if let failure { throw PostgresStoreError(failure, doing: "PostgreSQL") }
    }

    /// Runs `sql` and calls `body` with each row as it arrives (an export of millions of records).
    func forEach(
        _ sql: String, _ binds: Binds = Binds(), _ body: @escaping @Sendable (PostgresRow) throws -> Void
    )
        throws
    {
        do {
            _ = try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds.bindings), logger: logger, body)
                .wait()
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            throw PostgresStoreError(error, doing: "PostgreSQL")
        }
    }

    /// Closes the connection.
    func close() {
        try? connection.close().wait()
    }
}

/// The values bound to a statement's `$1`, `$2`…, in order.
struct Binds {
    var bindings = PostgresBindings()
    /// The same values for a prepared statement (`PostgresSession.execute`).
    var data: [PostgresData] = []

    init() {}

    /// Binds the values in order: `String`, `Int`, `Int64`, `Bool`, `Double` or nil.
    init(_ values: (any Sendable)?...) {
        for value in values { add(value) }
    }

    mutating func add(_ value: (any Sendable)?) {
        switch value {
        case nil:
            bindings.appendNull()
            data.append(.null)
        case let text as String:
            bindings.append(text)
            data.append(PostgresData(string: text))
        case let number as Int:
            bindings.append(number)
            data.append(PostgresData(int64: Int64(number)))
        case let number as Int64:
            bindings.append(number)
            data.append(PostgresData(int64: number))
        case let flag as Bool:
            bindings.append(flag)
            data.append(PostgresData(bool: flag))
        case let number as Double:
            bindings.append(number)
            data.append(PostgresData(double: number))
        default: preconditionFailure("no PostgreSQL binding for \(type(of: value!))")
        }
    }
}

/// Reads a row's cells by position.
struct Cells {
    let row: PostgresRandomAccessRow
    /// Whether the row came from a prepared statement (`PostgresSession.execute`): postgres-nio (1.x) asks the
    /// server for every result in binary, but describes a prepared statement's columns as text, so each cell is
    /// read as the binary it is.
    let prepared: Bool

    init(_ row: PostgresRow, prepared: Bool = false) {
        self.row = row.makeRandomAccess()
        self.prepared = prepared
    }

    func string(_ i: Int) throws -> String { try decode(i, String.self) }
    func optionalString(_ i: Int) throws -> String? { try decode(i, String?.self) }
    func int(_ i: Int) throws -> Int { try decode(i, Int.self) }
    func int64(_ i: Int) throws -> Int64 { try decode(i, Int64.self) }
    func optionalInt(_ i: Int) throws -> Int? { try decode(i, Int?.self) }
    func bool(_ i: Int) throws -> Bool { try decode(i, Bool.self) }
    func double(_ i: Int) throws -> Double { try decode(i, Double.self) }

    private func decode<T: PostgresDecodable>(_ i: Int, _: T.Type) throws -> T {
        do {
            var cell = row[i]
            if prepared { cell.format = .binary }
            return try cell.decode(T.self)
        } catch {
            throw PostgresStoreError("column \(row[i].columnName): cannot read it as \(T.self): \(error)")
        }
    }
}
