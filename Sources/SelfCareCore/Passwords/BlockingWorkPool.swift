import Foundation

/// A fixed set of threads for slow blocking work (password hashing), off Swift's cooperative pool.
///
/// At most `threads` jobs run at once; the rest wait in order. Plain queries never wait behind a
/// hash because their tasks never run here. The threads exit when the pool is released.
public final class BlockingWorkPool: Sendable {
    private let queue: JobQueue
    /// The number of worker threads.
    public let threads: Int

    /// Starts `threads` worker threads named `name`.
    public init(threads: Int, name: String = "selfcare.hashing") {
        precondition(threads >= 1)
        self.threads = threads
        let queue = JobQueue()
        self.queue = queue
        for i in 0..<threads {
            let thread = Thread { queue.workLoop() }
            thread.name = "\(name).\(i)"
            thread.start()
        }
    }

    deinit { queue.stop() }

    /// Runs `work` on a pool thread and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.enqueue {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}

private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var stopping = false

    func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    func workLoop() {
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head >= 64 && head * 2 >= jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
        }
    }
}
