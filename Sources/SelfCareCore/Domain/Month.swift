import Foundation

/// A calendar month (`2026-11`).
public struct Month: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The year (`2026`).
    public var year: Int
    /// The month of the year, 1 to 12.
    public var month: Int

    /// The month `month` of `year`, taken as it is (not checked; `init(_:)` checks text).
    public init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM` or `YYYYMM`.
    public init?(_ text: some StringProtocol) {
        let digits = text.filter { $0 != "-" }
        guard digits.count == 6, digits.allSatisfy(\.isASCIIDigit),
            text.count == 6 || (text.count == 7 && text[text.index(text.startIndex, offsetBy: 4)] == "-"),
            let y = Int(String(digits.prefix(4))), let m = Int(String(digits.suffix(2))), (1...12).contains(m)
        else { return nil }
        self.init(year: y, month: m)
    }

    /// `YYYY-MM`.
    public var description: String { "\(pad4(year))-\(pad2(month))" }

    /// The month after this one (`2026-12` → `2027-01`).
    public var next: Month { month == 12 ? Month(year: year + 1, month: 1) : Month(year: year, month: month + 1) }
    /// The month before this one (`2027-01` → `2026-12`); `query.bill` shows it by default.
    public var previous: Month { month == 1 ? Month(year: year - 1, month: 12) : Month(year: year, month: month - 1) }
    /// The month's first day, when a pending change scheduled for it takes effect.
    public var firstDay: LocalDate { LocalDate(year: year, month: month, day: 1) }
    /// The month's last day (`2027-02-28`).
    public var lastDay: LocalDate {
        LocalDate(year: year, month: month, day: LocalDate.daysIn(year: year, month: month))
    }

    /// The month `count` months later (earlier when negative).
    public func advanced(by count: Int) -> Month {
        let index = year * 12 + (month - 1) + count
        return Month(year: index.floorDivided(by: 12), month: index - index.floorDivided(by: 12) * 12 + 1)
    }

    /// Whether `a` comes before `b`.
    public static func < (a: Month, b: Month) -> Bool { (a.year, a.month) < (b.year, b.month) }
}

extension Int {
    fileprivate func floorDivided(by divisor: Int) -> Int {
        self >= 0 ? self / divisor : (self - divisor + 1) / divisor
    }
}
