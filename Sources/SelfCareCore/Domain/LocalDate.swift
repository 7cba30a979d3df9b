import Foundation

/// A calendar date without a time (`2026-12-01`), in the carrier's local time zone.
public struct LocalDate: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The year (`2026`).
    public var year: Int
    /// The month of the year, 1 to 12.
    public var month: Int
    /// The day of the month, from 1.
    public var day: Int

    /// The date `year`-`month`-`day`, taken as it is (not checked; `init(iso:)` checks text).
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`; returns nil for anything else, including impossible dates.
    public init?(iso text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), d >= 1, d <= LocalDate.daysIn(year: y, month: m)
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// `YYYY-MM-DD`, as records, replies and import files write dates.
    public var description: String {
        "\(pad4(year))-\(pad2(month))-\(pad2(day))"
    }

    /// The month this date falls in.
    public var monthOf: Month { Month(year: year, month: month) }

    /// Whether `a` comes before `b`.
    public static func < (a: LocalDate, b: LocalDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

extension LocalDate {
    /// The date `days` days later (earlier when negative).
    public func adding(days: Int) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: DateComponents(year: year, month: month, day: day))!
        let end = calendar.date(byAdding: .day, value: days, to: start)!
        let c = calendar.dateComponents([.year, .month, .day], from: end)
        return LocalDate(year: c.year!, month: c.month!, day: c.day!)
    }
}
