import Foundation
import WharfDatabase
import WharfSync

/// Garbage collection runs (administrators only): the latest, one with what it removed, and starting one, which
/// answers at once (202) while the run goes on in the background.
struct GCAPI {
    let api: APIServices

    var handlers: [String: APIHandler] {
        ["listGCRuns": list, "getGCRun": get, "startGCRun": start]
    }

    struct KeptBody: Codable {
        var reason: String
        var blobs: Int
        var bytes: Int64
    }

    struct RunBody: Encodable {
        var id: Int64
        var status: String
        var trigger: String
        var requestedBy: String
        var dryRun: Bool
        var untagged: Bool
        var minAgeSeconds: Int64
        var host: String
        var startedAt: Date
        var finishedAt: Date?
        var durationSeconds: Double?
        var blobs: Int
        var bytes: Int64
        var eligibleBlobs: Int
        var eligibleBytes: Int64
        var keptBlobs: Int
        var keptBytes: Int64
        var kept: [KeptBody]
        var reclaimedBlobs: Int
        var reclaimedBytes: Int64
        var removedLayerLinks: Int
        var removedManifests: Int
        var rescuedBlobs: Int
        var missingBlobs: Int
        var repositories: Int
        var manifests: Int
        var untaggedManifests: Int
        var error: String?
        var details: GCRunDetails?
    }

    static func body(_ run: GCRun, details: Bool = false) -> RunBody {
        let figures = run.figures
        let kept = (try? JSONDecoder().decode([KeptBody].self, from: Data(figures.kept.utf8))) ?? []
        return RunBody(
            id: run.id,
            status: run.status.rawValue,
            trigger: run.trigger.rawValue,
            requestedBy: run.requestedBy,
            dryRun: run.dryRun,
            untagged: run.untagged,
            minAgeSeconds: run.minAgeSeconds,
            host: run.host,
            startedAt: run.startedAt,
            finishedAt: run.finishedAt,
            durationSeconds: run.finishedAt == nil ? nil : Double(figures.durationMilliseconds) / 1000,
            blobs: figures.blobs,
            bytes: figures.bytes,
            eligibleBlobs: figures.eligibleBlobs,
            eligibleBytes: figures.eligibleBytes,
            keptBlobs: figures.keptBlobs,
            keptBytes: figures.keptBytes,
            kept: kept,
            reclaimedBlobs: figures.reclaimedBlobs,
            reclaimedBytes: figures.reclaimedBytes,
            removedLayerLinks: figures.removedLayerLinks,
            removedManifests: figures.removedManifests,
            rescuedBlobs: figures.rescuedBlobs,
            missingBlobs: figures.missingBlobs,
            repositories: figures.repositories,
            manifests: figures.manifests,
            untaggedManifests: figures.untaggedManifests,
            error: run.error,
            details: details ? GCRunDetails(json: run.details) : nil
        )
    }

    func list(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        let size = request.int("page_size") ?? 20
        let before = request.int("before").map(Int64.init)
        let runs = try await api.pool.read { try $0.gcRuns.list(limit: size, before: before) }
        return try .items(runs.map { Self.body($0) })
    }

    func get(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        let id = Int64(request.path("id")) ?? 0
        guard let run = try await api.pool.read({ try $0.gcRuns.find(id: id) }) else {
            throw GCRunError(.unknownRun, "no garbage collection run \(request.path("id"))")
        }
        return try .json(Self.body(run, details: true))
    }

    struct StartBody: Decodable {
        var dryRun: Bool?
        var untagged: Bool?
    }

    /// 202 with the run as recorded (running) and its `Location`; 409 `GC_BUSY` while another run holds the lease.
    func start(_ request: APIRequest) async throws -> APIResponse {
        try request.requireAdmin()
        let body = try request.decode(StartBody.self)
        let gc = api.services.gc
        let run = try await gc.start(
            GCRunRequest(
                trigger: .api,
                requestedBy: request.caller.subject.name,
                dryRun: body.dryRun ?? true,
                untagged: body.untagged ?? false,
                minAge: gc.minAge
            )
        )
        return try APIResponse.json(Self.body(run), status: .accepted).located("/api/v1/gc/runs/\(run.id)")
    }
}
