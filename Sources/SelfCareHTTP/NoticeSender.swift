import Foundation
import SelfCareChannels
import SelfCareCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Sends queued SMS notices through Kannel's `sendsms` interface (docs/notices.md): at most once each, never in
/// the quiet hours, in the customer's language (the text was rendered so when queued). Chinese text goes as UCS-2
/// (`coding=2`, `charset=UTF-8`), plain text in the GSM alphabet as is.
public struct NoticeSender: Sendable {
    /// The engine the notices are claimed from and their calls recorded through.
    public let engine: OperationEngine
    /// Kannel's sendsms URL with its user: `http://127.0.0.1:13013/cgi-bin/sendsms?username=U&password=P`.
    public let sendsms: URL
    /// The sender shown on the handset (the short code).
    public var from = "10010"
    /// Quiet hours and tries.
    public var policy = NoticePolicy()
    /// Seconds a call may take; past it the outcome is unknown and the notice is never sent again.
    public var timeout: TimeInterval = 10

    /// A sender through `sendsms`.
    public init(engine: OperationEngine, sendsms: URL) {
        self.engine = engine
        self.sendsms = sendsms
    }

    /// What a pass did.
    public struct Pass: Sendable, Equatable {
        /// Notices Kannel accepted.
        public var sent = 0
        /// Notices Kannel refused (tried again later, or failed).
        public var refused = 0
        /// Notices whose call had no clear answer (never sent again).
        public var unknown = 0

        /// A pass with these counts.
        public init(sent: Int = 0, refused: Int = 0, unknown: Int = 0) {
            self.sent = sent
            self.refused = refused
            self.unknown = unknown
        }
    }

    /// Sends due notices, oldest first, at most `limit`; stops at the first call that is not accepted.
    public func drain(limit: Int = 200) async throws -> Pass {
        var pass = Pass()
        try await engine.settleInterruptedNotices()
        for _ in 0..<limit {
            guard let notice = try await engine.claimNotice(policy: policy) else { break }
            let result = await call(notice)
            try await engine.recordNoticeCall(notice.id, result: result, policy: policy)
            switch result {
            case .accepted: pass.sent += 1
            case .refused: pass.refused += 1
            case .unknown: pass.unknown += 1
            }
            if result != .accepted { break }
        }
        return pass
    }

    /// The sendsms URL for `notice`.
    func url(for notice: Notice) -> URL? {
        guard var components = URLComponents(url: sendsms, resolvingAgainstBaseURL: false) else { return nil }
        var items = components.queryItems ?? []
        items += [
            URLQueryItem(name: "from", value: from), URLQueryItem(name: "to", value: notice.msisdn),
            URLQueryItem(name: "text", value: notice.text), URLQueryItem(name: "charset", value: "UTF-8"),
        ]
        if SMSSegmenter.encoding(of: notice.text) != .gsm7 { items.append(URLQueryItem(name: "coding", value: "2")) }
        components.queryItems = items
        // `+` is a space in a query: Kannel reads it so; an encoded `+` stays a plus.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.url
    }

    /// One call to Kannel: accepted on 2xx (`0: Accepted for delivery`, `3: Queued for later delivery`);
    /// refused on any other answer; unknown without an answer.
    func call(_ notice: Notice) async -> NoticeCallResult {
        guard let url = url(for: notice) else { return .refused("the sendsms URL cannot carry this notice") }
        switch await OutboundHTTP.call(URLRequest(url: url), timeout: timeout) {
        case .answered(let status, let body):
            return (200..<300).contains(status)
                ? .accepted : .refused("HTTP \(status)\(body.isEmpty ? "" : ": \(body)")")
        case .unreachable(let why):
            // Nothing listened: the message cannot have gone.
            return .refused(why)
        case .noAnswer(let why):
            return .unknown(why)
        }
    }
}
