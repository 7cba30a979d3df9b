import Foundation
import HTTPTypes
import Hummingbird
import SelfCareCore
import SelfCareStore

/// The billing system's side of the feed, for tests and demos: writes feed files into an inbox the way a
/// well-behaved sender does (the data file first, its `.chk` sidecar last), and the ways a badly behaved or
/// unlucky one does (a file cut short in transfer, a sidecar that lies).
public struct BillingSimulator: Sendable {
    /// The inbox it delivers to.
    public let inbox: URL
    /// Its source system's name in file names (`BOSS`).
    public var source: String

    /// A simulator delivering to `inbox` as `source`.
    public init(inbox: URL, source: String = "BOSS") {
        self.inbox = inbox
        self.source = source
    }

    /// How a delivery goes wrong, if it does.
    public enum Fault: Sendable {
        /// The data file is cut after `keeping` bytes, the sidecar describing the whole file.
        case truncated(keeping: Int)
        /// The sidecar counts `rows` rows.
        case wrongRowCount(Int)
        /// No sidecar yet: the transfer has not finished.
        case noSidecar
    }

    /// Delivers a feed file of `kind` numbered `sequence` for `date`, holding `csv` (a header and rows) in
    /// `encoding`; returns the data file's URL.
    @discardableResult
    public func deliver(
        _ kind: ImportKind, sequence: Int, date: LocalDate = LocalDate(year: 2026, month: 12, day: 6), csv: String,
        mode: LoadMode = .delta, encoding: TextEncoding = .utf8, declareEncoding: Bool = false, fault: Fault? = nil
    ) throws -> URL {
        let digits = String(format: "%04d%02d%02d", date.year, date.month, date.day)
        let name = "\(kind.feedCode)_\(source)_\(digits)_\(FeedFileName.format(sequence)).csv"
        guard let data = encoding.encode(csv) else { throw SimulatorError("the text cannot be written in \(encoding)") }
        let rows = CSVReader.rows(csv).rows.count - 1
        var sidecar = FeedCheck.text(
            for: data, file: name, rows: rows, mode: mode, encoding: declareEncoding ? encoding : nil)
        var written = data
        switch fault {
        case .truncated(let keeping): written = data.prefix(keeping)
        case .wrongRowCount(let count):
            sidecar = FeedCheck.text(
                for: data, file: name, rows: count, mode: mode, encoding: declareEncoding ? encoding : nil)
        case .noSidecar, nil: break
        }
        let url = inbox.appendingPathComponent(name)
        try written.write(to: url)
        if case .noSidecar = fault { return url }
        // The sidecar goes last, through a temporary name, as the contract asks of a sender.
        let check = inbox.appendingPathComponent(String(name.dropLast(4)) + ".chk")
        let temporary = inbox.appendingPathComponent("." + check.lastPathComponent + ".part")
        try Data(sidecar.utf8).write(to: temporary)
        try FileManager.default.moveItem(at: temporary, to: check)
        return url
    }

    /// Writes the sidecar of a file delivered with `.noSidecar`: the transfer completes.
    public func complete(_ url: URL, mode: LoadMode = .delta) throws {
        let data = try Data(contentsOf: url)
        let text = TextEncoding.detect(data)
        var rows = 0
        if case .found(let encoding) = text { rows = CSVReader.rows(encoding.decodeLines(data)).rows.count - 1 }
        let sidecar = FeedCheck.text(for: data, file: url.lastPathComponent, rows: rows, mode: mode)
        try Data(sidecar.utf8).write(to: url.deletingPathExtension().appendingPathExtension("chk"))
    }
}

/// Something the simulator cannot do.
public struct SimulatorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Billing's receiving end of the order webhook, for tests and demos: it applies each order once by its
/// `Idempotency-Key` however often it arrives, can be told to fail the next calls, and answers orders by a rule.
public actor BillingReceiver {
    /// The orders applied, in the order first received, by key.
    public private(set) var applied: [String] = []
    /// Every call received, keys included, duplicates too.
    public private(set) var calls: [String] = []
    /// The bearer token seen on the last call, if any.
    public private(set) var lastAuthorization: String?
    /// Answers 503 to this many calls before taking orders again.
    public var failing = 0
    /// The payloads applied, by key.
    public private(set) var payloads: [String: String] = [:]
    /// How billing answers an order, from its payload (a JSON object with `operation`, `subject`, `after`…).
    public let rule: @Sendable (String) -> OrderAnswer
    /// The keys answered so far (by `answerFile`).
    public private(set) var answered: Set<String> = []

    /// A receiver answering orders by `rule`; by default it accepts every order.
    public init(rule: @escaping @Sendable (String) -> OrderAnswer = { _ in .accepted }) {
        self.rule = rule
    }

    /// The answers to the orders applied and not answered yet, as an answer file's CSV (`key,result,reason`), in
    /// the order received; nil when there is nothing to answer. The orders count as answered.
    public func answerFile() -> String? {
        let open = applied.filter { !answered.contains($0) }
        guard !open.isEmpty else { return nil }
        var lines = ["key,result,reason"]
        for key in open {
            let answer = rule(payloads[key] ?? "")
            lines.append("\(key),\(answer.rawValue),\(answer == .rejected ? "refused by rule" : "")")
            answered.insert(key)
        }
        return lines.joined(separator: "\n")
    }

    /// Answers the next `count` calls with 503.
    public func fail(next count: Int) { failing = count }

    /// Takes one call; returns the HTTP status it answers with.
    public func receive(key: String?, authorization: String?, body: String) -> Int {
        lastAuthorization = authorization
        guard let key, !key.isEmpty else { return 400 }
        calls.append(key)
        if failing > 0 {
            failing -= 1
            return 503
        }
        if payloads[key] == nil {
            applied.append(key)
            payloads[key] = body
        }
        return 200
    }

    /// A router for an application serving the receiver at `POST /orders`.
    public nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        // A redirect to the real endpoint: a gateway must not follow it (it would carry the token elsewhere).
        router.post("/moved") { _, _ -> Response in
            Response(status: .temporaryRedirect, headers: [.location: "/orders"])
        }
        // An endpoint that never answers in time.
        router.post("/slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(20))
            return Response(status: .ok)
        }
        router.post("/orders") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let status = await self.receive(
                key: request.headers[HTTPField.Name("Idempotency-Key")!],
                authorization: request.headers[.authorization], body: String(buffer: body))
            return Response(status: HTTPResponse.Status(code: status))
        }
        return router
    }
}
