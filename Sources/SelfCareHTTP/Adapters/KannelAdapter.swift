import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// Kannel's `sms-service`: `GET|POST /sms/kannel` with `from` (`%p`), `to` (`%P`), `text` (`%a`) and `id`
/// (`%I`), in the query or a form body (or the text as a `text/plain` body). The reply is the body,
/// `text/plain; charset=utf-8`, with `X-Kannel-Coding: 2` when it needs UCS-2 (without it Kannel sends
/// Chinese as `?`; `accept-x-kannel-headers = true` lets Kannel read it).
public struct KannelAdapter: ChannelAdapter {
    public let name = "kannel"
    /// The short code messages are sent to, when `to` is missing.
    public var shortCode = "10010"

    public init() {}

    /// Kannel's fields, in the query or a form body (`text` also as a `text/plain` body).
    struct Message: Decodable {
        var from: String?
        var to: String?
        var text: String?
        var id: String?
    }

    public func register<Context: RequestContext>(
        on router: some RouterMethods<Context>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        let shortCode = self.shortCode
        let handler: @Sendable (Request, Context) async throws -> Response = FormRequest.handler(
            Message.self, configuration, plainText: "text"
        ) { message in
            guard configuration.channels.contains(.sms) else { return Gateway.channelOff(.sms) }
            guard let from = message.from, !from.isEmpty else {
                return Gateway.plain(.badRequest, "missing `from` (Kannel's %p)\n")
            }
            let id = message.id.flatMap { $0.isEmpty ? nil : $0 }
            let to = message.to.flatMap { $0.isEmpty ? nil : $0 }
            if let problem = FieldCheck.first(
                FieldCheck.number(from, field: "from"), id.flatMap { FieldCheck.identifier($0, field: "id") },
                to.flatMap { FieldCheck.code($0, field: "to") })
            {
                return Gateway.plain(.badRequest, problem + "\n")
            }
            let reply = await channels.sms.handle(
                InboundSMS(from: from, to: to ?? shortCode, text: message.text ?? "", id: id))
            var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
            if reply.encoding == .ucs2 { headers[Self.coding] = "2" }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: reply.text)))
        }
        router.get("/sms/kannel", use: handler)
        router.post("/sms/kannel", use: handler)
        // A GET here delivers a message; a HEAD (a monitor's probe) says the route is there and runs nothing.
        router.head("/sms/kannel") { _, _ in Gateway.headOnly("text/plain; charset=utf-8") }
    }

    static let coding = HTTPField.Name("X-Kannel-Coding")!
}
