import Foundation
import WharfDatabase

/// Health, version, and the document itself.
struct SystemAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "getHealth": health, "getVersion": version, "getOpenAPIJSON": documentJSON, "getOpenAPIYAML": documentYAML,
            "getLDAPStatus": ldapStatus,
        ]
    }

    struct Health: Encodable {
        var status = "ok"
        var database: String
        var catalogue: String
    }

    func health(_ request: APIRequest) async throws -> APIResponse {
        let database = api.pool.health.isReady ? "ok" : "unavailable"
        let catalogue = api.services.catalog.state.isCurrent ? "current" : "stale"
        return try .json(Health(database: database, catalogue: catalogue))
    }

    struct Version: Encodable {
        var version: String
        var api: String
    }

    func version(_ request: APIRequest) async throws -> APIResponse {
        try .json(Version(version: WharfVersion.string, api: "1"))
    }

    /// The LDAP directory's state and the last group sync pass (administrators only).
    func ldapStatus(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        return try .json(await DirectoryReport.current(settings: api.services.configuration.ldap, logins: api.tokens.authenticator.directory))
    }

    func documentJSON(_ request: APIRequest) async throws -> APIResponse {
        let document = try APIDocument.shipped.get()
        return APIResponse(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"], body: document.json)
    }

    func documentYAML(_ request: APIRequest) async throws -> APIResponse {
        let document = try APIDocument.shipped.get()
        return APIResponse(
            status: .ok,
            headers: [.contentType: "application/yaml", .cacheControl: "public, max-age=300"],
            body: Data(document.yaml.utf8)
        )
    }
}
