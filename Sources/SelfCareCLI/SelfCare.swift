import ArgumentParser

@main
struct SelfCare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcare",
        abstract: "SelfCare: a self-service channel gateway for a mobile carrier.",
        discussion: """
            Every command takes --database, --grammars, --prompts and --pepper-file. SELFCARE_NOW (ISO 8601)
            fixes the clock; SELFCARE_TIMEZONE, SELFCARE_PBKDF2_ITERATIONS, SELFCARE_LOCKOUT_THRESHOLD and
            SELFCARE_LOCKOUT_HOURS override the defaults.
            """,
        subcommands: [
            InitCommand.self, ImportCommand.self, OpCommand.self, SMSCommand.self, USSDCommand.self, IVRCommand.self,
            TestCommand.self,
            CheckCommand.self,
            RecordsCommand.self, PasswordCommand.self, TickCommand.self, ServeCommand.self, BenchCommand.self,
        ]
    )
}
