import Foundation
import SelfCareCore

/// A JUnit XML report of scenario runs, as CI servers read it: valid against the JUnit schema of Jenkins' xunit
/// plugin (`junit-10.xsd`, Tests/Fixtures/schemas/junit/), and read as meant by junitparser (the tests check both).
///
/// One `<testsuite>` with `tests`, `failures`, `errors`, `skipped`, `time`, `timestamp` and `hostname`; one
/// `<testcase>` per scenario file. A scenario whose expectation did not hold is a `<failure>`; one that could not
/// run as written (not readable, an unknown directive, a bad argument, …) or met a fault is an `<error>`, as
/// JUnit tells a failed assertion from a test that broke.
///
/// ```swift
/// var report = JUnitReport(name: "selfcare scenarios", timestamp: clock.now(), hostname: "ci-7")
/// report.cases.append(.init(classname: "a.scenario", name: "SMS balance", seconds: 0.02))
/// try report.xml.write(toFile: "report.xml", atomically: true, encoding: .utf8)
/// ```
public struct JUnitReport: Sendable {
    /// How a test case ended.
    public enum Outcome: Sendable, Equatable {
        case passed
        /// An expectation did not hold: `message` is its first line, `details` the whole of it.
        case failure(type: String, message: String, details: String)
        /// The test could not run as written, or a fault stopped it.
        case error(type: String, message: String, details: String)
    }

    public struct Case: Sendable {
        public var classname: String
        public var name: String
        public var seconds: Double
        public var outcome: Outcome

        public init(classname: String, name: String, seconds: Double, outcome: Outcome = .passed) {
            self.classname = classname
            self.name = name
            self.seconds = seconds
            self.outcome = outcome
        }
    }

    public var name: String
    /// When the run started: from the injected clock (`SELFCARE_NOW` in tests), never read here.
    public var timestamp: Date
    public var hostname: String
    /// The whole run's duration; the sum of the cases' when nil.
    public var seconds: Double?
    public var cases: [Case] = []

    public init(name: String, timestamp: Date, hostname: String, seconds: Double? = nil) {
        self.name = name
        self.timestamp = timestamp
        self.hostname = hostname
        self.seconds = seconds
    }

    public var failures: Int {
        cases.count(where: {
            if case .failure = $0.outcome { return true }
            return false
        })
    }

    public var errors: Int {
        cases.count(where: {
            if case .error = $0.outcome { return true }
            return false
        })
    }

    /// The report as an XML document.
    public var xml: String {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml +=
            "<testsuite name=\"\(Self.attribute(name))\" tests=\"\(cases.count)\" failures=\"\(failures)\" "
            + "errors=\"\(errors)\" skipped=\"0\" time=\"\(Self.time(seconds ?? cases.reduce(0) { $0 + $1.seconds }))\" "
            + "timestamp=\"\(Self.timestamp(timestamp))\" hostname=\"\(Self.attribute(hostname))\">\n"
        for c in cases {
            xml +=
                "  <testcase classname=\"\(Self.attribute(c.classname))\" name=\"\(Self.attribute(c.name))\" "
                + "time=\"\(Self.time(c.seconds))\""
            switch c.outcome {
            case .passed:
                xml += "/>\n"
            case .failure(let type, let message, let details), .error(let type, let message, let details):
                let element = if case .failure = c.outcome { "failure" } else { "error" }
                xml +=
                    ">\n    <\(element) type=\"\(Self.attribute(type))\" message=\"\(Self.attribute(message))\">"
                    + "\(Self.text(details))</\(element)>\n  </testcase>\n"
            }
        }
        return xml + "</testsuite>\n"
    }

    /// Seconds as the schema's `SUREFIRE_TIME` has them: digits, a point, at most three decimals.
    static func time(_ seconds: Double) -> String {
        String(format: "%.3f", seconds.isFinite ? max(seconds, 0) : 0)
    }

    /// `2026-11-24T02:00:00`: ISO 8601 in UTC without a zone designator, as Ant's JUnit format writes it.
    static func timestamp(_ date: Date) -> String { String(ISOTime.format(date).prefix(19)) }

    /// Character data: markup escaped, and what XML 1.0 cannot hold (a terminal's escape, most control
    /// characters) replaced by U+FFFD, so that any scenario output keeps the report well-formed.
    static func text(_ value: String) -> String { XMLText.escape(value, invalid: "\u{FFFD}") }

    /// An attribute value in double quotes, as `text`, line breaks and tabs kept as references.
    static func attribute(_ value: String) -> String { XMLText.escape(value, invalid: "\u{FFFD}", attribute: true) }
}
