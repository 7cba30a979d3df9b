import Hummingbird

/// Routes served beside the channels' and the operators' own: the web console. Each set adds its routes to the
/// gateway's router, over the same channels and settings.
public protocol GatewayRoutes: Sendable {
    /// Adds the routes to `router`.
    func register(
        on router: Router<BasicRequestContext>, channels: GatewayChannels, configuration: GatewayConfiguration)
}
