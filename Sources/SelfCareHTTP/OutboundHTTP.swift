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
    static func call(_ request: URLRequest, timeout: TimeInterval) async -> Outcome {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
        defer { session.invalidateAndCancel() }
        var request = request
        request.timeoutInterval = timeout
        let sending = request
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                do {
                    let (data, response) = try await session.data(for: sending)
                    guard let http = response as? HTTPURLResponse else { return .noAnswer("no HTTP answer") }
                    let body = String(decoding: data.prefix(200), as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    return .answered(status: http.statusCode, body: body)
                } catch let error as URLError where error.code == .cannotConnectToHost || error.code == .cannotFindHost
                {
                    return .unreachable("cannot connect to \(sending.url?.host ?? "the host")")
                } catch let error as URLError where error.code == .timedOut {
                    return .noAnswer("no answer within \(Int(timeout)) s")
                } catch let error as URLError where error.code == .networkConnectionLost {
                    return .noAnswer("the connection was lost before the answer")
                } catch {
                    return .noAnswer((error as NSError).localizedDescription)
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(timeout + 1))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            session.invalidateAndCancel()
            return first ?? .noAnswer("no answer within \(Int(timeout)) s")
        }
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
