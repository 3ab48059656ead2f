import Crypto
import Foundation
import WharfCore
import _CryptoExtras

/// A signed registry token and what the token endpoint reports about it.
public struct IssuedToken: Sendable {
    /// The compact JWS.
    public var token: String
    public var claims: TokenClaims
    /// Seconds from issue to expiry.
    public var expiresIn: Int
    public var issuedAt: Date
}

/// Issues and verifies the registry's RS256 JWTs (the Docker token specification's bearer tokens).
///
/// It owns the signing key and a small cache of verified tokens, so the requests of one push do not pay for an
/// RSA verification each. The cache is an ``ExpiringCache`` (a map behind a lock) rather than actor state: every
/// registry request looks a token up, and the lookup (about 300 ns) is far cheaper than the two task switches of
/// an actor call; the RSA work runs in the caller's task (the key is immutable).
///
/// Verification fails closed: only `alg` RS256 with this key's `kid` is accepted, then the signature, `iss`,
/// `aud` and the `nbf`/`exp` window (with ``leeway`` for clock skew) are checked before any claim is believed.
public final class TokenIssuer: Sendable {
    /// The signing key's libtrust fingerprint, the tokens' `kid`.
    public let keyID: String
    /// The `iss` written into and required from tokens.
    public let issuer: String
    /// How long an issued token is valid (`auth.token_expiry`).
    public let lifetime: Duration
    /// Clock skew tolerated on `nbf` and `exp` when verifying.
    public let leeway: Duration
    /// How far before `iat` a token becomes valid (`nbf` = `iat` − 5 s, as Portus wrote it).
    public static let notBeforeSkew = 5

    private let privateKey: _RSA.Signing.PrivateKey
    private let publicKey: _RSA.Signing.PublicKey
    private let encodedHeader: String
    /// Verified claims by token. Only the signature check is remembered: the time window and audience are checked
    /// on every use, so an entry may outlive its token; it lives as long as a token is valid, which bounds memory.
    private let cache: ExpiringCache<String, TokenClaims>

    /// - Parameters:
    ///   - privateKeyPEM: the server key (`certs/server.key`), RSA of at least 2048 bits.
    ///   - cacheLimit: verified tokens kept; past it, expired entries are dropped, then the cache is emptied.
    public init(
        privateKeyPEM: String,
        issuer: String,
        lifetime: Duration,
        leeway: Duration = .seconds(5),
        cacheLimit: Int = 4096
    ) throws(AuthError) {
        do {
            privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw AuthError(.keyInvalid, "the token signing key is not an RSA private key of at least 2048 bits")
        }
        publicKey = privateKey.publicKey
        keyID = Self.libtrustKeyID(spkiDER: publicKey.derRepresentation)
        self.issuer = issuer
        self.lifetime = lifetime
        self.leeway = leeway
        cache = ExpiringCache(lifetime: lifetime + leeway, limit: cacheLimit)
        encodedHeader = Base64URL.encode(Data(#"{"alg":"RS256","typ":"JWT","kid":"\#(keyID)"}"#.utf8))
    }

    /// The libtrust key ID of a public key: SHA-256 of its SubjectPublicKeyInfo DER, the first 240 bits in base32
    /// (48 characters), in 12 groups of 4 joined by `:`. distribution matches it against its `rootcertbundle`.
    public static func libtrustKeyID(spkiDER: some DataProtocol) -> String {
        let digest = Array(SHA256.hash(data: spkiDER)).prefix(30)
        let encoded = Array(Base32.encode(digest))
        return stride(from: 0, to: encoded.count, by: 4).map { String(encoded[$0..<min($0 + 4, encoded.count)]) }.joined(separator: ":")
    }

    /// Signs a token for `subject` (empty for anonymous) and `audience` (the registry service) granting `access`
    /// (already filtered by ``PermissionRules``; scopes left without actions are omitted).
    /// `credential` names the application or refresh token the caller logged in with (see ``TokenClaims/credential``).
    public func issue(
        subject: String,
        audience: String,
        access: [AccessScope],
        credential: String? = nil,
        now: Date = Date()
    ) throws -> IssuedToken {
        let issuedAt = Int(now.timeIntervalSince1970)
        let lifetimeSeconds = Int(lifetime.components.seconds)
        let claims = TokenClaims(
            iss: issuer,
            sub: subject,
            aud: audience,
            iat: issuedAt,
            nbf: issuedAt - Self.notBeforeSkew,
            exp: issuedAt + lifetimeSeconds,
            jti: Base64URL.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }),
            access: access.filter { !$0.actions.isEmpty }.map(AccessEntry.init),
            credential: credential
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let signingInput = encodedHeader + "." + Base64URL.encode(try encoder.encode(claims))
        let signature = try privateKey.signature(for: SHA256.hash(data: Data(signingInput.utf8)), padding: .insecurePKCS1v1_5)
        let token = signingInput + "." + Base64URL.encode(signature.rawRepresentation)
        return IssuedToken(token: token, claims: claims, expiresIn: lifetimeSeconds, issuedAt: Date(timeIntervalSince1970: TimeInterval(issuedAt)))
    }

    /// Verifies `token` for `audience` and returns its claims; a cached verification is reused while the token's
    /// time window holds.
    ///
    /// With `acceptingExpired`, a token whose only fault is `exp` is returned too (with ``TokenClaims/exp`` telling
    /// the caller): the registry uses it to let an upload started while the token was valid finish.
    public func verify(
        _ token: String,
        audience: String,
        now: Date = Date(),
        acceptingExpired: Bool = false
    ) async throws(AuthError) -> TokenClaims {
        if let claims = cache.value(for: token) {
            try checkTimeAndAudience(claims, audience: audience, now: now, acceptingExpired: acceptingExpired)
            return claims
        }
        let claims = try verifySignatureAndIssuer(token)
        try checkTimeAndAudience(claims, audience: audience, now: now, acceptingExpired: acceptingExpired)
        cache.set(claims, for: token)
        return claims
    }

    /// Whether `claims` are past their expiry (with ``leeway``) at `now`.
    public func isExpired(_ claims: TokenClaims, now: Date = Date()) -> Bool {
        Int(now.timeIntervalSince1970) - Int(leeway.components.seconds) >= claims.exp
    }

    /// The number of cached verifications (for tests and metrics).
    public var cachedCount: Int { cache.count }

    private struct Header: Decodable {
        var alg: String
        var kid: String?
        var typ: String?
        var crit: [String]?
    }

    private func verifySignatureAndIssuer(_ token: String) throws(AuthError) -> TokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(parts[0]), let payloadData = Base64URL.decode(parts[1]),
            let signatureData = Base64URL.decode(parts[2])
        else {
            throw AuthError(.tokenMalformed, "the token is not a compact JWS")
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData) else {
            throw AuthError(.tokenMalformed, "the token header is not valid JSON")
        }
        guard header.alg == "RS256", header.crit == nil, header.typ == nil || header.typ == "JWT" else {
            throw AuthError(.tokenAlgorithm, "only RS256 tokens are accepted")
        }
        guard header.kid == keyID else {
            throw AuthError(.tokenUnknownKey, "the token was not signed by this server's key")
        }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let signature = _RSA.Signing.RSASignature(rawRepresentation: signatureData)
        guard publicKey.isValidSignature(signature, for: SHA256.hash(data: signingInput), padding: .insecurePKCS1v1_5) else {
            throw AuthError(.tokenSignature, "the token signature does not verify")
        }
        guard let claims = try? JSONDecoder().decode(TokenClaims.self, from: payloadData) else {
            throw AuthError(.tokenMalformed, "the token claims are incomplete")
        }
        guard claims.iss == issuer else {
            throw AuthError(.tokenIssuer, "the token was issued by someone else")
        }
        return claims
    }

    private func checkTimeAndAudience(
        _ claims: TokenClaims,
        audience: String,
        now: Date,
        acceptingExpired: Bool
    ) throws(AuthError) {
        guard claims.aud == audience else {
            throw AuthError(.tokenAudience, "the token is for another service")
        }
        let seconds = Int(now.timeIntervalSince1970)
        let skew = Int(leeway.components.seconds)
        guard seconds + skew >= claims.nbf else {
            throw AuthError(.tokenNotYetValid, "the token is not valid yet")
        }
        guard acceptingExpired || seconds - skew < claims.exp else {
            throw AuthError(.tokenExpired, "the token has expired")
        }
    }
}
