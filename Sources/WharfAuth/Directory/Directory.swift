import Foundation

/// A directory of people (LDAP) that the ``Authenticator`` asks for the logins it does not own, and that
/// ``DirectorySync`` reads for group → team sync and for entries that are gone. ``LDAPDirectory`` is the real one;
/// the protocol exists so that the code around it can be unit-tested with a fake.
///
/// Every method throws ``DirectoryUnavailable`` when no server of the directory answers in time (or answers with
/// something other than a verdict), and nothing else: a refusal is a value, never an error, so that "the directory
/// is down" can never be mistaken for "wrong password".
public protocol Directory: Sendable {
    /// Checks `password` for `login` (the value of the user attribute, as typed at `docker login` or on the
    /// sign-in page). An empty password is refused before any bind (an unauthenticated bind would succeed).
    func authenticate(login: String, password: String) async throws -> DirectoryLogin

    /// The entry at `dn` as it is now, nil when it no longer exists (or no longer matches the configured filter).
    func entry(dn: String) async throws -> DirectoryEntry?

    /// The groups under the group base whose members sync to teams, each with its members' DNs (for
    /// `memberUid` groups, the DNs of the entries those logins name). Empty when group sync is not configured.
    func groups() async throws -> [DirectoryGroup]

    /// Reachability as last seen, for the status page, the API and `wharf ldap check`.
    func status() async -> DirectoryStatus

    /// One round trip to see the directory answers (start-up, `wharf ldap check`).
    func probe() async throws

    /// Closes the connections (graceful shutdown).
    func shutdown() async
}

extension Directory {
    /// Nothing to ask.
    public func probe() async throws {}

    /// Nothing to close.
    public func shutdown() async {}
}

/// A person as the directory describes them.
public struct DirectoryEntry: Sendable, Equatable {
    /// The entry's distinguished name, as the server returns it: what a Wharf user is linked by.
    public var dn: String
    /// The value of the user attribute (`uid`, `cn`, `sAMAccountName`): the login name.
    public var login: String
    public var email: String?
    public var displayName: String?
    /// Whether the entry is a member of the admin group; nil when no admin group is configured.
    public var isAdmin: Bool?

    public init(dn: String, login: String, email: String? = nil, displayName: String? = nil, isAdmin: Bool? = nil) {
        self.dn = dn
        self.login = login
        self.email = email
        self.displayName = displayName
        self.isAdmin = isAdmin
    }
}

/// The verdict on a login.
public enum DirectoryLogin: Sendable, Equatable {
    /// The password binds as this entry.
    case accepted(DirectoryEntry)
    /// Unknown login, several entries for it, an empty or wrong password: `reason` is for the log, never the client.
    case refused(reason: String)
}

/// A group whose members become members of the team of the same name.
public struct DirectoryGroup: Sendable, Equatable {
    /// The group's name (its `cn`): the team it syncs to.
    public var name: String
    public var dn: String
    /// Distinguished names of the entries the group lists.
    public var memberDNs: [String]

    public init(name: String, dn: String, memberDNs: [String]) {
        self.name = name
        self.dn = dn
        self.memberDNs = memberDNs
    }
}

/// No server of the directory gave an answer (down, timed out, TLS refused, the bind account refused).
public struct DirectoryUnavailable: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "directory unavailable: \(message)" }
}

/// What is known of the directory's health.
public struct DirectoryStatus: Sendable, Equatable {
    /// Whether the last operation reached a server.
    public var reachable: Bool
    /// The server URL that answered last (fail-over moves it).
    public var url: String?
    /// The last failure to reach the directory, if any, and when.
    public var lastError: String?
    public var lastErrorAt: Date?

    public init(reachable: Bool, url: String? = nil, lastError: String? = nil, lastErrorAt: Date? = nil) {
        self.reachable = reachable
        self.url = url
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
    }
}
