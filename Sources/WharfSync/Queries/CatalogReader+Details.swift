import Foundation
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage

extension CatalogReader {
    /// The details of a tag or of a manifest by digest (`reference`): the manifest read from storage (at most
    /// ``manifestLimit`` bytes), an index's platforms, an image's layers and config (at most ``configLimit`` bytes,
    /// environment variables by name only), the tags pointing at it and its referrers. What storage cannot give (a
    /// blob missing or too large, a config that is not JSON) is left out with a note; only a repository or
    /// reference unknown to the caller is an error (``CatalogQueryError/Code/notFound``).
    public func details(of repository: String, reference: String, for subject: TokenSubject) async throws -> ManifestDetails {
        let scope = scope(for: subject)
        let byDigest = (try? OCIDigest(parsing: reference))?.description
        let found = try await pool.read { transaction -> (Repository, [CatalogTag])? in
            guard let row = try transaction.catalogQueries.repository(scope: scope, name: repository) else { return nil }
            if let byDigest { return (row, try transaction.catalogQueries.tags(repositoryID: row.id, digest: byDigest)) }
            return (row, try transaction.tags.find(repositoryID: row.id, name: reference).map { [$0] } ?? [])
        }
        guard let (row, tagged) = found else { throw Self.repositoryNotFound(repository) }
        let name = try RepositoryName(repository)
        let digestText: String
        var tags = tagged
        if let byDigest {
            digestText = byDigest
            // An untagged manifest is the repository's when storage links it.
            if tags.isEmpty, try await driver.stat(RegistryPaths.revisionLink(name, OCIDigest(parsing: byDigest))) == nil {
                throw CatalogQueryError(.notFound, "manifest \(byDigest) not found in \(repository)")
            }
        } else {
            guard let tag = tags.first else { throw CatalogQueryError(.notFound, "tag \(reference) not found in \(repository)") }
            digestText = tag.digest
            tags = try await pool.read { try $0.catalogQueries.tags(repositoryID: row.id, digest: tag.digest) }
        }
        let digest = try OCIDigest(parsing: digestText)
        var details = ManifestDetails(
            repository: repository,
            digest: digestText,
            mediaType: tags.first?.mediaType ?? MediaType.octetStream,
            size: 0,
            totalSize: tags.first?.size,
            artifactType: tags.first?.artifactType,
            tags: tags,
            platforms: [],
            configDescriptor: nil,
            layers: [],
            config: nil,
            referrers: [],
            notes: []
        )
        if let bytes = await readBlob(digest, limit: Self.manifestLimit, what: "manifest", notes: &details.notes) {
            details.size = Int64(bytes.count)
            if let document = try? JSONDecoder().decode(ManifestDocument.self, from: Data(bytes)) {
                details.mediaType = ImageInspector.clean(document.mediaType) ?? details.mediaType
                details.artifactType = ImageInspector.clean(document.artifactType) ?? details.artifactType
                await describe(document, into: &details, known: tags.first?.platforms ?? [])
            } else {
                details.notes.append("the manifest is not JSON")
            }
        }
        let subjects = [digestText] + details.platforms.map(\.digest)
        details.referrers = try await pool.read { try $0.referrers.list(repositoryID: row.id, subjects: subjects) }
        return details
    }

    /// Fills in an index's platforms or an image's config and layers.
    private func describe(_ document: ManifestDocument, into details: inout ManifestDetails, known: [CatalogPlatform]) async {
        if let children = document.manifests {
            let sizes = Dictionary(known.map { ($0.digest, $0.size) }) { first, _ in first }
            for child in children where !ImageInspector.isAttestation(child) {
                details.platforms.append(
                    PlatformManifest(
                        os: child.platform?.os ?? "unknown",
                        architecture: child.platform?.architecture ?? "unknown",
                        variant: child.platform?.variant,
                        digest: child.digest,
                        mediaType: child.mediaType,
                        size: max(0, child.size ?? 0),
                        totalSize: sizes[child.digest]
                    )
                )
            }
            return
        }
        details.layers = ((document.layers ?? []) + (document.blobs ?? [])).map {
            ContentDescriptor(digest: $0.digest, mediaType: $0.mediaType, size: max(0, $0.size ?? 0))
        }
        guard let config = document.config else { return }
        details.configDescriptor = ContentDescriptor(digest: config.digest, mediaType: config.mediaType, size: max(0, config.size ?? 0))
        guard ImageInspector.imageConfigTypes.contains(config.mediaType ?? ""), let digest = try? OCIDigest(parsing: config.digest) else { return }
        guard let bytes = await readBlob(digest, limit: Self.configLimit, what: "image config", notes: &details.notes) else { return }
        guard let parsed = try? JSONDecoder().decode(ImageConfigDocument.self, from: Data(bytes)) else {
            details.notes.append("the image config is not a JSON object")
            return
        }
        details.config = parsed.details
    }

    /// A blob's bytes, or nil with a note when it is missing, larger than `limit` or unreadable.
    private func readBlob(_ digest: OCIDigest, limit: Int, what: String, notes: inout [String]) async -> [UInt8]? {
        do {
            if let size = try await driver.stat(RegistryPaths.blobData(digest))?.size, size > limit {
                notes.append("the \(what) is \(size) bytes, more than the \(limit) read")
                return nil
            }
            guard let bytes = try await driver.read(RegistryPaths.blobData(digest), limit: limit) else {
                notes.append("the \(what) \(digest) is not in storage")
                return nil
            }
            return bytes
        } catch {
            logger.warning("could not read a blob for a manifest's details", metadata: ["digest": "\(digest)", "error": "\(error)"])
            notes.append("the \(what) could not be read")
            return nil
        }
    }
}
