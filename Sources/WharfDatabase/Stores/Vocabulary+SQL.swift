import WharfCore

// The shared vocabulary (WharfCore) is stored by its names.

extension TeamRole: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(rawValue) }
    public init?(sqlValue: SQLValue) { self.init(rawValue: String(sqlValue: sqlValue) ?? "") }
}

extension NamespaceKind: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(rawValue) }
    public init?(sqlValue: SQLValue) { self.init(rawValue: String(sqlValue: sqlValue) ?? "") }
}

extension Visibility: SQLValueConvertible {
    public var sqlValue: SQLValue { .text(rawValue) }
    public init?(sqlValue: SQLValue) { self.init(rawValue: String(sqlValue: sqlValue) ?? "") }
}
