import Foundation
import Synchronization

/// Where the gateway gets the current time: the system clock, or a fixed or manual one in tests.
///
/// Implementation requirements: `now()` is cheap and safe to call from any thread.
public protocol TimeSource: Sendable {
    /// The current instant.
    func now() -> Date
}

/// The system clock.
public struct SystemTimeSource: TimeSource {
    /// The system clock.
    public init() {}
    /// The system's current time.
    public func now() -> Date { Date() }
}

/// A clock that always says the same instant, as `SELFCARE_NOW` asks.
public struct FixedTimeSource: TimeSource {
    /// The instant the clock always says.
    public let instant: Date
    /// A clock stopped at `instant`.
    public init(_ instant: Date) { self.instant = instant }
    /// `instant`, every time.
    public func now() -> Date { instant }
}

/// A clock that tests move by hand.
public final class ManualTimeSource: TimeSource, Sendable {
    private let current: Mutex<Date>

    /// A clock that says `start` until it is moved.
    public init(_ start: Date) { current = Mutex(start) }

    /// The instant the clock was last set or advanced to.
    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward by `seconds`.
    public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }

    /// Sets the clock to `instant`.
    public func set(_ instant: Date) { current.withLock { $0 = instant } }
}
