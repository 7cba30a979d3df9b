import Foundation

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
