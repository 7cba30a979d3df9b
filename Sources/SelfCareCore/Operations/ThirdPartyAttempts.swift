import Foundation
import Logging

/// Attempts on another number's password: counted against the caller, never the owner, with one answer for
/// every cause and a notice for the owner.
extension OperationEngine {
    /// Why a third party's password cannot be checked against `subject`, if it cannot: no such number, a
    /// closed one, no password set, or a password locked by the owner's own failures.
    static func uncheckable(_ subject: Subscriber?, now: Date) -> ReasonCode? {
        guard let subject else { return .unknownSubscriber }
        if subject.status == .closed { return .closed }
        if subject.passwordHash == nil { return .passwordNotSet }
        if let until = subject.passwordLockedUntil, until > now { return .passwordLocked }
        return nil
    }

    /// The hash checked instead of a real one when a third party's attempt cannot be checked.
    func decoyHash() async throws -> String {
        if let made = decoy.withLock({ $0 }) { return made }
        let hasher = self.hasher
        let made = try await pool.run { try hasher.hash(Secret(UUID().uuidString)) }
        return decoy.withLock { value in
            if value == nil { value = made }
            return value!
        }
    }

    /// Records a third party's failed attempt that never reached a hash check, in its own transaction.
    func refuseThirdParty(_ attempt: inout Attempt, cause: ReasonCode) async throws -> OperationOutcome {
        let now = clock.now()
        let frozen = attempt
        let (outcome, settled): (OperationOutcome, Attempt) = try await transaction(at: now) { tx in
            var attempt = frozen
            if let refused = try tx.admit(attempt) { return (refused, attempt) }
            if let throttle = try tx.writer.callerThrottle(attempt.caller), throttle.isLocked(at: now) {
                attempt.auth = .locked
                return try tx.refuse(attempt, .thirdPartyLocked)
            }
            // Read again: the number may have changed since the attempt looked (a notice goes to its owner).
            let subject = try tx.writer.subscriber(attempt.subject)
            let cause = Self.uncheckable(subject, now: now) ?? cause
            if cause == .passwordLocked { attempt.auth = .locked }
            return try tx.thirdPartyFailure(attempt, cause: cause, subject: subject)
        }
        attempt = settled
        return outcome
    }
}
