import WharfCore
import WharfStorage

/// A `/v2` endpoint, parsed from the raw (still percent-encoded) request path, and rendered back into one
/// (``path``) for `Location` headers and page links.
///
/// Repository names contain slashes, so the endpoint is read from the end of the path: the last one to three
/// components name it and everything before them is the repository name, which then has to pass the grammar.
/// The router hands every path under `/v2` here (one recursive wildcard route) for that reason.
enum RegistryRoute: Equatable {
    case base
    case catalog
    case tags(RepositoryName)
    case manifest(RepositoryName, Reference)
    case blob(RepositoryName, OCIDigest)
    case startUpload(RepositoryName)
    case upload(RepositoryName, UploadID)
    case referrers(RepositoryName, OCIDigest)

    init(path: String) throws {
        guard path == "/v2" || path.hasPrefix("/v2/") else { throw RegistryError(.notFound, detail: path) }
        // Nothing legitimate in a registry path is percent-encoded: refusing `%` closes encoded slashes and dots.
        guard !path.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == 0 || $0 == UInt8(ascii: "\\") }) else {
            throw RegistryError(.nameInvalid, detail: "encoded or control characters in path")
        }
        let rest = path.dropFirst(path.hasPrefix("/v2/") ? 4 : 3)
        if rest.isEmpty {
            self = .base
            return
        }
        if rest == "_catalog" {
            self = .catalog
            return
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.contains(where: { $0 == "." || $0 == ".." }) else {
            throw RegistryError(.nameInvalid, detail: "dot segments in path")
        }
        let n = parts.count
        func name(dropping count: Int) throws -> RepositoryName {
            try RepositoryName(parts[0..<(n - count)].joined(separator: "/"))
        }
        if n >= 3, parts[n - 2] == "tags", parts[n - 1] == "list" {
            self = .tags(try name(dropping: 2))
        } else if n >= 3, parts[n - 2] == "manifests" {
            self = .manifest(try name(dropping: 2), try Reference(parts[n - 1]))
        } else if n >= 4, parts[n - 3] == "blobs", parts[n - 2] == "uploads" {
            let repository = try name(dropping: 3)
            self = parts[n - 1].isEmpty ? .startUpload(repository) : .upload(repository, try UploadID(parts[n - 1]))
        } else if n >= 3, parts[n - 2] == "blobs" {
            let repository = try name(dropping: 2)
            self = parts[n - 1] == "uploads" ? .startUpload(repository) : .blob(repository, try OCIDigest(parsing: parts[n - 1]))
        } else if n >= 3, parts[n - 2] == "referrers" {
            self = .referrers(try name(dropping: 2), try OCIDigest(parsing: parts[n - 1]))
        } else {
            throw RegistryError(.notFound, detail: String(path.prefix(200)))
        }
    }

    /// The endpoint's path (what ``init(path:)`` parses back to the same route).
    var path: String {
        switch self {
        case .base: "/v2/"
        case .catalog: "/v2/_catalog"
        case .tags(let name): "/v2/\(name.value)/tags/list"
        case .manifest(let name, let reference): "/v2/\(name.value)/manifests/\(reference)"
        case .blob(let name, let digest): "/v2/\(name.value)/blobs/\(digest)"
        case .startUpload(let name): "/v2/\(name.value)/blobs/uploads/"
        case .upload(let name, let id): "/v2/\(name.value)/blobs/uploads/\(id.value)"
        case .referrers(let name, let digest): "/v2/\(name.value)/referrers/\(digest)"
        }
    }
}
