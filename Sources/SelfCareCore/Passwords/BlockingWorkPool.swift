import Foundation

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
    /// The number of worker threads.
    public let threads: Int

    /// Starts `threads` worker threads named `name`, each at `niceness` (0: the process's own
    /// priority; 1–19: lower, as `nice` counts; Linux only, elsewhere ignored).
    public init(threads: Int, name: String = "selfcare.hashing", niceness: Int32 = 0) {
        precondition(threads >= 1)
        self.threads = threads
        let queue = JobQueue()
        self.queue = queue
        for i in 0..<threads {
            let thread = Thread {
                if niceness != 0 { Self.lowerCurrentThreadPriority(to: niceness) }
                queue.workLoop()
            }
            thread.name = "\(name).\(i)"
            thread.start()
        }
    }

    deinit { queue.stop() }

    /// Lowers the calling thread's priority to `niceness` (Linux keeps a nice value per thread,
    /// addressed by its thread id).
    private static func lowerCurrentThreadPriority(to niceness: Int32) {
        #if os(Linux)
            var buffer = [CChar](repeating: 0, count: 64)
            // "/proc/thread-self" links to "<pid>/task/<tid>": the thread id without a syscall wrapper.
            let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
            guard count > 0 else { return }
            let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let last = link.split(separator: "/").last, let tid = id_t(last) else { return }
            let which = __priority_which_t(PRIO_PROCESS.rawValue)
            errno = 0
            let current = getpriority(which, tid)
            // Only ever lower: a process started at a lower priority than asked keeps it.
            if errno == 0 && current >= niceness { return }
            _ = setpriority(which, tid, niceness)
        #endif
    }

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
