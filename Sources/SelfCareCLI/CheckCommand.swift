import ArgumentParser
import Foundation
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the grammars and prompts together; exits 1 with compiler-style diagnostics.",
        discussion: """
            Every channel's grammar (sms, ussd, ivr) must be in the folder, but for channels turned off with \
            SELFCARE_CHANNELS (a comma-separated list of the channels served, as `serve` reads it).
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingFailures {
            let channels = try Environment.channels()
            let promptsDirectory = try global.promptsFolder()
            let grammarsDirectory = try global.grammarsFolder()
            var diagnostics: [Diagnostic]
            do {
                diagnostics = try PromptChecker().check(directory: promptsDirectory)
            } catch let error as TextFileError {
                throw CommandFailure("\(error)")
            } catch {
                throw CommandFailure(
                    "\(promptsDirectory): cannot read prompts (\(error.localizedDescription)); pass --prompts DIR")
            }
            let catalog = try? PromptCatalog.load(directory: promptsDirectory)
            var grammarCount = 0
            do {
                let names = try FileManager.default.contentsOfDirectory(atPath: grammarsDirectory)
                    .filter { $0.hasSuffix(".grammar") }
                grammarCount = names.count
                if names.isEmpty {
                    throw CommandFailure("\(grammarsDirectory): no *.grammar files; pass --grammars DIR")
                }
                _ = try GrammarSet(directory: grammarsDirectory, prompts: catalog, required: channels)
            } catch let errors as GrammarErrors {
                diagnostics += errors.diagnostics
            } catch let failure as CommandFailure {
                throw failure
            } catch let error as TextFileError {
                throw CommandFailure("\(error)")
            } catch {
                throw CommandFailure(
                    "\(grammarsDirectory): cannot read grammars (\(error.localizedDescription)); pass --grammars DIR")
            }
            for d in diagnostics { printError(d.description) }
            let errors = diagnostics.filter { $0.severity == .error }.count
            guard errors == 0 else {
                throw CommandFailure("check: \(errors) error\(errors == 1 ? "" : "s")")
            }
            let keys = catalog.map { Set($0.templates.values.flatMap(\.keys)).count } ?? 0
            let languages = catalog?.templates.keys.map(\.rawValue).sorted().joined(separator: ", ") ?? ""
            print("grammars \(grammarsDirectory): ok (\(grammarCount) file\(grammarCount == 1 ? "" : "s"))")
            print("prompts \(promptsDirectory): ok (\(keys) keys in \(languages))")
        }
    }
}
