import Foundation
import Hummingbird
import WharfAuth
import WharfCore
import WharfDatabase
import WharfSync

/// `/n/NS/retention` and `/admin/retention`: a namespace's retention policy (members see it and preview it, owners
/// and admins change it, clear it and run it) and the global default (admins). The preview evaluates what the form
/// holds before it is saved. The rules are ``RetentionAccess``'s, the work ``RetentionService``'s, as in the API.
struct RetentionPages<Context: WharfContext>: Sendable {
    let portal: Portal

    /// The most removals a preview lists (the count says how many there are in all).
    static var previewLimit: Int { 500 }

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/n/:namespace/retention", use: showNamespace)
        router.post("/n/:namespace/retention", use: saveNamespace)
        router.post("/n/:namespace/retention/clear", use: clearNamespace)
        router.post("/n/:namespace/retention/run", use: runNamespace)
        router.get("/admin/retention", use: showGlobal)
        router.post("/admin/retention", use: saveGlobal)
        router.post("/admin/retention/clear", use: clearGlobal)
        router.post("/admin/retention/run", use: runGlobal)
    }

    var service: RetentionService { portal.services.services.retention }

    static func url(_ namespace: String?) -> String {
        namespace.map { PortalFormat.namespaceURL($0) + "/retention" } ?? "/admin/retention"
    }

    @Sendable func showNamespace(_ request: Request, context: Context) async throws -> Response {
        try await show(context.parameters.get("namespace") ?? "", request: request, context: context)
    }

    @Sendable func saveNamespace(_ request: Request, context: Context) async throws -> Response {
        try await save(context.parameters.get("namespace") ?? "", request: request, context: context)
    }

    @Sendable func clearNamespace(_ request: Request, context: Context) async throws -> Response {
        try await clear(context.parameters.get("namespace") ?? "", request: request, context: context)
    }

    @Sendable func runNamespace(_ request: Request, context: Context) async throws -> Response {
        try await run(context.parameters.get("namespace") ?? "", request: request, context: context)
    }

    @Sendable func showGlobal(_ request: Request, context: Context) async throws -> Response {
        try await show(nil, request: request, context: context)
    }

    @Sendable func saveGlobal(_ request: Request, context: Context) async throws -> Response {
        try await save(nil, request: request, context: context)
    }

    @Sendable func clearGlobal(_ request: Request, context: Context) async throws -> Response {
        try await clear(nil, request: request, context: context)
    }

    @Sendable func runGlobal(_ request: Request, context: Context) async throws -> Response {
        try await run(nil, request: request, context: context)
    }

    // MARK: Actions

    func show(_ namespace: String?, request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        _ = try visit.caller.requireUser()
        // The global page is an administration page (its preview lists every namespace's repositories).
        try await authorize(namespace == nil ? .change : .view, namespace, visit)
        var preview: RetentionReport?
        if request.uri.queryParameters.get("preview") != nil { preview = try await service.run(namespace: namespace, dryRun: true) }
        return try await page(namespace, request: request, context: context, preview: preview)
    }

    /// Saves the form, or (the Preview button) shows what it would remove without saving it.
    func save(_ namespace: String?, request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        _ = try visit.caller.requireUser()
        let form = visit.form
        let typed = Self.typed(form)
        do {
            try await authorize(.change, namespace, visit)
            let policy = try Self.policy(from: form)
            if form["action"] == "preview" {
                let report = try await service.preview(policy, namespace: namespace)
                return try await page(namespace, request: request, context: context, typed: typed, preview: report, previewOfForm: true)
            }
            try await service.set(namespace: namespace, policy, by: visit.caller.subject.name)
        } catch {
            guard let shown = PortalError.from(error), shown.status.code < 500 else { throw error }
            let field = (error as? RetentionError)?.field
            return try await page(
                namespace,
                request: request,
                context: context,
                status: shown.status,
                typed: typed,
                error: shown.message,
                errorField: field
            )
        }
        let what = namespace.map { "Retention policy of \($0) saved" } ?? "Global retention policy saved"
        return portal.redirect(
            to: Self.url(namespace),
            flash: .notice(what + "; every replica follows within seconds."),
            request: request,
            context: context
        )
    }

    func clear(_ namespace: String?, request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        _ = try visit.caller.requireUser()
        try await authorize(.change, namespace, visit)
        let removed = try await service.clear(namespace: namespace)
        let message =
            namespace == nil
            ? (removed ? "Global retention policy removed: namespaces without their own keep everything." : "There was no global policy.")
            : (removed ? "Policy removed: the global default applies now." : "The namespace had no policy of its own.")
        return portal.redirect(to: Self.url(namespace), flash: .notice(message), request: request, context: context)
    }

    func run(_ namespace: String?, request: Request, context: Context) async throws -> Response {
        let visit = context.portal
        _ = try visit.caller.requireUser()
        try await authorize(.change, namespace, visit)
        let report = try await service.run(namespace: namespace, dryRun: false)
        let count = report.removals.count
        let message =
            "Retention run: \(count) \(count == 1 ? "removal" : "removals") in \(report.repositories) \(report.repositories == 1 ? "repository" : "repositories")."
        return portal.redirect(to: Self.url(namespace), flash: .notice(message), request: request, context: context)
    }

    func authorize(_ need: RetentionAccess.Need, _ namespace: String?, _ visit: PortalVisit) async throws {
        do {
            try await service.authorize(need, namespace: namespace, caller: visit.caller.subject, rules: portal.services.rules)
        } catch let error as RetentionError where error.code == .denied && namespace == nil {
            throw PortalError.forbidden(error.message)
        }
    }

    // MARK: The form

    /// What the form holds, as typed (shown again after an error or with a preview).
    static func typed(_ form: PortalForm) -> [String: String] {
        var values: [String: String] = [:]
        for field in ["keep_latest", "older_than_days", "tag_match", "tag_exclude", "untagged_older_than_days", "protected", "immutable"] {
            values[field] = form[field] ?? ""
        }
        values["enabled"] = form.checked("enabled") ? "1" : ""
        return values
    }

    /// The policy the form describes; a number that is not one is refused naming the field.
    static func policy(from form: PortalForm) throws -> RetentionPolicy {
        func number(_ field: String) throws -> Int? {
            guard let text = form[field], !text.isEmpty else { return nil }
            guard let value = Int(text) else {
                throw RetentionError(.invalidPolicy, "\(field) must be a whole number, not \(text)", field: field)
            }
            return value
        }
        func pattern(_ field: String) -> String? { form[field].flatMap { $0.isEmpty ? nil : $0 } }
        return try RetentionPolicy(
            enabled: form.checked("enabled"),
            keepLatest: number("keep_latest"),
            olderThanDays: number("older_than_days"),
            tagMatch: pattern("tag_match"),
            tagExclude: pattern("tag_exclude"),
            untaggedOlderThanDays: number("untagged_older_than_days"),
            protected: pattern("protected"),
            immutable: pattern("immutable")
        ).validated()
    }

    static func fields(_ policy: RetentionPolicy) -> [String: String] {
        [
            "enabled": policy.enabled ? "1" : "", "keep_latest": policy.keepLatest.map(String.init) ?? "",
            "older_than_days": policy.olderThanDays.map(String.init) ?? "", "tag_match": policy.tagMatch ?? "",
            "tag_exclude": policy.tagExclude ?? "", "untagged_older_than_days": policy.untaggedOlderThanDays.map(String.init) ?? "",
            "protected": policy.protected ?? "", "immutable": policy.immutable ?? "",
        ]
    }

    /// The page: what applies and why, the form for those who may change it, and a preview when asked.
    func page(
        _ namespace: String?,
        request: Request,
        context: Context,
        status: HTTPResponse.Status = .ok,
        typed: [String: String]? = nil,
        error: String? = nil,
        errorField: String? = nil,
        preview: RetentionReport? = nil,
        previewOfForm: Bool = false
    ) async throws -> Response {
        let visit = context.portal
        let (own, effective) = try await service.show(namespace: namespace)
        var manage = true
        do { try await authorize(.change, namespace, visit) } catch { manage = false }
        let url = Self.url(namespace)
        var values: [String: Any] = [
            "url": url,
            "global": namespace == nil,
            "manage": manage,
            "hasOwn": own != nil,
            "defaultProtected": RetentionPolicy.defaultProtected,
        ]
        if let namespace {
            values["name"] = namespace
            values["namespaceURL"] = PortalFormat.namespaceURL(namespace)
        }
        if let effective {
            values["summary"] = effective.policy.summary
            values["source"] =
                effective.namespaceID == nil
                ? (namespace == nil ? "The global default" : "The global default applies: this namespace has no policy of its own.")
                : "This namespace's own policy."
            values["updated"] = "Changed by \(effective.updatedBy) on \(PortalFormat.day(effective.updatedAt))"
            values["updatedISO"] = PortalFormat.iso(effective.updatedAt)
        }
        // The form starts from what is typed, else the namespace's own policy, else a new policy's defaults.
        var field = typed ?? Self.fields(own?.policy ?? RetentionPolicy())
        if own == nil, typed == nil, let effective { field = Self.fields(effective.policy) }
        values["form"] = field
        // The read-only view: every rule, a dash where it is unset.
        values["rules"] = [
            ("Keep the most recent", "keep_latest", false), ("Older than (days)", "older_than_days", false),
            ("Only tags matching", "tag_match", true), ("Never tags matching", "tag_exclude", true),
            ("Untagged older than (days)", "untagged_older_than_days", false), ("Protected", "protected", true),
            ("Immutable", "immutable", true),
        ].map { label, key, mono -> [String: Any] in
            let value = field[key] ?? ""
            return ["label": label, "value": value.isEmpty ? "-" : value, "mono": mono && !value.isEmpty, "unset": value.isEmpty]
        }
        values["enabledChecked"] = field["enabled"] == "1"
        if let error {
            values["error"] = error
            if let errorField {
                let css = errorField.replacingOccurrences(of: "_", with: "-")
                values["errorField"] = [css: true]
                // On a phone the field may be far below: the top of the form says where to look.
                values["errorLink"] = "#retention-" + css
            } else {
                values["generalError"] = error
            }
        }
        if let preview {
            let rows = preview.removals.prefix(Self.previewLimit).map { removal -> [String: Any] in
                [
                    "reference": removal.reference, "kind": removal.kind == .tag ? "tag" : "manifest", "reason": removal.reason,
                    "repositoryURL": PortalFormat.repositoryURL(removal.repository),
                ]
            }
            var shown: [String: Any] = [
                "rows": rows, "count": preview.removals.count,
                "repositories": "\(preview.repositories) \(preview.repositories == 1 ? "repository" : "repositories")",
                "ofForm": previewOfForm, "word": preview.removals.count == 1 ? "removal" : "removals",
            ]
            if preview.removals.count > Self.previewLimit { shown["more"] = preview.removals.count - Self.previewLimit }
            values["preview"] = shown
        }
        var title = namespace.map { "Retention · \($0)" } ?? "Retention"
        if preview != nil { title += " · preview" }
        if namespace == nil { values["section"] = ["retention": true] }
        return await portal.page(
            "retention",
            title: title,
            visit: visit,
            request: request,
            context: context,
            nav: namespace == nil ? "admin" : "explore",
            status: status,
            values: values
        )
    }
}
