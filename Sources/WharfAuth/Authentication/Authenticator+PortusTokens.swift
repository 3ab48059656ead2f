import WharfCore
import WharfDatabase

extension Authenticator {
    /// The caller when `password` is one of `user`'s application tokens imported from Portus and not used since:
    /// checked with bcrypt (Portus kept nothing else) and then re-stored as Wharf's keyed hash, so it is found by
    /// ``checkCredentials`` without bcrypt from then on. Only reached after the password itself failed, for
    /// passwords shaped like Portus's tokens, and only costs bcrypt checks while such tokens remain (at most five
    /// per user).
    func importedPortusToken(
        _ password: String,
        user: User,
        client: String,
        admit: @escaping @Sendable () -> AuthError?
    ) async throws
        -> Caller?
    {
        guard user.enabled, PortusToken.mayBeToken(password) else { return nil }
        let tokens = try await pool.read { transaction in try transaction.tokens.list(userID: user.id) }
        for token in tokens where !token.isExpired() {
            guard let hash = PortusToken.bcryptHash(token.tokenHash) else { continue }
            guard try await passwords.verify(password, against: hash, client: client, admit: admit) else { continue }
            let keyed = applicationTokens.hash(password)
            _ = try await pool.write { transaction in try transaction.tokens.replaceHash(id: token.id, old: token.tokenHash, new: keyed) }
            logger.info("an application token imported from Portus was used: stored as Wharf's keyed hash", metadata: ["user": "\(user.name)"])
            recorder.applicationTokenUsed(token.id)
            return Caller(subject: Self.subject(user), credential: CredentialID.applicationToken(token.id).description)
        }
        return nil
    }
}
