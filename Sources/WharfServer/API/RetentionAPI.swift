import Foundation
import WharfAuth
import WharfCore
import WharfDatabase
import WharfSync

/// `/namespaces/{namespace}/retention`, `/retention` and `/retention/runs`: retention policies and their runs
/// (``RetentionService``; ``RetentionAccess`` decides who).
struct RetentionAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        [
            "getNamespaceRetention": getNamespace, "setNamespaceRetention": setNamespace, "deleteNamespaceRetention": deleteNamespace,
            "getGlobalRetention": getGlobal, "setGlobalRetention": setGlobal, "deleteGlobalRetention": deleteGlobal, "runRetention": run,
        ]
    }

    var service: RetentionService { api.services.retention }

    /// A policy as the API writes it: every field present, unset ones null.
    struct PolicyBody: Codable {
        var enabled: Bool
        var keepLatest: Int?
        var olderThanDays: Int?
        var tagMatch: String?
        var tagExclude: String?
        var untaggedOlderThanDays: Int?
        var protected: String?
        var immutable: String?

        init(_ policy: RetentionPolicy) {
            enabled = policy.enabled
            keepLatest = policy.keepLatest
            olderThanDays = policy.olderThanDays
            tagMatch = policy.tagMatch
            tagExclude = policy.tagExclude
            untaggedOlderThanDays = policy.untaggedOlderThanDays
            protected = policy.protected
            immutable = policy.immutable
        }

        /// A PUT replaces the policy: a field left out takes its default (enabled, `protected` the default pattern,
        /// the rest unset); `null` unsets it.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
            keepLatest = try container.decodeIfPresent(Int.self, forKey: .keepLatest)
            olderThanDays = try container.decodeIfPresent(Int.self, forKey: .olderThanDays)
            tagMatch = try container.decodeIfPresent(String.self, forKey: .tagMatch)
            tagExclude = try container.decodeIfPresent(String.self, forKey: .tagExclude)
            untaggedOlderThanDays = try container.decodeIfPresent(Int.self, forKey: .untaggedOlderThanDays)
            protected =
                container.contains(.protected) ? try container.decodeIfPresent(String.self, forKey: .protected) : RetentionPolicy.defaultProtected
            immutable = try container.decodeIfPresent(String.self, forKey: .immutable)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(enabled, forKey: .enabled)
            try container.encode(keepLatest, forKey: .keepLatest)
            try container.encode(olderThanDays, forKey: .olderThanDays)
            try container.encode(tagMatch, forKey: .tagMatch)
            try container.encode(tagExclude, forKey: .tagExclude)
            try container.encode(untaggedOlderThanDays, forKey: .untaggedOlderThanDays)
            try container.encode(protected, forKey: .protected)
            try container.encode(immutable, forKey: .immutable)
        }

        enum CodingKeys: String, CodingKey {
            case enabled, keepLatest, olderThanDays, tagMatch, tagExclude, untaggedOlderThanDays, protected, immutable
        }

        var policy: RetentionPolicy {
            RetentionPolicy(
                enabled: enabled,
                keepLatest: keepLatest,
                olderThanDays: olderThanDays,
                tagMatch: tagMatch,
                tagExclude: tagExclude,
                untaggedOlderThanDays: untaggedOlderThanDays,
                protected: protected,
                immutable: immutable
            )
        }
    }

    /// What applies to a namespace (or the global default) and where it comes from.
    struct RetentionBody: Encodable {
        var namespace: String?
        var policy: PolicyBody?
        var effective: PolicyBody?
        /// `namespace`, `global` or null (no policy: nothing is removed).
        var effectiveSource: String?
        var updatedBy: String?
        var updatedAt: Date?

        init(namespace: String?, own: StoredRetentionPolicy?, effective: StoredRetentionPolicy?) {
            self.namespace = namespace
            policy = own.map { PolicyBody($0.policy) }
            self.effective = effective.map { PolicyBody($0.policy) }
            effectiveSource = effective.map { $0.namespaceID == nil ? "global" : "namespace" }
            updatedBy = own?.updatedBy
            updatedAt = own?.updatedAt
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(namespace, forKey: .namespace)
            try container.encode(policy, forKey: .policy)
            try container.encode(effective, forKey: .effective)
            try container.encode(effectiveSource, forKey: .effectiveSource)
            try container.encode(updatedBy, forKey: .updatedBy)
            try container.encode(updatedAt, forKey: .updatedAt)
        }

        enum CodingKeys: String, CodingKey {
            case namespace, policy, effective, effectiveSource, updatedBy, updatedAt
        }
    }

    func show(_ namespace: String?, _ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        try await service.authorize(.view, namespace: namespace, caller: request.caller.subject, rules: api.rules)
        let (own, effective) = try await service.show(namespace: namespace)
        return try .json(RetentionBody(namespace: namespace, own: own, effective: effective))
    }

    func set(_ namespace: String?, _ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        try await service.authorize(.change, namespace: namespace, caller: request.caller.subject, rules: api.rules)
        let body = try request.decode(PolicyBody.self)
        try await service.set(namespace: namespace, body.policy, by: request.caller.subject.name)
        return try await show(namespace, request)
    }

    func clear(_ namespace: String?, _ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        try await service.authorize(.change, namespace: namespace, caller: request.caller.subject, rules: api.rules)
        try await service.clear(namespace: namespace)
        return .noContent
    }

    func getNamespace(_ request: APIRequest) async throws -> APIResponse { try await show(request.path("namespace"), request) }
    func setNamespace(_ request: APIRequest) async throws -> APIResponse { try await set(request.path("namespace"), request) }
    func deleteNamespace(_ request: APIRequest) async throws -> APIResponse { try await clear(request.path("namespace"), request) }
    func getGlobal(_ request: APIRequest) async throws -> APIResponse { try await show(nil, request) }
    func setGlobal(_ request: APIRequest) async throws -> APIResponse { try await set(nil, request) }
    func deleteGlobal(_ request: APIRequest) async throws -> APIResponse { try await clear(nil, request) }

    struct RunBody: Decodable {
        var namespace: String?
        var dryRun: Bool?
    }

    /// A run (or, `dry_run`, a preview) of one namespace's policy, or of every policy (admins).
    func run(_ request: APIRequest) async throws -> APIResponse {
        _ = try request.requireUser()
        let body = try request.decode(RunBody.self)
        let dryRun = body.dryRun ?? true
        // A preview of every namespace would show repositories the caller may not see: admins only, like a run.
        let need: RetentionAccess.Need = dryRun && body.namespace != nil ? .view : .change
        try await service.authorize(need, namespace: body.namespace, caller: request.caller.subject, rules: api.rules)
        let report = try await service.run(namespace: body.namespace, dryRun: dryRun)
        return try .json(report)
    }
}
