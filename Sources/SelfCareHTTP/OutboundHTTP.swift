import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One outbound HTTP call of the gateway (the order webhook, Kannel's sendsms): no redirect followed (a
/// redirect would carry the bearer token, or the sendsms password, to another host, and turn a `POST` into a
/// `GET` without its body), and a hard deadline on the whole call.
enum OutboundHTTP {
    /// How a call ended.
    enum Outcome: Sendable {
        /// An answer, with its status and the start of its body.
        case answered(status: Int, body: String)
        /// Nothing listened: the request cannot have reached the other end.
        case unreachable(String)
        /// No answer within the deadline, a broken connection, or another error: the request may have arrived.
        case noAnswer(String)
    }

    /// Makes `request` with no redirect followed, giving up after `timeout` seconds.
    ///
    /// Through the completion-handler API, not `URLSession.data(for:)`: cancelling a task that awaits the
    /// latter runs its cancellation handler, which waits for the session's queue while holding the task's
    /// status lock, and when that queue is at the same moment resuming the task (the answer arriving), both
    /// wait for ever. A server stopping with SIGTERM cancels its delivery jobs mid-call and hung that way. Here
    /// nothing cancels from inside Swift concurrency: a cancelled caller still gets its outcome within the
    /// deadline, and the deadline's backstop cancels the call from a dispatch queue.
    static func call(_ request: URLRequest, timeout: TimeInterval) async -> Outcome {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
        var request = request
        request.timeoutInterval = timeout
        let sending = request
        return await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let task = session.dataTask(with: sending) { data, response, error in
                continuation.resume(returning: outcome(of: sending, timeout: timeout, data, response, error))
                session.finishTasksAndInvalidate()
            }
            task.resume()
            // A backstop, should the session's own deadline not fire: the completion handler runs once, with
            // the cancellation's error.
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout + 1) { [weak task] in task?.cancel() }
        }
    }

    /// What a finished call came to.
    private static func outcome(
        of request: URLRequest, timeout: TimeInterval, _ data: Data?, _ response: URLResponse?, _ error: (any Error)?
    ) -> Outcome {
        if let error {
            switch (error as? URLError)?.code {
            case .cannotConnectToHost?, .cannotFindHost?:
                return .unreachable("cannot connect to \(request.url?.host ?? "the host")")
            case .timedOut?, .cancelled?:
                return .noAnswer("no answer within \(Int(timeout)) s")
            case .networkConnectionLost?:
                return .noAnswer("the connection was lost before the answer")
            default:
                return .noAnswer((error as NSError).localizedDescription)
            }
        }
        guard let http = response as? HTTPURLResponse else { return .noAnswer("no HTTP answer") }
        let body = String(decoding: (data ?? Data()).prefix(200), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return .answered(status: http.statusCode, body: body)
    }
}

/// Answers every redirect with the redirect itself: the caller sees a 3xx, never another host.
private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
