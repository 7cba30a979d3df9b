import ArgumentParser
import SelfCareCore
import SelfCareStore

struct TickCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tick", abstract: "Apply pending changes that are due (the server does this periodically).")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingFailures {
            let runtime = try Runtime(global)
            let engine = try runtime.engine(needsPasswords: false)
            let records = try await engine.applyDueChanges()
            for record in records {
                print("\(record.subject) \(record.operation) \(record.result) \(record.reason) (record \(record.id))")
            }
            print("tick: \(records.count) pending change\(records.count == 1 ? "" : "s") handled")
        }
    }
}
