import ArgumentParser
import Foundation
import SelfCareCore
import SelfCareCrypto
import SelfCareStore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create or migrate the database and the pepper file; --demo loads the demo data.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Load the demo plans, subscribers, usage and calls (idempotent).")
    var demo = false

    func run() async throws {
        try await reportingFailures {
            try Runtime.checkDatabasePath(global.database, access: .create)
            let created = try Pepper.createIfMissing(at: global.pepperPath)
            _ = try Pepper.load(from: global.pepperPath)  // refuses a malformed or group-readable pepper
            let runtime = try Runtime(global, access: .create)
            print("database \(global.databaseShown): ready")
            print(
                "pepper \(global.pepperPath): \(created ? "created (mode 0600); keep it outside backups of the database" : "present")"
            )
            guard demo else { return }
            let importer = try runtime.importer(withHasher: true)
            let results = try await DemoData.load(
                with: importer, now: runtime.clock.now(), calendar: runtime.configuration.calendar)
            for (kind, summary) in results { print("demo \(kind.rawValue): \(summary.description)") }
            print("demo numbers (passwords are for the demo only):")
            for entry in DemoData.guide(thisMonth: runtime.configuration.calendar.month(of: runtime.clock.now())) {
                print(
                    "  \(entry.number)  \(entry.password.padding(toLength: 6, withPad: " ", startingAt: 0))  \(entry.shows)"
                )
            }
            print("demo recharge cards (PINs are for the demo only):")
            for card in DemoData.cardGuide { print("  \(card.serial)  \(card.pin)  \(card.shows)") }
        }
    }
}
