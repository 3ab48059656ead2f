/// One result row: values by column position, with the column names shared by all rows of a result.
public struct SQLRow: Sendable {
    public let columns: SQLColumns
    public let values: [SQLValue]

    public init(columns: SQLColumns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of `column` as `T`; fails with a clear error when the column is missing or of another type.
    public func decode<T: SQLValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.index(of: column) else {
            throw DatabaseError(.query, "result has no column \(column)")
        }
        guard let value = T(sqlValue: values[index]) else {
            throw DatabaseError(.query, "column \(column) holds \(values[index]), not \(T.self)")
        }
        return value
    }

    public subscript(_ column: String) -> SQLValue? {
        columns.index(of: column).map { values[$0] }
    }
}

/// The column names of a result, looked up by name (lower-cased, as servers differ in case).
public final class SQLColumns: Sendable {
    public let names: [String]
    let indexes: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        var indexes: [String: Int] = [:]
        for (index, name) in names.enumerated() where indexes[name.lowercased()] == nil { indexes[name.lowercased()] = index }
        self.indexes = indexes
    }

    func index(of name: String) -> Int? { indexes[name] ?? indexes[name.lowercased()] }
}
