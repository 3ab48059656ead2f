import Foundation
import Hummingbird
import WharfDatabase
import WharfSync

/// `/admin/gc`: garbage collection for administrators: the schedule, the latest runs, one run with what it
/// removed, and the buttons that start a dry run or a collection (in the background, through the same
/// ``GCService`` as the schedule and the API).
struct GCPages<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: some RouterMethods<Context>) {
        router.get("/admin/gc", use: overview)
        router.post("/admin/gc/runs", use: start)
        router.get("/admin/gc/runs/:id", use: run)
    }

    private func page(
        _ template: String,
        _ title: String,
        request: Request,
        context: Context,
        status: HTTPResponse.Status = .ok,
        values: [String: Any]
    ) async -> Response {
        await portal.adminPage(template, title: title, section: "gc", request: request, context: context, status: status, values: values)
    }

    @Sendable func overview(_ request: Request, context: Context) async throws -> Response {
        try await overviewPage(request: request, context: context, error: nil, status: .ok)
    }

    private func overviewPage(request: Request, context: Context, error: String?, status: HTTPResponse.Status) async throws -> Response {
        try portal.requireAdmin(context)
        let gc = portal.services.services.gc
        let configuration = portal.services.services.configuration
        let (runs, lease) = try await portal.services.pool.read { transaction in
            (try transaction.gcRuns.list(limit: 25), try transaction.gcLeases.holder())
        }
        var values: [String: Any] = [
            "runs": runs.map(Self.row),
            "minAge": Self.duration(Int(gc.minAge)),
            "untaggedDefault": gc.untagged,
        ]
        if let schedule = gc.schedule {
            values["schedule"] = [
                "every": Self.duration(Int(schedule.components.seconds)),
                "untagged": configuration.gcUntagged,
                "next": await gc.nextScheduledRun.map { PortalFormat.relativeFuture($0) } ?? "",
            ]
        }
        if let lease {
            values["running"] = [
                "host": lease.host, "since": PortalFormat.relative(lease.acquiredAt), "sinceISO": PortalFormat.iso(lease.acquiredAt),
                "url": lease.runID.map { "/admin/gc/runs/\($0)" } ?? "",
            ]
        }
        if let error { values["error"] = error }
        return await page("admin-gc", "Garbage collection", request: request, context: context, status: status, values: values)
    }

    @Sendable func start(_ request: Request, context: Context) async throws -> Response {
        try portal.requireAdmin(context)
        let form = context.portal.form
        let dryRun = form["mode"] != "collect"
        let gc = portal.services.services.gc
        do {
            let run = try await gc.start(
                GCRunRequest(
                    trigger: .portal,
                    requestedBy: context.portal.caller.subject.name,
                    dryRun: dryRun,
                    untagged: form["untagged"] == "on",
                    minAge: gc.minAge
                )
            )
            return portal.redirect(
                to: "/admin/gc/runs/\(run.id)",
                flash: .notice(dryRun ? "Dry run started: nothing will be deleted." : "Garbage collection started."),
                request: request,
                context: context
            )
        } catch let error as GCRunError where error.code == .busy {
            return try await overviewPage(request: request, context: context, error: Self.sentence(error.message), status: .conflict)
        }
    }

    @Sendable func run(_ request: Request, context: Context) async throws -> Response {
        try portal.requireAdmin(context)
        let id = Int64(context.parameters.get("id") ?? "") ?? 0
        guard let run = try await portal.services.pool.read({ try $0.gcRuns.find(id: id) }) else {
            throw PortalError.notFound("There is no garbage collection run \(context.parameters.get("id") ?? "").")
        }
        var values = Self.row(run)
        let details = GCRunDetails(json: run.details)
        values["removed"] = details.removedManifests.map { ["name": "\($0.repository)@\($0.digest)", "bytes": PortalFormat.bytes($0.bytes)] }
        if details.removedManifestsOmitted > 0 { values["removedMore"] = details.removedManifestsOmitted }
        values["unusedBlobs"] = details.eligible.map { ["digest": $0.digest, "bytes": PortalFormat.bytes($0.bytes)] }
        if details.eligibleOmitted > 0 { values["unusedMore"] = details.eligibleOmitted }
        values["unusedManifests"] = details.eligibleManifests.map {
            ["name": "\($0.repository)@\($0.digest)", "bytes": PortalFormat.bytes($0.bytes)]
        }
        values["minAge"] = Self.duration(Int(run.minAgeSeconds))
        return await page("admin-gc-run", "Garbage collection run \(run.id)", request: request, context: context, values: values)
    }

    /// A run as a table row and the detail page's heading.
    static func row(_ run: GCRun) -> [String: Any] {
        let figures = run.figures
        let kept = (try? JSONDecoder().decode([GCAPI.KeptBody].self, from: Data(figures.kept.utf8))) ?? []
        var row: [String: Any] = [
            "id": run.id, "url": "/admin/gc/runs/\(run.id)",
            "when": PortalFormat.relative(run.startedAt), "whenISO": PortalFormat.iso(run.startedAt),
            "trigger": Self.trigger(run), "kind": run.dryRun ? "Dry run" : "Collection", "dryRun": run.dryRun, "untagged": run.untagged,
            "host": run.host,
            "found": Self.blobs(figures.blobs, figures.bytes),
            "eligible": Self.blobs(figures.eligibleBlobs, figures.eligibleBytes),
            "reclaimed": run.dryRun ? "nothing (dry run)" : Self.blobs(figures.reclaimedBlobs, figures.reclaimedBytes),
            "kept": Self.blobs(figures.keptBlobs, figures.keptBytes),
            "keptReasons": kept.map { ["reason": Self.reason($0.reason), "amount": Self.blobs($0.blobs, $0.bytes)] },
            "where": "\(Self.count(figures.repositories, "repository", "repositories")), \(Self.count(figures.manifests, "manifest", "manifests"))",
            "untaggedManifests": figures.untaggedManifests,
            "duration": run.finishedAt == nil ? "" : Self.seconds(Double(figures.durationMilliseconds) / 1000),
            "status": Self.status(run.status), "statusClass": Self.statusClass(run.status), "running": run.status == .running,
        ]
        // Only what there is: a mustache section shows for any value that is present.
        if figures.removedManifests > 0 { row["removedManifests"] = Self.count(figures.removedManifests, "untagged image", "untagged images") }
        if figures.rescuedBlobs > 0 { row["rescued"] = Self.count(figures.rescuedBlobs, "blob", "blobs") }
        if figures.missingBlobs > 0 { row["missing"] = Self.count(figures.missingBlobs, "blob", "blobs") }
        if let error = run.error { row["error"] = Self.sentence(error) }
        if run.status == .busy { row["refused"] = true }
        return row
    }

    /// `1 blob, 512 B`, `7 blobs, 692 kB`.
    static func blobs(_ count: Int, _ bytes: Int64) -> String {
        "\(Self.count(count, "blob", "blobs")), \(PortalFormat.bytes(bytes))"
    }

    static func count(_ count: Int, _ one: String, _ many: String) -> String {
        "\(count) \(count == 1 ? one : many)"
    }

    static func trigger(_ run: GCRun) -> String {
        switch run.trigger {
        case .cli: "command line"
        case .schedule: "schedule"
        case .portal: "portal, by \(run.requestedBy)"
        case .api: "API, by \(run.requestedBy)"
        }
    }

    static func status(_ status: GCRun.Status) -> String {
        switch status {
        case .running: "running"
        case .ok: "done"
        case .failed: "failed"
        case .busy: "not started: another run was going on"
        }
    }

    static func statusClass(_ status: GCRun.Status) -> String {
        switch status {
        case .running: "badge--warning"
        case .ok: "badge--success"
        case .failed: "badge--danger"
        case .busy: "badge--neutral"
        }
    }

    static func reason(_ reason: String) -> String {
        switch reason {
        case "tagged": "Used by a tag"
        case "child": "Part of a multi-platform image"
        case "referrer": "A signature, SBOM or attestation"
        case "untagged": "Used by an untagged image"
        case "too_young": "Written too recently"
        default: reason
        }
    }

    /// The error as a sentence: first letter capitalized, a full stop at the end.
    static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        let body = first.uppercased() + text.dropFirst()
        return body.hasSuffix(".") ? body : body + "."
    }

    static func seconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f s", value) : Self.duration(Int(value.rounded()))
    }

    /// `45 s`, `15 min`, `6 h`, `2 days`.
    static func duration(_ seconds: Int) -> String {
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min" }
        if seconds < 86400 { return seconds % 3600 == 0 ? "\(seconds / 3600) h" : "\(seconds / 3600) h \(seconds % 3600 / 60) min" }
        return seconds % 86400 == 0 ? "\(seconds / 86400) day\(seconds == 86400 ? "" : "s")" : "\(seconds / 3600) h"
    }
}
