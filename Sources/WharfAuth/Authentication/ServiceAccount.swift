/// The service account (Portus's `portus`): configured, not stored; it pulls everything and reads the catalogue.
/// Its password costs what a user's does to check: a bcrypt hash made once at start-up, so it cannot be guessed
/// faster than anyone else's (a SHA-256 compare allowed about 1,000 guesses a second).
public struct ServiceAccount: Sendable {
    /// The shortest service password accepted: it is typed by no person, only pasted into configuration.
    public static let minimumPasswordLength = 16

    public var name: String
    let passwordHash: String

    /// Hashes `password` now, on the calling thread (start-up only: it takes about 0.25 s at cost 12).
    public init(name: String, password: String, hasher: PasswordHasher) throws(AuthError) {
        self.name = name
        passwordHash = try hasher.hashNow(password, minimumLength: Self.minimumPasswordLength)
    }

    public var subject: TokenSubject { TokenSubject(name: name, kind: .service, userID: nil) }
}
