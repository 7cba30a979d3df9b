/// Runs work for the same key one at a time, in arrival order; different keys run concurrently.
///
/// The SMS channel serialises each sender's messages, so a repeated message id or a burst that
/// crosses the rate limit is decided against the records of the messages before it.
public actor KeyedSerializer {
    private var tails: [String: Task<Void, Never>] = [:]

    /// A serialiser with nothing running.
    public init() {}

    /// Runs `work` after every earlier call with the same `key` has finished.
    public func run<T: Sendable>(_ key: String, _ work: @escaping @Sendable () async -> T) async -> T {
        let previous = tails[key]
        let task = Task<T, Never> {
            await previous?.value
            return await work()
        }
        let tail = Task<Void, Never> { _ = await task.value }
        tails[key] = tail
        let result = await task.value
        if tails[key] == tail { tails[key] = nil }
        return result
    }
}
