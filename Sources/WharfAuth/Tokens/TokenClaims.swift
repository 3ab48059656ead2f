import WharfCore

/// One entry of a token's `access` claim: `{"type":"repository","name":"team/app","actions":["pull","push"]}`.
public struct AccessEntry: Codable, Hashable, Sendable {
    public var type: String
    public var name: String
    public var actions: [String]

    public init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    /// The entry for a granted scope, in the shape distribution checks (`registry`/`catalog`/`*` for the catalogue).
    public init(_ scope: AccessScope) {
        switch scope.resource {
        case .repository(let name):
            self.init(type: "repository", name: name.value, actions: scope.actions.sorted().map(\.rawValue))
        case .catalog:
            self.init(type: "registry", name: "catalog", actions: ["*"])
        }
    }
}

/// The claims of a registry token. Times are seconds since 1970, as JWTs write them.
public struct TokenClaims: Codable, Hashable, Sendable {
    /// Issuer: who signed the token.
    public var iss: String
    /// Subject: the account name (empty for anonymous).
    public var sub: String
    /// Audience: the registry service the token is for.
    public var aud: String
    public var iat: Int
    public var nbf: Int
    public var exp: Int
    /// A random token ID.
    public var jti: String
    public var access: [AccessEntry]
    /// Wharf's own claim: the long-lived credential the token was issued from (`app:ID` for an application token,
    /// `refresh:ID` for a refresh token), so revoking that credential also ends the tokens it produced. Other
    /// registries ignore it.
    public var credential: String?

    public init(
        iss: String,
        sub: String,
        aud: String,
        iat: Int,
        nbf: Int,
        exp: Int,
        jti: String,
        access: [AccessEntry],
        credential: String? = nil
    ) {
        self.iss = iss
        self.sub = sub
        self.aud = aud
        self.iat = iat
        self.nbf = nbf
        self.exp = exp
        self.jti = jti
        self.access = access
        self.credential = credential
    }

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, iat, nbf, exp, jti, access
        case credential = "wharf_cred"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        iss = try container.decode(String.self, forKey: .iss)
        sub = try container.decode(String.self, forKey: .sub)
        // RFC 7519 allows a single audience or a list; only a single one is ever issued.
        if let list = try? container.decode([String].self, forKey: .aud) {
            guard list.count == 1 else {
                throw DecodingError.dataCorruptedError(forKey: .aud, in: container, debugDescription: "expected one audience")
            }
            aud = list[0]
        } else {
            aud = try container.decode(String.self, forKey: .aud)
        }
        iat = try container.decode(Int.self, forKey: .iat)
        nbf = try container.decode(Int.self, forKey: .nbf)
        exp = try container.decode(Int.self, forKey: .exp)
        jti = try container.decode(String.self, forKey: .jti)
        access = try container.decodeIfPresent([AccessEntry].self, forKey: .access) ?? []
        credential = try container.decodeIfPresent(String.self, forKey: .credential)
    }

    /// Whether the token grants `action` on the repository `name`.
    public func allows(_ action: Action, on name: RepositoryName) -> Bool {
        access.contains { entry in
            entry.type == "repository" && entry.name == name.value && (entry.actions.contains(action.rawValue) || entry.actions.contains("*"))
        }
    }

    /// Whether the token grants reading the catalogue.
    public var allowsCatalog: Bool {
        access.contains { $0.type == "registry" && $0.name == "catalog" && $0.actions.contains("*") }
    }
}
