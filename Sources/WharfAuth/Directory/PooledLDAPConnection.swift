/// Carries an ``LDAPConnection`` between ``LDAPPool`` (which keeps it idle) and the pool's threads (which use it).
///
/// `@unchecked Sendable`: the connection is used by one borrower at a time, whose calls run one after another on
/// a pool thread; the actor hands it out only when nobody holds it and closes it only after it was returned.
final class PooledLDAPConnection: @unchecked Sendable {
    let connection: LDAPConnection
    /// Whether it has served a borrower before: a failure on a reused connection may only mean that the server
    /// restarted since, and is worth one retry on a fresh connection.
    var reused = false

    init(_ connection: LDAPConnection) { self.connection = connection }
}
