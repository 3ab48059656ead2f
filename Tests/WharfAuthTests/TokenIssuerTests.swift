import Crypto
import Foundation
import Testing
import WharfCore
import _CryptoExtras

@testable import WharfAuth

@Suite struct TokenIssuerTests {
    static let issuer = "wharf.example.com"
    static let service = "registry.example.com"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func makeIssuer(issuer: String = TokenIssuerTests.issuer, lifetime: Duration = .seconds(900)) throws -> TokenIssuer {
        try TokenIssuer(privateKeyPEM: testKeyPEM, issuer: issuer, lifetime: lifetime)
    }

    func scopes(_ texts: String...) throws -> [AccessScope] {
        try AccessScope.parseAll(texts)
    }

    // MARK: Encoding helpers written independently of the module's.

    static func b64url(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unb64url(_ text: some StringProtocol) -> Data {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)!
    }

    static func json(_ segment: some StringProtocol) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: unb64url(segment)) as! [String: Any]
    }

    /// RFC 4648 base32 by bit string, deliberately unlike the module's implementation.
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let bits = bytes.map { byte in String(repeating: "0", count: 8 - String(byte, radix: 2).count) + String(byte, radix: 2) }.joined()
        let padded = bits + String(repeating: "0", count: (5 - bits.count % 5) % 5)
        var output = ""
        var index = padded.startIndex
        while index < padded.endIndex {
            let next = padded.index(index, offsetBy: 5)
            output.append(alphabet[Int(padded[index..<next], radix: 2)!])
            index = next
        }
        return output
    }

    static func grouped(_ text: String) -> String {
        var groups: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            groups.append(String(rest.prefix(4)))
            rest = rest.dropFirst(4)
        }
        return groups.joined(separator: ":")
    }

    // MARK: Issuing

    @Test func keyIDMatchesTheLibtrustFingerprintOfAKnownKey() throws {
        #expect(try makeIssuer().keyID == testKeyID)
    }

    @Test func keyIDMatchesAFingerprintComputedByHand() throws {
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: testKeyPEM)
        let digest = Array(SHA256.hash(data: key.publicKey.derRepresentation))
        let kid = Self.grouped(Self.base32(Array(digest.prefix(30))))
        #expect(kid.count == 48 + 11)
        #expect(kid == testKeyID)
        #expect(TokenIssuer.libtrustKeyID(spkiDER: key.publicKey.derRepresentation) == kid)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func keyIDMatchesOpenSSLForAFreshKey() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("key.pem")
        try key.pemRepresentation.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["pkey", "-in", file.path, "-pubout", "-outform", "DER"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let der = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let expected = Self.grouped(Self.base32(Array(Array(SHA256.hash(data: der)).prefix(30))))
        let issuer = try TokenIssuer(privateKeyPEM: key.pemRepresentation, issuer: Self.issuer, lifetime: .seconds(900))
        #expect(issuer.keyID == expected)
    }

    @Test func issuesTheSpecifiedHeaderAndClaims() throws {
        let issuer = try makeIssuer()
        let issued = try issuer.issue(
            subject: "alice",
            audience: Self.service,
            access: scopes("repository:alice/app:push,pull", "registry:catalog:*"),
            now: Self.now
        )
        let parts = issued.token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        let header = try Self.json(parts[0])
        #expect(header["alg"] as? String == "RS256")
        #expect(header["typ"] as? String == "JWT")
        #expect(header["kid"] as? String == testKeyID)
        let claims = try Self.json(parts[1])
        let iat = Int(Self.now.timeIntervalSince1970)
        #expect(claims["iss"] as? String == Self.issuer)
        #expect(claims["sub"] as? String == "alice")
        #expect(claims["aud"] as? String == Self.service)
        #expect(claims["iat"] as? Int == iat)
        #expect(claims["nbf"] as? Int == iat - 5)
        #expect(claims["exp"] as? Int == iat + 900)
        #expect((claims["jti"] as? String)?.isEmpty == false)
        let access = claims["access"] as? [[String: Any]]
        #expect(access?.count == 2)
        #expect(access?[0]["type"] as? String == "registry")
        #expect(access?[0]["name"] as? String == "catalog")
        #expect(access?[0]["actions"] as? [String] == ["*"])
        #expect(access?[1]["type"] as? String == "repository")
        #expect(access?[1]["name"] as? String == "alice/app")
        #expect(access?[1]["actions"] as? [String] == ["pull", "push"])
        #expect(issued.expiresIn == 900)
        #expect(issued.issuedAt == Self.now)
    }

    @Test func signatureIsRS256OverTheSigningInput() throws {
        let issued = try makeIssuer().issue(subject: "alice", audience: Self.service, access: [], now: Self.now)
        let parts = issued.token.split(separator: ".")
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: testKeyPEM).publicKey
        let signature = _RSA.Signing.RSASignature(rawRepresentation: Self.unb64url(parts[2]))
        let input = Data("\(parts[0]).\(parts[1])".utf8)
        #expect(key.isValidSignature(signature, for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5))
    }

    @Test func scopesWithoutActionsAreOmitted() throws {
        let denied = AccessScope(.repository(try RepositoryName("team/secret")), actions: [])
        let issued = try makeIssuer().issue(subject: "bob", audience: Self.service, access: [denied], now: Self.now)
        #expect(issued.claims.access.isEmpty)
    }

    @Test func lifetimeIsConfigurable() throws {
        let issued = try makeIssuer(lifetime: .seconds(3600)).issue(subject: "a", audience: Self.service, access: [], now: Self.now)
        #expect(issued.expiresIn == 3600)
        #expect(issued.claims.exp == issued.claims.iat + 3600)
    }

    @Test func tokenIDsAreRandom() throws {
        let issuer = try makeIssuer()
        let ids = try (0..<20).map { _ in try issuer.issue(subject: "a", audience: Self.service, access: [], now: Self.now).claims.jti }
        #expect(Set(ids).count == 20)
    }

    @Test func rejectsAKeyThatIsNotRSA() {
        #expect(throws: AuthError.self) { try TokenIssuer(privateKeyPEM: "not a key", issuer: Self.issuer, lifetime: .seconds(900)) }
    }

    // MARK: Verifying

    @Test func roundTrip() async throws {
        let issuer = try makeIssuer()
        let issued = try issuer.issue(subject: "alice", audience: Self.service, access: scopes("repository:alice/app:pull"), now: Self.now)
        let claims = try await issuer.verify(issued.token, audience: Self.service, now: Self.now)
        #expect(claims == issued.claims)
        #expect(claims.allows(.pull, on: try RepositoryName("alice/app")))
        #expect(!claims.allows(.push, on: try RepositoryName("alice/app")))
        #expect(!claims.allowsCatalog)
    }

    @Test func tokenForRepositoryADoesNotAllowB() async throws {
        let issuer = try makeIssuer()
        let issued = try issuer.issue(subject: "alice", audience: Self.service, access: scopes("repository:team/a:pull,push,delete"), now: Self.now)
        let claims = try await issuer.verify(issued.token, audience: Self.service, now: Self.now)
        let a = try RepositoryName("team/a")
        for action in Action.repositoryActions {
            #expect(claims.allows(action, on: a))
            #expect(!claims.allows(action, on: try RepositoryName("team/b")))
            #expect(!claims.allows(action, on: try RepositoryName("team/a/b")))
            #expect(!claims.allows(action, on: try RepositoryName("team")))
        }
    }

    @Test func catalogClaim() async throws {
        let issuer = try makeIssuer()
        let issued = try issuer.issue(subject: "admin", audience: Self.service, access: scopes("registry:catalog:*"), now: Self.now)
        let claims = try await issuer.verify(issued.token, audience: Self.service, now: Self.now)
        #expect(claims.allowsCatalog)
        #expect(!claims.allows(.pull, on: try RepositoryName("catalog")))
    }

    func expectRejected(
        _ token: String,
        _ code: AuthError.Code,
        issuer: TokenIssuer? = nil,
        audience: String = TokenIssuerTests.service,
        now: Date = TokenIssuerTests.now
    ) async throws {
        let verifier = try issuer ?? makeIssuer()
        let error = await #expect(throws: AuthError.self) {
            try await verifier.verify(token, audience: audience, now: now)
        }
        #expect(error?.code == code)
    }

    func validToken(_ issuer: TokenIssuer? = nil) throws -> String {
        try (issuer ?? makeIssuer()).issue(subject: "alice", audience: Self.service, access: scopes("repository:alice/app:pull"), now: Self.now).token
    }

    /// A token with the given header and claims, signed by `sign` over the signing input.
    func forge(header: [String: Any], claims: [String: Any], sign: (Data) throws -> Data) throws -> String {
        let h = Self.b64url(try JSONSerialization.data(withJSONObject: header))
        let p = Self.b64url(try JSONSerialization.data(withJSONObject: claims))
        return "\(h).\(p).\(Self.b64url(try sign(Data("\(h).\(p)".utf8))))"
    }

    /// An RS256 signer for ``forge(header:claims:sign:)``.
    static func rs256(_ key: _RSA.Signing.PrivateKey) -> (Data) throws -> Data {
        { try key.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation }
    }

    func goodClaims() -> [String: Any] {
        let iat = Int(Self.now.timeIntervalSince1970)
        return [
            "iss": Self.issuer, "sub": "alice", "aud": Self.service, "iat": iat, "nbf": iat - 5, "exp": iat + 900, "jti": "x",
            "access": [["type": "repository", "name": "alice/app", "actions": ["pull", "push", "delete"]]],
        ]
    }

    @Test func forgedTokenSignedWithTheRealKeyVerifies() async throws {
        // The forging helper itself is sound: with the real key and algorithm the token is accepted.
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: testKeyPEM)
        let token = try forge(header: ["alg": "RS256", "typ": "JWT", "kid": testKeyID], claims: goodClaims(), sign: Self.rs256(key))
        let claims = try await makeIssuer().verify(token, audience: Self.service, now: Self.now)
        #expect(claims.allows(.delete, on: try RepositoryName("alice/app")))
    }

    @Test func algNone() async throws {
        for alg in ["none", "None", "NONE"] {
            let token = try forge(header: ["alg": alg, "typ": "JWT", "kid": testKeyID], claims: goodClaims()) { _ in Data() }
            try await expectRejected(token, .tokenAlgorithm)
            // Also with some signature bytes.
            let signed = try forge(header: ["alg": alg, "kid": testKeyID], claims: goodClaims()) { _ in Data([1, 2, 3]) }
            try await expectRejected(signed, .tokenAlgorithm)
        }
    }

    @Test func hs256WithThePublicKeyAsSecret() async throws {
        let publicKey = try _RSA.Signing.PrivateKey(pemRepresentation: testKeyPEM).publicKey
        for secret in [Data(publicKey.pemRepresentation.utf8), publicKey.derRepresentation, Data(testKeyID.utf8)] {
            let token = try forge(header: ["alg": "HS256", "typ": "JWT", "kid": testKeyID], claims: goodClaims()) {
                Data(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: secret)))
            }
            try await expectRejected(token, .tokenAlgorithm)
        }
    }

    @Test func otherAlgorithms() async throws {
        for alg in ["RS384", "RS512", "PS256", "ES256", "rs256", "RS256 "] {
            let token = try forge(header: ["alg": alg, "kid": testKeyID], claims: goodClaims()) { _ in Data(repeating: 7, count: 256) }
            try await expectRejected(token, .tokenAlgorithm)
        }
    }

    @Test func criticalHeadersAreRefused() async throws {
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: testKeyPEM)
        let token = try forge(header: ["alg": "RS256", "kid": testKeyID, "crit": ["exp"]], claims: goodClaims(), sign: Self.rs256(key))
        try await expectRejected(token, .tokenAlgorithm)
    }

    @Test func anotherKeyWithOurKeyID() async throws {
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let token = try forge(header: ["alg": "RS256", "typ": "JWT", "kid": testKeyID], claims: goodClaims(), sign: Self.rs256(other))
        try await expectRejected(token, .tokenSignature)
    }

    @Test func tokenOfAnotherIssuerKey() async throws {
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let otherIssuer = try TokenIssuer(privateKeyPEM: other.pemRepresentation, issuer: Self.issuer, lifetime: .seconds(900))
        try await expectRejected(try validToken(otherIssuer), .tokenUnknownKey)
        let noKeyID = try forge(header: ["alg": "RS256", "typ": "JWT"], claims: goodClaims(), sign: Self.rs256(other))
        try await expectRejected(noKeyID, .tokenUnknownKey)
    }

    @Test func expired() async throws {
        let token = try validToken()
        try await expectRejected(token, .tokenExpired, now: Self.now.addingTimeInterval(900 + 5))
        try await expectRejected(token, .tokenExpired, now: Self.now.addingTimeInterval(86_400))
        // Within the leeway it still holds.
        _ = try await makeIssuer().verify(token, audience: Self.service, now: Self.now.addingTimeInterval(900 + 4))
    }

    @Test func notYetValid() async throws {
        let token = try validToken()
        try await expectRejected(token, .tokenNotYetValid, now: Self.now.addingTimeInterval(-11))
        try await expectRejected(token, .tokenNotYetValid, now: Self.now.addingTimeInterval(-3600))
        // nbf is iat - 5 s, plus 5 s of leeway.
        _ = try await makeIssuer().verify(token, audience: Self.service, now: Self.now.addingTimeInterval(-10))
    }

    @Test func wrongAudience() async throws {
        try await expectRejected(try validToken(), .tokenAudience, audience: "other.example.com")
        var claims = goodClaims()
        claims["aud"] = [Self.service, "other.example.com"]
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: testKeyPEM)
        let token = try forge(header: ["alg": "RS256", "kid": testKeyID], claims: claims, sign: Self.rs256(key))
        try await expectRejected(token, .tokenMalformed)
    }

    @Test func wrongIssuer() async throws {
        // Same key, another issuer name: the signature holds but the issuer does not.
        let evil = try makeIssuer(issuer: "evil.example.com")
        try await expectRejected(try validToken(evil), .tokenIssuer)
    }

    @Test func tamperedPayload() async throws {
        let token = try validToken()
        let parts = token.split(separator: ".").map(String.init)
        var claims = try Self.json(parts[1])
        claims["access"] = [["type": "repository", "name": "alice/app", "actions": ["pull", "push", "delete"]]]
        let payload = Self.b64url(try JSONSerialization.data(withJSONObject: claims))
        try await expectRejected("\(parts[0]).\(payload).\(parts[2])", .tokenSignature)
        // Swapping in another valid token's payload fails too.
        let other = try makeIssuer().issue(subject: "admin", audience: Self.service, access: [], now: Self.now).token
        try await expectRejected("\(parts[0]).\(other.split(separator: ".")[1]).\(parts[2])", .tokenSignature)
    }

    @Test func tamperedHeader() async throws {
        let token = try validToken()
        let parts = token.split(separator: ".").map(String.init)
        let header = Self.b64url(Data(#"{"alg":"RS256","typ":"JWT","kid":"\#(testKeyID)","x":1}"#.utf8))
        try await expectRejected("\(header).\(parts[1]).\(parts[2])", .tokenSignature)
    }

    @Test func tamperedSignature() async throws {
        let token = try validToken()
        var bytes = Array(token.utf8)
        let index = bytes.count - 10
        bytes[index] = bytes[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try await expectRejected(String(decoding: bytes, as: UTF8.self), .tokenSignature)
    }

    @Test func truncated() async throws {
        let token = try validToken()
        let parts = token.split(separator: ".").map(String.init)
        try await expectRejected("\(parts[0]).\(parts[1])", .tokenMalformed)
        try await expectRejected("\(parts[0]).\(parts[1]).", .tokenSignature)
        try await expectRejected(String(token.dropLast(4)), .tokenSignature)
        try await expectRejected(String(token.prefix(token.count / 2)), .tokenMalformed)
        try await expectRejected("", .tokenMalformed)
        try await expectRejected("..", .tokenMalformed)
    }

    @Test func garbage() async throws {
        let token = try validToken()
        let parts = token.split(separator: ".").map(String.init)
        for bad in [
            "not a token", "a.b.c", "\(parts[0])==.\(parts[1]).\(parts[2])", "\(parts[0]).\(parts[1])+/.\(parts[2])",
            "\(parts[0]). \(parts[1]).\(parts[2])", "\(parts[0]).\(parts[1]).\(parts[2]).\(parts[2])",
            "\(Self.b64url(Data("[]".utf8))).\(parts[1]).\(parts[2])",
        ] {
            try await expectRejected(bad, .tokenMalformed)
        }
    }

    @Test func missingClaimsAreMalformed() async throws {
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: testKeyPEM)
        for missing in ["iss", "aud", "exp", "nbf", "sub", "iat", "jti"] {
            var claims = goodClaims()
            claims[missing] = nil
            let token = try forge(header: ["alg": "RS256", "kid": testKeyID], claims: claims, sign: Self.rs256(key))
            try await expectRejected(token, .tokenMalformed)
        }
    }

    // MARK: The verified-token cache

    @Test func verificationsAreCachedButStillTimeAndAudienceChecked() async throws {
        let issuer = try makeIssuer()
        let token = try validToken(issuer)
        _ = try await issuer.verify(token, audience: Self.service, now: Self.now)
        _ = try await issuer.verify(token, audience: Self.service, now: Self.now)
        #expect(issuer.cachedCount == 1)
        try await expectRejected(token, .tokenAudience, issuer: issuer, audience: "other.example.com")
        try await expectRejected(token, .tokenExpired, issuer: issuer, now: Self.now.addingTimeInterval(3600))
        try await expectRejected(token, .tokenNotYetValid, issuer: issuer, now: Self.now.addingTimeInterval(-3600))
    }

    @Test func cacheIsBounded() async throws {
        let issuer = try TokenIssuer(privateKeyPEM: testKeyPEM, issuer: Self.issuer, lifetime: .seconds(900), cacheLimit: 4)
        for _ in 0..<10 {
            let token = try validToken(issuer)
            _ = try await issuer.verify(token, audience: Self.service, now: Self.now)
        }
        #expect(issuer.cachedCount <= 4)
    }

    @Test func rejectedTokensAreNotCached() async throws {
        let issuer = try makeIssuer()
        let parts = try validToken(issuer).split(separator: ".").map(String.init)
        try await expectRejected("\(parts[0]).\(parts[1]).\(parts[2].dropLast(2))AA", .tokenSignature, issuer: issuer)
        try await expectRejected(try validToken(issuer), .tokenAudience, issuer: issuer, audience: "x")
        #expect(issuer.cachedCount == 0)
    }
}
