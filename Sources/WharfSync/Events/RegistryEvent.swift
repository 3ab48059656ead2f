import Foundation
import WharfDatabase

/// Something that happened in the registry and that others want to know: the catalogue mirror, the activity log,
/// webhooks, metrics. Its fields follow distribution's notification events, so a webhook body is one of them as is.
public struct RegistryEvent: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        /// A manifest was stored (by tag or by digest).
        case push
        /// A manifest was read (GET, not HEAD).
        case pull
        /// A manifest (target has a digest) or a tag (target has a tag) was deleted.
        case delete
        /// A blob was linked into a repository from another one.
        case mount
    }

    /// What the event is about.
    public struct Target: Sendable, Equatable {
        public var repository: String
        public var mediaType: String?
        public var digest: String?
        public var size: Int64?
        public var tag: String?
        /// The repository a mounted blob came from.
        public var fromRepository: String?
        /// Where the content is fetched from (absolute when the external URL is known).
        public var url: String?
        /// Digests a pushed manifest references (config, layers, index children).
        public var references: [String]

        public init(
            repository: String,
            mediaType: String? = nil,
            digest: String? = nil,
            size: Int64? = nil,
            tag: String? = nil,
            fromRepository: String? = nil,
            url: String? = nil,
            references: [String] = []
        ) {
            self.repository = repository
            self.mediaType = mediaType
            self.digest = digest
            self.size = size
            self.tag = tag
            self.fromRepository = fromRepository
            self.url = url
            self.references = references
        }
    }

    /// The HTTP request that caused it.
    public struct Request: Sendable, Equatable {
        public var id: String
        public var addr: String
        public var host: String
        public var method: String
        public var userAgent: String

        public init(id: String = UUID().uuidString.lowercased(), addr: String = "", host: String = "", method: String = "", userAgent: String = "") {
            self.id = id
            self.addr = addr
            self.host = host
            self.method = method
            self.userAgent = userAgent
        }
    }

    /// Who did it: empty name for anonymous callers (or with auth off).
    public struct Actor: Sendable, Equatable {
        public var name: String
        public var userID: Int64?

        public init(name: String = "", userID: Int64? = nil) {
            self.name = name
            self.userID = userID
        }
    }

    public var id: String
    public var timestamp: Date
    public var action: Action
    public var target: Target
    public var request: Request
    public var actor: Actor
    /// Set when the catalogue's transaction already queued this event's webhook deliveries (a push or a delete
    /// whose rows were written): the webhook dispatcher only sends them.
    public var webhooksQueued = false

    public init(
        id: String = UUID().uuidString.lowercased(),
        timestamp: Date = Date(),
        action: Action,
        target: Target,
        request: Request = Request(),
        actor: Actor = Actor()
    ) {
        self.id = id
        self.timestamp = timestamp
        self.action = action
        self.target = target
        self.request = request
        self.actor = actor
    }

    /// The namespace part of the repository name (empty for the global namespace).
    public var namespace: String { Repository.namespace(of: target.repository) }
}
