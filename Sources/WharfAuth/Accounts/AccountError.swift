/// Why an account operation (CLI, later the portal and the API) was refused. Every code is something the caller
/// can cause; ``description`` is one line, ready for `wharf: …` on standard error.
public struct AccountError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The name is not a valid namespace component (users share the namespace grammar).
        public static let nameInvalid = Code("nameInvalid")
        /// A user (or, for a new person, a namespace) with that name exists.
        public static let userExists = Code("userExists")
        public static let unknownUser = Code("unknownUser")
        /// The user already has ``AccountService/maximumTokensPerUser`` application tokens.
        public static let tooManyTokens = Code("tooManyTokens")
        public static let tokenExists = Code("tokenExists")
        public static let unknownToken = Code("unknownToken")
        /// A token expiry that is already past (or, for a scoped token, missing or more than a year ahead).
        public static let expiryInvalid = Code("expiryInvalid")
        /// A scoped token's repository pattern breaks the grammar (``RepositoryPattern``).
        public static let patternInvalid = Code("patternInvalid")
        /// A scoped token's actions are not `pull` or `pull,push`.
        public static let actionsInvalid = Code("actionsInvalid")
        public static let unknownTeam = Code("unknownTeam")
        public static let teamExists = Code("teamExists")
        public static let unknownNamespace = Code("unknownNamespace")
        public static let namespaceExists = Code("namespaceExists")
        /// The change would break a rule (a personal namespace cannot change hands, a team keeps an owner).
        public static let notAllowed = Code("notAllowed")
        /// The caller may not do this (it is not an admin, nor an owner of the namespace's team); whatever the
        /// input, asking again will not help (403 on the API).
        public static let denied = Code("denied")
        /// Storage holds content under the namespace but the database has no owner for it (an admin adopts or
        /// purges it first).
        public static let unownedContent = Code("unownedContent")
        /// A user's personal namespace holds repositories: deleting the user must say what becomes of them.
        public static let namespaceNotEmpty = Code("namespaceNotEmpty")
        /// There is no content without an owner to adopt or purge under that name.
        public static let noContent = Code("noContent")
        /// The password breaks the rules of `PasswordHasher.validate`.
        public static let weakPassword = Code("weakPassword")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
