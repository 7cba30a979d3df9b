import Foundation

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

    /// The local hour of `instant`, 0 to 23.
    public func hour(of instant: Date) -> Int { calendar.component(.hour, from: instant) }

    /// The Monday of the local week `instant` falls in (weeks run Monday to Sunday, as ISO 8601 has them).
    public func weekStart(of instant: Date) -> LocalDate {
        let day = date(of: instant)
        // Gregorian weekday: 1 is Sunday, 2 Monday … 7 Saturday.
        let weekday = calendar.component(.weekday, from: instant)
        return day.adding(days: -((weekday + 5) % 7))
    }

    /// Local `YYYY-MM-DD HH:mm` of `instant`, as replies show times.
    public func dateTime(of instant: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
        return "\(pad4(c.year!))-\(pad2(c.month!))-\(pad2(c.day!)) "
            + "\(pad2(c.hour!)):\(pad2(c.minute!))"
    }
}
