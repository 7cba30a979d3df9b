import Foundation
import SelfCareTesting
import Testing

/// A scratch folder, removed afterwards.
func withScratchFolder(_ body: (URL) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try body(dir)
}

/// A scratch folder with copies of the repository's `folders` (grammars, prompts) and no database yet.
func withShipped(_ folders: [String], _ body: (URL) throws -> Void) throws {
    try withScratchFolder { dir in
        for folder in folders {
            try FileManager.default.copyItem(
                at: Fixtures.repositoryRoot.appendingPathComponent(folder), to: dir.appendingPathComponent(folder))
        }
        try body(dir)
    }
}

/// A scratch folder with the shipped prompts and an initialised demo database.
func withDemo(_ body: (URL) throws -> Void) throws {
    try withShipped(["prompts"]) { dir in
        let initRun = try run(["init", "--demo"], in: dir)
        #expect(initRun.status == 0, "\(initRun.stderr)")
        try body(dir)
    }
}

/// The demo database starts with four records: one `import` record for each file of the demo data.
let demoImportRecords = 9

/// The lines of a `records list` (JSON lines) that are not the demo data's `import` records: what the commands a
/// test ran wrote.
func serviceRecordLines(_ stdout: String) -> [Substring] {
    stdout.split(separator: "\n").filter { !$0.contains(#""operation":"import""#) }
}

/// A scratch folder with the shipped prompts and grammars and a demo database.
func withDemoAndGrammars(_ body: (URL) throws -> Void) throws {
    try withShipped(["grammars", "prompts"]) { dir in
        let initRun = try run(["init", "--demo"], in: dir)
        #expect(initRun.status == 0, "\(initRun.stderr)")
        try body(dir)
    }
}

/// A scratch folder with the shipped grammars and prompts, and no database yet.
func withServeFolder(_ body: (URL) throws -> Void) throws {
    try withShipped(["grammars", "prompts"], body)
}
