import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A fixed set of threads for slow blocking work (password hashing), off Swift's cooperative pool.
///
/// At most `threads` jobs run at once; the rest wait in order. Plain queries never wait behind a
/// hash because their tasks never run here, and with a positive `niceness` the kernel gives the
/// threads only the CPU time that request handling leaves: hashing fills idle cores without
/// stretching the latency of everything else. The threads exit when the pool is released.
public final class BlockingWorkPool: Sendable {
    private let queue: JobQueue
    /// Starts the threads; taken (and so run once) by the first job. A pool nothing is run on (the engine of a
    /// data load, which hashes nothing) never starts a thread.
    private let starter: Mutex<(@Sendable () -> Void)?>
    /// The number of worker threads.
    public let threads: Int

    /// A pool of `threads` worker threads named `name`, each at `niceness` (0: the process's own priority;
    /// 1–19: lower, as `nice` counts; Linux only, elsewhere ignored), started when the first job is run. A
    /// thread whose priority cannot be lowered says so to `logger` (nil: it is not said).
    public init(threads: Int, name: String = "selfcare.hashing", niceness: Int32 = 0, logger: Logger? = nil) {
        precondition(threads >= 1)
        self.threads = threads
        let queue = JobQueue()
        self.queue = queue
        starter = Mutex({
            for i in 0..<threads {
                let thread = Thread {
                    if niceness != 0 { Self.lowerCurrentThreadPriority(to: niceness, logger: logger) }
                    queue.workLoop()
                }
                thread.name = "\(name).\(i)"
                thread.start()
            }
        })
    }

    deinit { queue.stop() }

    /// Lowers the calling thread's priority to `niceness`. On Linux the nice value is a per-thread
    /// attribute and `PRIO_PROCESS` with id 0 addresses the calling thread alone (not the process).
    private static func lowerCurrentThreadPriority(to niceness: Int32, logger: Logger?) {
        #if os(Linux)
            let which = __priority_which_t(PRIO_PROCESS.rawValue)
            errno = 0
            let current = getpriority(which, 0)
            // Only ever lower: a process started at a lower priority than asked keeps it.
            if errno == 0 && current >= niceness { return }
            if setpriority(which, 0, niceness) != 0 {
                logger?.warning(
                    "cannot lower the hashing threads' priority",
                    metadata: ["error": "\(String(cString: strerror(errno)))"])
            }
        #endif
    }

    /// Runs `work` on a pool thread and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        starter.withLock { start in
            start?()
            start = nil
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.enqueue {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}

/// The jobs waiting for a pool thread. A condition variable rather than a `Mutex`: the threads sleep on it.
// unchecked: `condition` guards `jobs`, `head` and `stopping`; every access holds its lock.
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
