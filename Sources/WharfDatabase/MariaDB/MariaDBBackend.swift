/// MariaDB or MySQL through MariaDB Connector/C: a server shared by every Wharf replica.
public struct MariaDBBackend: SQLBackend {
    public let location: DatabaseLocation.MySQL

    public init(_ location: DatabaseLocation.MySQL) { self.location = location }

    public var dialect: SQLDialect { .mysql }
    public var maxConnections: Int { location.poolSize }
    public var displayName: String { location.displayName }

    public func connect() throws -> any SQLConnection { try MariaDBConnection(location) }

    /// A named server lock (`GET_LOCK`): held by this connection's session, so it is released when the
    /// connection dies too. Replicas starting at once queue on it; the first applies, the others find nothing
    /// left to do.
    public func withMigrationLock<T>(on connection: any SQLConnection, _ body: () throws -> T) throws -> T {
        let name = String("wharf.migrate.\(location.database)".prefix(64))
        let rows = try connection.query("SELECT GET_LOCK(?, 300) AS locked", [.text(name)])
        guard try rows.first?.decode("locked", as: Int?.self) == 1 else {
            throw DatabaseError(.timeout, "another process held the migration lock for 5 minutes")
        }
        defer { _ = try? connection.query("SELECT RELEASE_LOCK(?) AS released", [.text(name)]) }
        return try body()
    }
}
