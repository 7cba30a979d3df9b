import Foundation

/// One caller's failed attempts on other numbers' passwords (caller ≠ subject), and the lock they led to.
///
/// The owner's own attempts are counted on the subscriber (`Subscriber.failedPasswordAttempts`); a third
/// party's are counted here, per calling number, whatever number it tried, so that strangers cannot lock an
/// owner out and one phone cannot guess its way through many numbers. The caller need not be a subscriber.
public struct CallerThrottle: Sendable, Equatable {
    /// The calling number (normalised).
    public var caller: String
    /// Failures counted since `windowStart`.
    public var failures: Int
    /// When the first failure of the current count happened.
    public var windowStart: Date
    /// Until when the caller is locked out of third-party attempts; nil when it is not.
    public var lockedUntil: Date?

    /// A caller's count with every field given, as stored; `counting(_:caller:at:threshold:duration:)` makes the
    /// next one.
    public init(caller: String, failures: Int = 0, windowStart: Date, lockedUntil: Date? = nil) {
        self.caller = caller
        self.failures = failures
        self.windowStart = windowStart
        self.lockedUntil = lockedUntil
    }

    /// Whether the caller is locked out of third-party attempts at `now`.
    public func isLocked(at now: Date) -> Bool { lockedUntil.map { $0 > now } ?? false }

    /// `current` (nil: no failure so far) after one more failure at `now`.
    ///
    /// Failures count within `duration` of the first; the one that reaches `threshold` locks the caller for
    /// `duration` and starts the count again. A count whose window or lock has passed starts from zero. A
    /// good password does not reset the count: a caller who knows one other number's password (a second SIM
    /// of their own) must not be able to wipe its failures with it.
    public static func counting(
        _ current: CallerThrottle?, caller: String, at now: Date, threshold: Int, duration: TimeInterval
    ) -> CallerThrottle {
        var throttle = current ?? CallerThrottle(caller: caller, windowStart: now)
        let lockEnded = throttle.lockedUntil.map { $0 <= now } ?? false
        if lockEnded || throttle.failures == 0 || now >= throttle.windowStart + duration {
            throttle.failures = 0
            throttle.windowStart = now
            throttle.lockedUntil = nil
        }
        throttle.failures += 1
        if throttle.failures >= threshold {
            throttle.failures = 0
            throttle.lockedUntil = now + duration
        }
        return throttle
    }
}
