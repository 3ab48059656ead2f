import WharfCore

/// `--deep`: checks each image's layers against its config's `rootfs.diff_ids`, one layer at a time, each layer
/// decompressed once however many images share it.
///
/// Blobs the hash pass already found missing or corrupt are not checked again (they are reported once).
struct LayerChecker {
    let driver: any StorageDriver
    let references: [OCIDigest: Set<String>]
    var problems: [OCIDigest: ScrubFinding]
    var skips: [OCIDigest: ScrubFinding] = [:]
    var layersDecompressed = 0
    var uncompressedBytes: Int64 = 0
    /// Uncompressed digests already computed, by layer and algorithm; or why the layer does not decompress.
    private var uncompressed: [OCIDigest: Result<OCIDigest, GzipLayerDigester.Failure>] = [:]

    init(driver: any StorageDriver, references: [OCIDigest: Set<String>], problems: [OCIDigest: ScrubFinding]) {
        self.driver = driver
        self.references = references
        self.problems = problems
    }

    mutating func check(_ image: Scrubber.Image) async throws {
        guard let config = image.manifest.config, let configDigest = try? OCIDigest(parsing: config.digest) else { return }
        let layers = image.manifest.layers ?? []
        guard ScrubManifest.imageConfigTypes.contains(MediaType.essence(config.mediaType)) else {
            skip(image.digest, "an artifact (config media type \(config.mediaType)): its layers are not image layers")
            return
        }
        guard problems[configDigest] == nil else { return }
        guard let bytes = try await driver.read(RegistryPaths.blobData(configDigest), limit: ManifestIndex.readLimit) else { return }
        guard let rootfs = try? ImageRootFS(parsing: bytes) else {
            fail(configDigest, "the image config has no readable rootfs.diff_ids (named by \(image.digest))")
            return
        }
        let diffIDs = rootfs.rootfs.diffIDs
        guard diffIDs.count == layers.count else {
            fail(configDigest, "the config lists \(diffIDs.count) diff_ids for the \(layers.count) layers of \(image.digest)")
            return
        }
        for (position, layer) in layers.enumerated() {
            guard let digest = try? OCIDigest(parsing: layer.digest) else { continue }
            let encoding = LayerEncoding(layer)
            if case .unchecked(let reason) = encoding {
                skip(digest, reason)
                continue
            }
            guard problems[digest] == nil else { continue }
            guard let diffID = try? OCIDigest(parsing: diffIDs[position]) else {
                fail(digest, "layer \(position) of \(image.digest): the config's diff_id \(diffIDs[position]) is not a digest")
                continue
            }
            switch encoding {
            case .tar:
                if digest != diffID {
                    fail(digest, "layer \(position) of \(image.digest) is uncompressed, and the config's diff_id is \(diffID)")
                }
            case .gzip:
                switch try await uncompressedDigest(of: digest, algorithm: diffID.algorithm) {
                case .failure(let failure):
                    fail(digest, "layer \(position) of \(image.digest) does not decompress: \(failure)")
                case .success(let actual) where actual != diffID:
                    fail(digest, "layer \(position) of \(image.digest) decompresses to \(actual), the config's diff_id is \(diffID)")
                case .success:
                    break
                }
            case .unchecked:
                break
            }
        }
    }

    private mutating func uncompressedDigest(
        of digest: OCIDigest,
        algorithm: OCIDigest.Algorithm
    ) async throws -> Result<OCIDigest, GzipLayerDigester.Failure> {
        if let known = uncompressed[digest], (try? known.get())?.algorithm ?? algorithm == algorithm { return known }
        guard let reader = try await driver.reader(RegistryPaths.blobData(digest)) else {
            return .failure(GzipLayerDigester.Failure(description: "the blob's data is gone"))
        }
        let result: Result<OCIDigest, GzipLayerDigester.Failure>
        do {
            let (actual, size) = try await GzipLayerDigester.digest(of: reader, algorithm: algorithm)
            layersDecompressed += 1
            uncompressedBytes += size
            result = .success(actual)
        } catch let failure as GzipLayerDigester.Failure {
            result = .failure(failure)
        }
        uncompressed[digest] = result
        return result
    }

    private mutating func fail(_ digest: OCIDigest, _ detail: String) {
        if var finding = problems[digest], finding.kind == .badLayer {
            // A layer shared by many images fails in each: the first few say enough.
            if finding.detail.utf8.count < 1000 { finding.detail += "; " + detail }
            problems[digest] = finding
            return
        }
        problems[digest] = ScrubFinding(digest: digest, kind: .badLayer, detail: detail, references: (references[digest] ?? []).sorted())
    }

    private mutating func skip(_ digest: OCIDigest, _ reason: String) {
        guard skips[digest] == nil else { return }
        skips[digest] = ScrubFinding(digest: digest, kind: .skipped, detail: reason, references: (references[digest] ?? []).sorted())
    }
}
