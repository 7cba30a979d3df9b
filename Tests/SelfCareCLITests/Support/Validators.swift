import Foundation
import SelfCareTesting
import Testing

// The outside validators the standards tests hand the gateway's output to. A validator missing here is a
// skip with its reason on a developer's machine, and a failure in CI (the `CI` variable set), where `.ci/run`
// installs them all: a standard nobody checked must not pass for a standard checked.

/// Whether this run is CI's, which must run every validator (`.ci/run` sets `CI`).
var validatorsRequired: Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }

/// The schemas copied into the repository (Tests/Fixtures/schemas/README.md names their sources).
enum Schemas {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/schemas")
    /// W3C VoiceXML 2.1.
    static let voiceXML = folder.appendingPathComponent("vxml21/vxml.xsd")
    /// W3C SRGS 1.0, for a grammar on its own.
    static let srgs = folder.appendingPathComponent("vxml21/grammar.xsd")
    /// Jenkins xunit's JUnit schema.
    static let junit = folder.appendingPathComponent("junit/junit-10.xsd")
}

/// xmllint, from Debian's libxml2-utils.
enum XMLLint {
    static let path: String? = ["/usr/bin/xmllint", "/usr/local/bin/xmllint", "/bin/xmllint"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let missing = "xmllint is missing: apt-get install libxml2-utils (.ci/run does)"

    /// What xmllint said of a set of files validated against one schema.
    struct Validation: CustomStringConvertible {
        var status: Int32
        /// The files xmllint reported as valid (`FILE validates`).
        var valid: Set<String>
        var messages: String
        var description: String { "xmllint exited \(status):\n\(messages)" }
    }

    /// Validates `files` against `schema` in one run, with no network (every include of the schemas is local).
    static func validate(_ files: [URL], schema: URL) throws -> Validation {
        guard let path else { throw SpawnError(description: missing) }
        let result = try run(
            ["--noout", "--nonet", "--schema", schema.path] + files.map(\.path), in: schema.deletingLastPathComponent(),
            program: path)
        let valid = result.stderr.split(separator: "\n").compactMap { line in
            line.hasSuffix(" validates") ? String(line.dropLast(" validates".count)) : nil
        }
        return Validation(status: result.status, valid: Set(valid), messages: result.stderr + result.stdout)
    }

    /// `xmllint --version`'s first line (`xmllint: using libxml version 20914`).
    static var version: String {
        guard let path, let result = try? run(["--version"], in: URL(fileURLWithPath: "/"), program: path) else {
            return "?"
        }
        return String((result.stderr + result.stdout).split(separator: "\n").first ?? "?")
    }
}

/// The Python of CI's virtualenv, which has the consumers the tests read reports with (junitparser): `.ci/run`
/// creates it and exports its path as SELFCARE_CI_PYTHON.
enum CIPython {
    static let variable = "SELFCARE_CI_PYTHON"
    static var path: String? {
        guard let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty,
            FileManager.default.isExecutableFile(atPath: path)
        else { return nil }
        return path
    }
    static let missing = """
        \(variable) does not name a Python with junitparser: python3 -m venv .build/ci-venv && \
        .build/ci-venv/bin/pip install junitparser, then export \(variable)=$PWD/.build/ci-venv/bin/python \
        (.ci/run does)
        """
}
