import Foundation
import Hummingbird
import WharfCore
import WharfDatabase
import WharfSync

/// A namespace's webhooks: `/n/NS/webhooks` (list and create) and `/n/NS/webhooks/NAME` (edit, enable, test,
/// delete, deliveries with re-send). Only the namespace's managers and administrators see them, as on the API;
/// anyone else gets the namespace's 404. A new or rotated secret is shown once, on the page that follows.
struct WebhookPages<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/n/:namespace/webhooks", use: list)
        router.post("/n/:namespace/webhooks", use: create)
        router.get("/n/:namespace/webhooks/:name", use: show)
        router.post("/n/:namespace/webhooks/:name", use: update)
        router.post("/n/:namespace/webhooks/:name/enabled", use: setEnabled)
        router.post("/n/:namespace/webhooks/:name/test", use: test)
        router.post("/n/:namespace/webhooks/:name/delete", use: delete)
        router.post("/n/:namespace/webhooks/:name/deliveries/:delivery/resend", use: resend)
    }

    private func namespace(_ context: Context) async throws -> String {
        guard context.portal.user != nil else { throw PortalError.signInRequired }
        let name = context.parameters.get("namespace") ?? ""
        try await NamespacesAPI(api: portal.services).requireManager(name, caller: context.portal.caller)
        return name
    }

    private func url(_ namespace: String, _ name: String? = nil) -> String {
        PortalFormat.namespaceURL(namespace) + "/webhooks" + (name.map { "/" + Portal.segment($0) } ?? "")
    }

    // MARK: List and create

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let namespace = try await namespace(context)
        return try await listPage(namespace: namespace, request: request, context: context, error: nil, typed: PortalForm(), status: .ok)
    }

    private func listPage(
        namespace: String,
        request: Request,
        context: Context,
        error: String?,
        typed: PortalForm,
        status: HTTPResponse.Status
    )
        async throws -> Response
    {
        let listings = try await portal.services.webhooks.list(namespace: namespace)
        var values: [String: Any] = [
            "namespace": namespace, "namespaceURL": PortalFormat.namespaceURL(namespace), "action": url(namespace),
            "webhooks": listings.map { listing -> [String: Any] in
                let hook = listing.webhook
                return [
                    "name": hook.name, "url": hook.url, "link": url(namespace, hook.name), "enabled": hook.enabled,
                    "events": Self.events(hook).joined(separator: ", "),
                    "delivered": listing.deliveries[.delivered] ?? 0, "failed": listing.deliveries[.failed] ?? 0,
                    "pending": listing.deliveries[.pending] ?? 0,
                ]
            },
            "form": [
                "name": typed["name"] ?? "", "url": typed["url"] ?? "", "headers": typed.raw("headers") ?? "", "username": typed["username"] ?? "",
            ],
            "eventChoices": Self.eventChoices(selected: typed.fields.isEmpty ? nil : typed.all("events")),
        ]
        if let error { values["error"] = error }
        return await portal.page(
            "webhooks",
            title: "Webhooks of \(namespace)",
            visit: context.portal,
            request: request,
            context: context,
            status: status,
            values: values
        )
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let namespace = try await namespace(context)
        let form = context.portal.form
        let settings = WebhookService.Settings(
            url: form["url"] ?? "",
            events: form.all("events").joined(separator: ","),
            username: form["username"].flatMap { $0.isEmpty ? nil : $0 },
            password: form.raw("password").flatMap { $0.isEmpty ? nil : $0 },
            headers: Self.headerLines(form.raw("headers") ?? ""),
            enabled: true
        )
        do {
            let created = try await portal.services.webhooks.create(
                namespace: namespace,
                name: form["name"] ?? "",
                settings: settings,
                actor: context.portal.caller.actor
            )
            return await secretPage(namespace: namespace, hook: created.webhook, secret: created.secret, request: request, context: context)
        } catch let error as WebhookError {
            return try await listPage(
                namespace: namespace,
                request: request,
                context: context,
                error: error.message,
                typed: form,
                status: .unprocessableContent
            )
        }
    }

    private func secretPage(namespace: String, hook: Webhook, secret: String, request: Request, context: Context) async -> Response {
        await portal.page(
            "webhook-secret",
            title: "Webhook \(hook.name)",
            visit: context.portal,
            request: request,
            context: context,
            values: ["namespace": namespace, "name": hook.name, "secret": secret, "link": url(namespace, hook.name)]
        )
    }

    // MARK: One webhook

    private func webhook(_ context: Context) async throws -> (String, Webhook) {
        let namespace = try await namespace(context)
        let name = context.parameters.get("name") ?? ""
        guard let listing = try await portal.services.webhooks.list(namespace: namespace).first(where: { $0.webhook.name == name }) else {
            throw PortalError.notFound("Namespace \(namespace) has no webhook named \(name).")
        }
        return (namespace, listing.webhook)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let (namespace, hook) = try await webhook(context)
        return try await showPage(namespace: namespace, hook: hook, request: request, context: context, error: nil, status: .ok)
    }

    private func showPage(
        namespace: String,
        hook: Webhook,
        request: Request,
        context: Context,
        error: String?,
        status: HTTPResponse.Status
    ) async throws
        -> Response
    {
        let deliveries = try await portal.services.webhooks.deliveries(namespace: namespace, name: hook.name, limit: 20)
        let now = Date()
        let base = url(namespace, hook.name)
        var values: [String: Any] = [
            "namespace": namespace, "namespaceURL": PortalFormat.namespaceURL(namespace), "webhooksURL": url(namespace),
            "name": hook.name, "url": hook.url, "enabled": hook.enabled, "username": hook.username ?? "",
            // Names only: header values often carry credentials, and the API does not show them either.
            "headerNames": WebhookHeaders.decode(hook.headers).map(\.name).joined(separator: ", "),
            "eventChoices": Self.eventChoices(selected: Self.events(hook)),
            "action": base, "enableAction": base + "/enabled", "testAction": base + "/test", "deleteAction": base + "/delete",
            "deliveries": deliveries.map { delivery, attempts -> [String: Any] in
                let last = attempts.last
                return [
                    "id": delivery.id, "event": delivery.event, "state": delivery.state.rawValue, "attempts": delivery.attempts,
                    "stateClass": delivery.state == .delivered ? "success" : delivery.state == .failed ? "danger" : "warning",
                    "status": last?.status.map(String.init) ?? "", "error": last?.error ?? "",
                    "time": PortalFormat.relative(delivery.createdAt, now: now), "timeISO": PortalFormat.iso(delivery.createdAt),
                    "resendAction": base + "/deliveries/\(delivery.id)/resend",
                ]
            },
        ]
        if let error { values["error"] = error }
        return await portal.page(
            "webhook",
            title: "Webhook \(hook.name)",
            visit: context.portal,
            request: request,
            context: context,
            status: status,
            values: values
        )
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> Response {
        let (namespace, hook) = try await webhook(context)
        let form = context.portal.form
        let username = form["username"] ?? ""
        let password = form.raw("password") ?? ""
        let changes = WebhookService.Changes(
            url: form["url"],
            events: form.all("events").joined(separator: ","),
            // Empty name and password: credentials removed; a name alone keeps the stored password.
            username: form.checked("remove_credentials") ? "" : (username.isEmpty ? nil : username),
            password: form.checked("remove_credentials") || password.isEmpty ? nil : password,
            // Empty keeps the headers as they are (their values are never shown), unless they are cleared.
            headers: form.checked("clear_headers") ? [] : Self.headerLines(form.raw("headers") ?? "").nilIfEmpty,
            rotateSecret: form.checked("rotate_secret")
        )
        do {
            let updated = try await portal.services.webhooks.update(
                namespace: namespace,
                name: hook.name,
                changes: changes,
                actor: context.portal.caller.actor
            )
            if let secret = updated.secret {
                return await secretPage(namespace: namespace, hook: updated.webhook, secret: secret, request: request, context: context)
            }
            return portal.redirect(to: url(namespace, hook.name), flash: .notice("Webhook \(hook.name) saved."), request: request, context: context)
        } catch let error as WebhookError {
            return try await showPage(
                namespace: namespace,
                hook: hook,
                request: request,
                context: context,
                error: error.message,
                status: .unprocessableContent
            )
        }
    }

    @Sendable func setEnabled(_ request: Request, context: Context) async throws -> Response {
        let (namespace, hook) = try await webhook(context)
        let enable = context.portal.form["enabled"] == "true"
        try await portal.services.webhooks.setEnabled(namespace: namespace, name: hook.name, enable, actor: context.portal.caller.actor)
        let message = enable ? "Webhook \(hook.name) is on: it receives events again." : "Webhook \(hook.name) is off: it receives no events."
        return portal.redirect(to: url(namespace, hook.name), flash: .notice(message), request: request, context: context)
    }

    @Sendable func test(_ request: Request, context: Context) async throws -> Response {
        let (namespace, hook) = try await webhook(context)
        let flash: Flash
        do {
            let (_, attempt) = try await portal.services.webhooks.test(namespace: namespace, name: hook.name, actor: context.portal.caller.actor)
            let status = attempt.status.map { " answered \($0)" } ?? " took it"
            flash = .notice("The test ping was delivered: \(hook.url)\(status) in \(attempt.durationMilliseconds) ms.")
        } catch let error as WebhookError where error.code == .deliveryFailed {
            // The attempt is in the delivery log below, with its answer.
            flash = .error("The test ping failed: \(error.message).")
        }
        return portal.redirect(to: url(namespace, hook.name), flash: flash, request: request, context: context)
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let (namespace, hook) = try await webhook(context)
        try await portal.services.webhooks.delete(namespace: namespace, name: hook.name, actor: context.portal.caller.actor)
        return portal.redirect(
            to: url(namespace),
            flash: .notice("Webhook \(hook.name) and its delivery log are deleted."),
            request: request,
            context: context
        )
    }

    @Sendable func resend(_ request: Request, context: Context) async throws -> Response {
        let (namespace, hook) = try await webhook(context)
        let id = Int64(context.parameters.get("delivery") ?? "") ?? 0
        let original = try await portal.services.pool.read { transaction in try transaction.webhooks.delivery(id: id) }
        guard let original, original.webhookID == hook.id else { throw PortalError.notFound("Webhook \(hook.name) has no delivery \(id).") }
        let copy = try await portal.services.webhooks.resend(delivery: String(id))
        return portal.redirect(
            to: url(namespace, hook.name),
            flash: .notice("Delivery \(id) is queued again as delivery \(copy.id)."),
            request: request,
            context: context
        )
    }

    // MARK: Form helpers

    /// The non-empty lines of the headers field (`Name: value` each).
    static func headerLines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func events(_ hook: Webhook) -> [String] {
        hook.events.isEmpty ? WebhookEventFilter.actions.map(\.rawValue) : hook.events.split(separator: ",").map(String.init)
    }

    /// The event checkboxes; nil `selected`: all ticked (a new webhook wants every event).
    static func eventChoices(selected: [String]?) -> [[String: Any]] {
        WebhookEventFilter.actions.map { action in
            ["value": action.rawValue, "checked": selected?.contains(action.rawValue) ?? true, "id": "event-" + action.rawValue]
        }
    }
}

extension Array {
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}
