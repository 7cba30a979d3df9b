/// Whether a store can commit, and why not.
public struct StoreReadiness: Sendable, Equatable {
    /// What stands in the way, one line each; empty when the store is ready.
    public var problems: [String]
    /// True when nothing stands in the way.
    public var isReady: Bool { problems.isEmpty }

    /// A readiness with these problems; ready with none.
    public init(problems: [String] = []) { self.problems = problems }
}
