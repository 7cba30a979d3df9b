import Foundation
import HTTPTypes
import Hummingbird
import SelfCareChannels
import SelfCareCore

/// Plugs one gateway's wire protocol (Kannel, a USSD aggregator, a voice browser, …) into SelfCare's
/// channels: it adds its routes to a router and turns each request into channel calls.
///
/// Implementation requirements — `AdapterConformance` in `SelfCareTesting` checks each of them:
/// - **Idempotency.** A gateway retries; a retry must not run an operation twice. Message adapters
///   pass the gateway's message id to the SMS channel (`InboundSMS.id`), which applies a repeated id
///   once. Session adapters answer a repeated request (same session, same input) with the same screen
///   without handling the input again.
/// - **Screen limits.** A reply fits its unit: an SMS reply its parts (`SMSConfiguration.partCap`
///   parts of 67 UCS-2 or 153 GSM 7-bit characters), a USSD screen 80 UCS-2 or 182 GSM characters
///   (`USSDConfiguration`). The channels size their texts; an adapter must not add to them beyond its
///   protocol's framing (`CON `/`END `).
/// - **Never echo password digits.** A response carries only what the channels return; never the
///   request's text, digits or fields.
/// - **Customer mistakes are replies, not errors.** Unknown text, a wrong key or a refused operation is
///   a 200 with the polite reply: a gateway turns an HTTP error into a canned failure text.
/// - **Malformed requests are refused clearly.** A missing field or a body of the wrong type gets a 4xx
///   with a one-line reason (`Gateway.plain`), a body over `GatewayConfiguration.maxBodyBytes` gets
///   413 (`FormRequest.handler` does both for form routes, `JSONAPI.decode` for JSON ones), and invalid
///   UTF-8 is replaced, never a crash or a 5xx.
/// - Adapters are values: `register` may be called once per router, and the adapter keeps no
///   per-request state of its own outside actors.
///
/// What tools need to drive an adapter (how a customer's action looks on its wire, what the customer gets
/// from a response) is not part of it: that is an `AdapterProbe`, in `SelfCareTesting`.
public protocol ChannelAdapter: Sendable {
    /// A short name for messages: `kannel`, `ussd-at`, `vxml`.
    var name: String { get }
    /// Adds the adapter's routes to `router`: the gateway's router, or a group or route collection of any
    /// request context (a prefix, a middleware of the integrator's own).
    func register<Context: RequestContext>(
        on router: some RouterMethods<Context>, channels: GatewayChannels, configuration: GatewayConfiguration)
}
