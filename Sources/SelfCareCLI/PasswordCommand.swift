import ArgumentParser
import Foundation
import SelfCareCore
import SelfCareCrypto
import SelfCareStore

struct PasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password", abstract: "Set a service password, or measure the hashing cost.",
        subcommands: [SetPassword.self, Calibrate.self])

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set NUMBER's service password, read from standard input; clears a lockout.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The subscriber's number.")
        var number: String

        func run() async throws {
            try await reportingFailures {
                guard let msisdn = normalizeNumber(number) else {
                    throw CommandFailure("\(number): expected a phone number")
                }
                let terminal = isatty(STDIN_FILENO) == 1
                // Full-width digits are the same password here as on every channel.
                let secrets = SecretInput.read(
                    prompts: terminal ? ["New password: ", "New password again: "] : ["New password: "]
                ).map { $0.foldingFullWidthDigits() }
                guard let password = secrets.first else { throw CommandFailure("no password on standard input") }
                if secrets.count > 1, !password.matches(secrets[1]) {
                    throw CommandFailure("the two passwords differ")
                }
                if let rule = PasswordRules.weakness(of: password, for: msisdn) {
                    throw CommandFailure(
                        "weak password (\(rule.rawValue)): six digits, not one repeated digit, not a run, not the number's last six"
                    )
                }
                let runtime = try Runtime(global)
                let outcome = try await runtime.engine().setPassword(of: msisdn, to: password, by: "operator")
                guard outcome.isOK else { throw CommandFailure("\(msisdn): \(outcome.reason)") }
                print("password set for \(msisdn)")
            }
        }
    }

    struct Calibrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure PBKDF2-HMAC-SHA256 on this machine and suggest an iteration count.")

        @Option(help: "The time one check should take, in milliseconds.")
        var targetMs = 40.0

        @Option(help: "Measurements per iteration count (the median is reported).")
        var repeats = 7

        func run() async throws {
            let pepper = Pepper(bytes: try LibCrypto.randomBytes(32))
            let password = Secret("258036")
            var perIteration: [Double] = []
            for iterations in Array(Set([50_000, 100_000, PBKDF2PasswordHasher.defaultIterations, 200_000]))
                .sorted()
            {
                let hasher = PBKDF2PasswordHasher(pepper: pepper, iterations: iterations)
                let stored = try hasher.hash(password)
                var times: [Double] = []
                for _ in 0..<max(1, repeats) {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try hasher.verify(password, against: stored)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
                let median = times.sorted()[times.count / 2]
                perIteration.append(median / Double(iterations))
                print("pbkdf2-sha256 i=\(iterations): median \(String(format: "%.1f", median)) ms a check")
            }
            let msPerIteration = perIteration.sorted()[perIteration.count / 2]
            let suggested = Int((targetMs / msPerIteration / 10_000).rounded()) * 10_000
            print(
                "suggested iterations for \(Int(targetMs)) ms: \(suggested) (default \(PBKDF2PasswordHasher.defaultIterations); set SELFCARE_PBKDF2_ITERATIONS)"
            )
        }
    }
}
