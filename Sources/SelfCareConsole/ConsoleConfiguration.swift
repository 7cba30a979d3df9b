import Foundation
import SelfCareCore

/// Settings of the web console.
public struct ConsoleConfiguration: Sendable {
    /// Who may sign in, and as what.
    public var accounts: ConsoleAccounts
    /// The folder of the console's templates (`templates/*.mustache`) and static files (`static/`).
    public var assetsDirectory: String
    /// The live grammars and prompts, which the workbench shows and copies into its drafts.
    public var grammarsDirectory: String
    public var promptsDirectory: String
    /// Whether the session cookie is `Secure` always; it is also `Secure` on a request that came over TLS
    /// (`X-Forwarded-Proto: https` from the proxy in front).
    public var secureCookies = false
    /// Test numbers the phone simulator offers in its list (the demo's subscribers). Any other number may be typed,
    /// with a reason that goes into its access record.
    public var simulatorNumbers: [SimulatorNumber] = []
    /// The address of the proxy in front (nginx): a request from it is counted, for the sign-in throttle, under the
    /// last address of its `X-Forwarded-For`; nil: the peer's address always.
    public var trustedProxy: String?
    /// Where the IVR prompts are rendered to audio: the `espeak-ng` program, nil when it is not installed.
    public var espeak: String?
    /// Where rendered prompts are cached; nil: a new folder of this process's own (0700) in the temporary folder.
    public var speechCache: String?
    /// Whether the console runs with the demo's accounts (said on every page).
    public var demo = false
    /// Records one page of the records view searches at most (the export has no such limit).
    public var recordsScanLimit = 200_000
    /// The `selfcare` executable the workbench runs drafts with, each in a child process; nil: drafts cannot be
    /// tried.
    public var workbenchExecutable: String?
    /// Seconds a draft's check, and its conversation, may take before the child is killed.
    public var workbenchTimeLimit: TimeInterval = 15
    /// The engine's clock as an ISO time for the workbench's drafts (nil: the engine's now).
    public var workbenchClock: (@Sendable () -> Date)?

    public init(
        accounts: ConsoleAccounts, assetsDirectory: String, grammarsDirectory: String, promptsDirectory: String
    ) {
        self.accounts = accounts
        self.assetsDirectory = assetsDirectory
        self.grammarsDirectory = grammarsDirectory
        self.promptsDirectory = promptsDirectory
    }

    /// `espeak-ng` on the PATH, or nil.
    public static func findEspeak() -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = String(folder) + "/espeak-ng"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// A number the simulator offers, with what tells it apart.
public struct SimulatorNumber: Sendable {
    public var number: String
    public var label: String

    public init(number: String, label: String) {
        self.number = number
        self.label = label
    }
}
