import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Prometheus
import SelfCareChannels
import SelfCareCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Once the store reports a fault (its database file removed or replaced), answers every request but the health,
/// readiness and metrics endpoints with 503 and the reason, and logs it once: nothing written from then on could
/// be kept.
final class StoreFaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let engine: OperationEngine
    private let logged = Mutex(false)

    init(engine: OperationEngine) { self.engine = engine }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch request.uri.path {
        case "/healthz", "/readyz", "/metrics": return try await next(request, context)
        default: break
        }
        guard let fault = engine.storeFault() else { return try await next(request, context) }
        let first = logged.withLock { logged in
            defer { logged = true }
            return !logged
        }
        if first { context.logger.critical("\(fault)") }
        return Gateway.plain(.serviceUnavailable, "the gateway cannot keep records: \(fault)\n")
    }
}

/// Counts requests by route and status and times them: `selfcare_http_requests_total{route, status}` and
/// `selfcare_http_request_duration_seconds{route}`. Unknown paths share the route `unknown`.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        let started = ContinuousClock.now
        let status: HTTPResponse.Status
        let response: Response
        do {
            response = try await next(request, context)
            status = response.status
        } catch {
            status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(context.endpointPath ?? "unknown", status, .now - started)
            throw error
        }
        record(context.endpointPath ?? "unknown", status, .now - started)
        return response
    }

    private func record(_ route: String, _ status: HTTPResponse.Status, _ elapsed: Duration) {
        Counter(
            label: "selfcare_http_requests_total", dimensions: [("route", route), ("status", String(status.code))],
            factory: factory
        ).increment()
        Timer(label: "selfcare_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .record(duration: elapsed)
    }
}

/// Whether `error`, from collecting a request body, says the body is over the limit (as opposed to a body that
/// could not be read at all).
func isOverLimit(_ error: any Error) -> Bool {
    error is NIOTooManyBytesError || (error as? HTTPError)?.status == .contentTooLarge
}
