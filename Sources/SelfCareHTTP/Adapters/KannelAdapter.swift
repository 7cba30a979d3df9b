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
    public let style = AdapterStyle.message
    /// The short code messages are sent to, when `to` is missing.
    public var shortCode = "10010"

    public init() {}

    public func register(
        on router: Router<BasicRequestContext>, channels: GatewayChannels, configuration: GatewayConfiguration
    ) {
        let shortCode = self.shortCode
        let handler = FormFields.handler(configuration) { fields in
            guard configuration.channels.contains(.sms) else { return Gateway.channelOff(.sms) }
            guard let from = fields["from"], !from.isEmpty else {
                return Gateway.plain(.badRequest, "missing `from` (Kannel's %p)\n")
            }
            if let problem = FieldCheck.first(
                FieldCheck.number(from, field: "from"), fields["id"].flatMap { FieldCheck.identifier($0, field: "id") },
                fields["to"].flatMap { FieldCheck.code($0, field: "to") })
            {
                return Gateway.plain(.badRequest, problem + "\n")
            }
            let reply = await channels.sms.handle(
                InboundSMS(
                    from: from, to: fields["to"].flatMap { $0.isEmpty ? nil : $0 } ?? shortCode,
                    text: fields["text"] ?? "", id: fields["id"].flatMap { $0.isEmpty ? nil : $0 }))
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

    public func request(for action: CustomerAction) -> AdapterRequest {
        let text: String
        switch action.kind {
        case .message(let t), .keys(let t): text = t
        case .open, .noInput: text = ""
        }
        let query = AdapterRequest.formEncode([
            ("from", action.caller), ("to", shortCode), ("text", text), ("id", action.id),
        ])
        return AdapterRequest(method: .get, uri: "/sms/kannel?" + query)
    }

    public func reply(to response: AdapterResponse, for action: CustomerAction) throws -> AdapterReply {
        guard response.status == .ok else { throw AdapterReplyError("HTTP \(response.status.code): \(response.text)") }
        let text = response.text
        let needsUCS2 = SMSSegmenter.encoding(of: text) == .ucs2
        if needsUCS2 != (response.headers[Self.coding] == "2") {
            throw AdapterReplyError("X-Kannel-Coding does not match the reply (UCS-2 needed: \(needsUCS2))")
        }
        return AdapterReply(text: text, ends: true)
    }
}
