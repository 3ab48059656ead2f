import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// Imports Portus's webhooks (with their headers; disabled ones stay disabled) through ``WebhookService``, so a
/// Portus URL meets the same rules as one made in Wharf (`webhooks.allowed_networks`, header names). Runs after
/// ``PortusImporter`` (the namespaces must exist); matched by namespace and name, so a second run changes
/// nothing. Each webhook is its own transaction; a dry run only checks.
///
/// Wharf always POSTs JSON (distribution's notification envelope), signed with a new secret: a Portus webhook
/// sent as GET or as a form is imported with a line saying so.
public struct PortusWebhookImport: Sendable {
    let pool: DatabasePool
    let webhooks: WebhookService

    public init(pool: DatabasePool, webhooks: WebhookService) {
        self.pool = pool
        self.webhooks = webhooks
    }

    public func run(_ snapshot: PortusSnapshot, dryRun: Bool) async throws -> PortusImportReport {
        var report = PortusImportReport(dryRun: dryRun)
        let names = snapshot.wharfNames().namespaces
        for hook in snapshot.webhooks {
            guard let namespaceID = hook.namespaceID else { continue }
            guard let namespace = names[namespaceID] else {
                report.add(
                    "webhook",
                    hook.name.debugDescription,
                    .conflict,
                    "on Portus's global namespace, which Wharf's webhooks cannot name: not imported"
                )
                continue
            }
            let name = Self.webhookName(hook.name)
            let label = "\(namespace)/\(name)"
            let state = try await pool.read { transaction -> (namespace: Bool, hook: Bool) in
                guard let row = try transaction.namespaces.find(name: namespace) else { return (false, false) }
                return (true, try transaction.webhooks.find(namespaceID: row.id, name: name) != nil)
            }
            if state.hook {
                report.add("webhook", label, .unchanged)
                continue
            }
            if !state.namespace && !dryRun {
                report.add("webhook", label, .conflict, "its namespace \(namespace) was not imported: not imported")
                continue
            }
            var notes: [String] = []
            if name != hook.name { notes.append("Portus's \(hook.name.debugDescription) is named \(name)") }
            if hook.requestMethod == 0 || hook.contentType == 1 {
                notes.append("Portus sent it as \(hook.requestMethod == 0 ? "GET" : "a form"); Wharf POSTs JSON")
            }
            if !hook.enabled { notes.append("disabled, as in Portus") }
            let settings = WebhookService.Settings(
                url: hook.url,
                events: "push,delete",
                username: hook.username,
                password: hook.username == nil ? nil : hook.password,
                headers: hook.headers.map { "\($0.name): \($0.value)" },
                enabled: hook.enabled
            )
            do {
                if dryRun {
                    try WebhookService.validateName(name)
                    _ = try WebhookHeaders.encode(settings.headers)
                    _ = try await webhooks.targets.check(settings.url)
                } else {
                    _ = try await webhooks.create(namespace: namespace, name: name, settings: settings, actor: PortusImporter.actor)
                }
            } catch let error as WebhookError {
                report.add("webhook", label, .conflict, "\(error.message): not imported")
                continue
            }
            report.add("webhook", label, .created, notes.joined(separator: "; "))
        }
        return report
    }

    /// A Portus webhook name (free text) as a Wharf one: letters, digits, `.` `_` `-`, at most 64; anything else `-`.
    static func webhookName(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let mapped = String(name.map { allowed.contains($0) ? $0 : "-" }.prefix(64))
        return mapped.isEmpty ? "webhook" : mapped
    }
}
