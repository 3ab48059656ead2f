import Benchmark
import Foundation
import Logging
import WharfBenchKit
import WharfCore
import WharfDatabase
import WharfStorage
import WharfSync

/// The catalogue mirror over a folder of 1,000 repositories × 10 tags in distribution's layout (written once per
/// run in a temporary folder): a first sync pass into an empty SQLite database, an unchanged pass, and a
/// `/v2/_catalog` page of 100 read from the mirror. `Benchmarks/catalog.py` measures the same on 10,000 × 10 through
/// a running server, against distribution.
func catalogueBenchmarks() {
    Benchmark(
        "Catalogue first sync pass 1000x10",
        configuration: .init(metrics: [.wallClock, .peakMemoryResident], maxDuration: .seconds(30), maxIterations: 5),
        closure: { benchmark in
            let folder = try await CatalogueBenchFolder.shared()
            let scheduler = try await folder.freshScheduler()
            benchmark.startMeasurement()
            let report = try await scheduler.syncNow()
            benchmark.stopMeasurement()
            if report.tagsWritten != 10_000 { throw BenchError("wrote \(report.tagsWritten) tags") }
        }
    )
    Benchmark(
        "Catalogue unchanged pass 1000x10",
        configuration: .init(metrics: [.wallClock], maxDuration: .seconds(10), maxIterations: 20),
        closure: { benchmark in
            let scheduler = try await CatalogueBenchFolder.shared().synced
            benchmark.startMeasurement()
            let report = try await scheduler.syncNow()
            benchmark.stopMeasurement()
            if report.changed { throw BenchError("an unchanged pass changed something") }
        }
    )
    Benchmark(
        "Catalogue page of 100 from the mirror",
        configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5), maxIterations: 5_000),
        closure: { benchmark in
            let folder = try await CatalogueBenchFolder.shared()
            let after = "ns-\(Int.random(in: 0..<10))/app-\(String(format: "%04d", Int.random(in: 0..<1_000)))"
            benchmark.startMeasurement()
            let names = try await folder.mirror.repositoryNames(after: after, limit: 100)
            benchmark.stopMeasurement()
            blackHole(names)
        }
    )
}

/// The folder and a synced mirror over it, made once per run.
final class CatalogueBenchFolder: Sendable {
    let root: String
    let driver: FilesystemDriver
    let mirror: CatalogMirror
    let synced: SyncScheduler
    static let logger: Logger = {
        var logger = Logger(label: "wharf-bench")
        logger.logLevel = .critical
        return logger
    }()

    private init(root: String, driver: FilesystemDriver, mirror: CatalogMirror, synced: SyncScheduler) {
        self.root = root
        self.driver = driver
        self.mirror = mirror
        self.synced = synced
    }

    private static let cache = Cache()

    static func shared() async throws -> CatalogueBenchFolder { try await cache.folder() }

    private actor Cache {
        var task: Task<CatalogueBenchFolder, any Error>?

        func folder() async throws -> CatalogueBenchFolder {
            if let task { return try await task.value }
            let task = Task { try await CatalogueBenchFolder.build() }
            self.task = task
            return try await task.value
        }
    }

    /// A scheduler over the folder with an empty database of its own.
    func freshScheduler() async throws -> SyncScheduler {
        let path = root + "/db-\(UUID().uuidString).sqlite"
        let pool = DatabasePool(location: .sqlite(path: path, poolSize: 2), logger: Self.logger)
        _ = try await pool.prepare()
        return SyncScheduler(mirror: CatalogMirror(pool: pool, driver: driver, logger: Self.logger), logger: Self.logger)
    }

    static func build() async throws -> CatalogueBenchFolder {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-catalogue-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let driver = FilesystemDriver(root: root + "/registry", durable: false)
        let layer = Array(repeating: UInt8(0x5a), count: 4096)
        let layerDigest = OCIDigest.of(layer)
        try await driver.write(RegistryPaths.blobData(layerDigest), contents: layer)
        for index in 0..<1_000 {
            let name = try RepositoryName("ns-\(index % 10)/app-\(String(format: "%04d", index))")
            for tagIndex in 0..<10 {
                let config = Array(#"{"architecture":"amd64","os":"linux","created":"2025-01-01T00:00:00Z","n":"\#(index)-\#(tagIndex)"}"#.utf8)
                let configDigest = OCIDigest.of(config)
                try await driver.write(RegistryPaths.blobData(configDigest), contents: config)
                let manifest = Array(
                    """
                    {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layerDigest)","size":4096}]}
                    """.utf8
                )
                let digest = OCIDigest.of(manifest)
                try await driver.write(RegistryPaths.blobData(digest), contents: manifest)
                try await driver.write(RegistryPaths.revisionLink(name, digest), contents: RegistryPaths.linkContent(digest))
                let tag = try Tag("v\(tagIndex)")
                try await driver.write(RegistryPaths.tagIndexLink(name, tag, digest), contents: RegistryPaths.linkContent(digest))
                try await driver.write(RegistryPaths.tagCurrentLink(name, tag), contents: RegistryPaths.linkContent(digest))
            }
        }
        let path = root + "/synced.sqlite"
        let pool = DatabasePool(location: .sqlite(path: path, poolSize: 2), logger: logger)
        _ = try await pool.prepare()
        let mirror = CatalogMirror(pool: pool, driver: driver, logger: logger)
        let synced = SyncScheduler(mirror: mirror, logger: logger)
        try await synced.syncNow()
        return CatalogueBenchFolder(root: root, driver: driver, mirror: mirror, synced: synced)
    }
}
