import Hummingbird
import WharfAuth

/// The application `buildApplication` returns and the services it wired into it. Only tests look inside: they
/// drive `application` as `wharf serve` would and use the services to arrange what no route offers yet (users,
/// teams, an upload started an hour ago) or to check a token's claims.
struct AssembledApplication<App: ApplicationProtocol> {
    let application: App
    let services: WharfServices
    /// nil with `auth.enabled: off`.
    let tokens: TokenService?
}
