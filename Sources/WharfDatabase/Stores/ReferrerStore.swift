import Foundation

/// A manifest that describes another one in the same repository: a signature, an SBOM, an attestation (OCI
/// `subject`, cosign's `sha256-<hex>.sig` tags, BuildKit's attestation manifests in an index).
public struct Referrer: Sendable, Equatable, RowDecodable {
    public var repositoryID: Int64
    /// The digest of the manifest described.
    public var subject: String
    public var digest: String
    public var mediaType: String
    public var artifactType: String?
    public var size: Int64
    /// The tag that carries it, for tag-based schemes (cosign); nil for OCI referrers.
    public var tag: String?
    public var createdAt: Date

    init(row: SQLRow) throws {
        repositoryID = try row.decode("repository_id")
        subject = try row.decode("subject")
        digest = try row.decode("digest")
        mediaType = try row.decode("media_type")
        artifactType = try row.decode("artifact_type")
        size = try row.decode("size")
        tag = try row.decode("tag")
        createdAt = try row.decode("created_at")
    }
}

/// What a push or a sync pass records about a referrer.
public struct ReferrerRecord: Sendable, Equatable, Hashable {
    public var subject: String
    public var digest: String
    public var mediaType: String
    public var artifactType: String?
    public var size: Int64
    public var tag: String?

    public init(subject: String, digest: String, mediaType: String, artifactType: String?, size: Int64, tag: String? = nil) {
        self.subject = subject
        self.digest = digest
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.size = size
        self.tag = tag
    }
}

public struct ReferrerStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    static let columns = "repository_id, subject, digest, media_type, artifact_type, size, tag, created_at"

    public func add(repositoryID: Int64, _ referrer: ReferrerRecord) throws {
        let columns = ["repository_id", "subject", "digest", "media_type", "artifact_type", "size", "tag", "created_at"]
        let sql = transaction.dialect.upsert(
            into: "referrers",
            columns: columns,
            conflict: ["repository_id", "subject", "digest"],
            update: ["media_type", "artifact_type", "size", "tag"]
        )
        try transaction.execute(
            sql,
            [
                repositoryID, try Validation.name(referrer.subject, "subject"), try Validation.name(referrer.digest, "digest"),
                try Validation.name(referrer.mediaType, "media type"), try Validation.name(referrer.artifactType, "artifact type"),
                referrer.size, try Validation.name(referrer.tag, "tag name"), now(),
            ]
        )
    }

    /// The referrers of `subjects` in a repository.
    public func list(repositoryID: Int64, subjects: [String]) throws -> [Referrer] {
        guard !subjects.isEmpty else { return [] }
        let marks = subjects.map { _ in "?" }.joined(separator: ", ")
        return try transaction.fetch(
            "SELECT \(Self.columns) FROM referrers WHERE repository_id = ? AND subject IN (\(marks)) ORDER BY subject, digest",
            [repositoryID] + subjects.map { $0 as any SQLValueConvertible }
        )
    }

    public func list(repositoryID: Int64) throws -> [Referrer] {
        try transaction.fetch("SELECT \(Self.columns) FROM referrers WHERE repository_id = ? ORDER BY subject, digest", [repositoryID])
    }

    /// Removes a referrer manifest (deleted by digest) wherever it is recorded in the repository.
    @discardableResult
    public func delete(repositoryID: Int64, digest: String) throws -> Int {
        try transaction.execute("DELETE FROM referrers WHERE repository_id = ? AND digest = ?", [repositoryID, digest]).affectedRows
    }

    /// Removes what a tag-based scheme recorded under `tag` (the tag was deleted or moved).
    @discardableResult
    public func delete(repositoryID: Int64, tag: String) throws -> Int {
        try transaction.execute("DELETE FROM referrers WHERE repository_id = ? AND tag = ?", [repositoryID, tag]).affectedRows
    }

    /// Makes the repository's referrers exactly `referrers` (a sync pass found them in storage).
    public func replace(repositoryID: Int64, with referrers: Set<ReferrerRecord>) throws {
        let current = Set(
            try list(repositoryID: repositoryID).map {
                ReferrerRecord(
                    subject: $0.subject,
                    digest: $0.digest,
                    mediaType: $0.mediaType,
                    artifactType: $0.artifactType,
                    size: $0.size,
                    tag: $0.tag
                )
            }
        )
        for gone in current.subtracting(referrers) {
            try transaction.execute(
                "DELETE FROM referrers WHERE repository_id = ? AND subject = ? AND digest = ?",
                [repositoryID, gone.subject, gone.digest]
            )
        }
        for added in referrers.subtracting(current) { try add(repositoryID: repositoryID, added) }
    }
}
