import Foundation
import WharfAuth
import WharfDatabase
import WharfSync

/// The domain services the API's handlers call: the same ones the CLI and the portal use, so a rule lives in one
/// place whichever surface asks.
struct APIServices: Sendable {
    let accounts: AccountService
    let organizations: OrganizationService
    let tokens: TokenService
    let webhooks: WebhookService
    let scopedTokens: ScopedTokenService
    let reader: CatalogReader
    let stars: StarService
    let comments: CommentService
    let services: WharfServices
    let startedAt: Date

    var pool: DatabasePool { services.database }
    var rules: PermissionRules { tokens.authorizer.rules }

    /// Every handler of the document's operations, by operation id.
    var handlers: [String: APIHandler] {
        var all: [String: APIHandler] = [:]
        for group in [
            SystemAPI(api: self).handlers, UsersAPI(api: self).handlers, MeAPI(api: self).handlers, TeamsAPI(api: self).handlers,
            NamespacesAPI(api: self).handlers, ActivitiesAPI(api: self).handlers, WebhooksAPI(api: self).handlers,
            RepositoriesAPI(api: self).handlers, ScopedTokensAPI(api: self).handlers, CatalogAPI(api: self).handlers,
            RetentionAPI(api: self).handlers,
            GCAPI(api: self).handlers,
        ] {
            all.merge(group) { first, _ in first }
        }
        return all
    }
}
