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

/// ISO 8601 parsing and formatting as records and `SELFCARE_NOW` use them.
public enum ISOTime {
    /// Parses `2026-11-24T21:00:00Z`, with optional fractional seconds and any offset, or a bare
    /// date `2026-11-24` (midnight UTC).
    public static func parse(_ text: String) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let d = try? Date(t, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return d }
        if let d = try? Date(t, strategy: Date.ISO8601FormatStyle()) { return d }
        if let day = LocalDate(iso: t) {
            var c = DateComponents()
            c.year = day.year
            c.month = day.month
            c.day = day.day
            return utcCalendar.date(from: c)
        }
        return nil
    }

    /// Formats as `2026-11-24T21:00:00.123Z`, rounded to the nearest millisecond, so that
    /// `format(parse(format(d)))` is always `format(d)`.
    public static func format(_ date: Date) -> String {
        let totalMS = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(totalMS >= 0 ? totalMS / 1000 : (totalMS - 999) / 1000)
        let ms = Int(totalMS - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(pad4(Int(parts.tm_year) + 1900))-\(pad2(Int(parts.tm_mon) + 1))-\(pad2(Int(parts.tm_mday)))T"
            + "\(pad2(Int(parts.tm_hour))):\(pad2(Int(parts.tm_min))):\(pad2(Int(parts.tm_sec))).\(msText)Z"
    }

    static let utcCalendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()
}

/// The carrier's local calendar: what day and month it is where the customers are.
public struct LocalCalendar: Sendable {
    /// The carrier's time zone, where local days and months begin at midnight.
    public let timeZone: TimeZone
    private let calendar: Calendar

    /// - Parameter timeZone: the carrier's time zone; China Standard Time by default.
    public init(timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!) {
        self.timeZone = timeZone
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        calendar = c
    }

    /// The local date of `instant`.
    public func date(of instant: Date) -> LocalDate {
        let c = calendar.dateComponents([.year, .month, .day], from: instant)
        return LocalDate(year: c.year!, month: c.month!, day: c.day!)
    }

    /// The local month of `instant`.
    public func month(of instant: Date) -> Month { date(of: instant).monthOf }

    /// Local `YYYY-MM-DD HH:mm` of `instant`, as replies show times.
    public func dateTime(of instant: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
        return "\(pad4(c.year!))-\(pad2(c.month!))-\(pad2(c.day!)) "
            + "\(pad2(c.hour!)):\(pad2(c.minute!))"
    }
}
