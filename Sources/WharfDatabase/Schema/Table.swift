/// A table as data, rendered to DDL by each `SQLDialect`: the schema is written once for both engines.
struct Table: Sendable {
    var name: String
    var columns: [Column]
    /// For tables without an `id` column.
    var primaryKey: [String] = []
    var indexes: [Index] = []
}

struct Column: Sendable {
    enum Kind: Sendable, Equatable {
        /// The auto-incremented primary key.
        case id
        case integer
        case boolean
        /// Milliseconds since 1970-01-01 UTC: time zones cannot creep in, on either engine.
        case timestamp
        /// A short indexed string: up to 255 UTF-8 bytes.
        case name
        /// Free text up to `Validation.maxTextBytes`.
        case text
        /// The id of a row in another table.
        case reference(String, onDelete: ReferenceAction)
    }

    var name: String
    var kind: Kind
    var nullable = false
    var defaultValue: String? = nil

    static func id() -> Column { Column(name: "id", kind: .id) }
    static func integer(_ name: String, null: Bool = false, default value: String? = nil) -> Column {
        Column(name: name, kind: .integer, nullable: null, defaultValue: value)
    }
    static func boolean(_ name: String) -> Column { Column(name: name, kind: .boolean, defaultValue: "0") }
    static func timestamp(_ name: String, null: Bool = false) -> Column { Column(name: name, kind: .timestamp, nullable: null) }
    static func name(_ name: String, null: Bool = false) -> Column { Column(name: name, kind: .name, nullable: null) }
    static func text(_ name: String, null: Bool = false) -> Column { Column(name: name, kind: .text, nullable: null) }
    static func reference(_ name: String, to table: String, onDelete: ReferenceAction = .cascade, null: Bool = false) -> Column {
        Column(name: name, kind: .reference(table, onDelete: onDelete), nullable: null)
    }
}

enum ReferenceAction: String, Sendable, Equatable {
    case cascade = "CASCADE"
    case setNull = "SET NULL"
    case restrict = "RESTRICT"
}

struct Index: Sendable {
    var name: String
    var columns: [String]
    var unique = false

    static func unique(_ name: String, _ columns: String...) -> Index { Index(name: name, columns: columns, unique: true) }
    static func index(_ name: String, _ columns: String...) -> Index { Index(name: name, columns: columns) }
}
