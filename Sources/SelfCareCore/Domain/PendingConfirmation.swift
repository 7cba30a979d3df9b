import Foundation

/// A transaction waiting for the customer's second confirmation 二次确认 (reply `Y` within the time limit).
public struct PendingConfirmation: Hashable, Sendable {
    /// The number that must confirm (the sender).
    public var caller: String
    /// The channel the confirmation must come through, the one the request came through.
    public var channel: Channel
    /// The transaction waiting to be confirmed.
    public var operation: OperationName
    /// The number the operation concerns.
    public var subject: String
    /// The operation's arguments (no secrets).
    public var arguments: [String: String]
    /// The session or message id of the request.
    public var session: String?
    /// When the transaction was asked for.
    public var requestedAt: Date
    /// When the wait ends: `requestedAt` plus `EngineConfiguration.confirmationTTL`; a later confirmation is
    /// refused `confirmation_expired`.
    public var expiresAt: Date
    /// The language the request was answered in; the outcome keeps it.
    public var language: Language?

    /// A transaction `caller` is asked to confirm on `channel`, with what it will do and when the wait ends.
    public init(
        caller: String, channel: Channel, operation: OperationName, subject: String, arguments: [String: String],
        session: String?, requestedAt: Date, expiresAt: Date, language: Language? = nil
    ) {
        self.language = language
        self.caller = caller
        self.channel = channel
        self.operation = operation
        self.subject = subject
        self.arguments = arguments
        self.session = session
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
    }
}
