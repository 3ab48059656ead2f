/// The SQL differences between the engines, kept in this one place: column types, table options, how a
/// transaction starts and how an upsert is written. Everything else (queries with `?` parameters, `LIMIT`,
/// joins) is written once and runs on both.
public enum SQLDialect: String, Sendable {
    case sqlite
    case mysql

    /// The column type for `type`, without nullability.
    func columnType(_ type: Column.Kind) -> String {
        switch (self, type) {
        case (.sqlite, .id): return "INTEGER PRIMARY KEY AUTOINCREMENT"
        case (.mysql, .id): return "BIGINT NOT NULL AUTO_INCREMENT"
        case (.sqlite, .integer), (.sqlite, .reference), (.sqlite, .timestamp), (.sqlite, .boolean): return "INTEGER"
        case (.mysql, .integer), (.mysql, .reference), (.mysql, .timestamp): return "BIGINT"
        case (.mysql, .boolean): return "TINYINT"
        // VARCHAR(255) holds 255 characters; names are limited to 255 UTF-8 bytes (`Validation`), so any valid name fits.
        case (.sqlite, .name): return "TEXT"
        case (.mysql, .name): return "VARCHAR(255)"
        // MEDIUMTEXT, not TEXT: TEXT stops at 65,535 bytes and free text may be up to `Validation.maxTextBytes`.
        case (.sqlite, .text): return "TEXT"
        case (.mysql, .text): return "MEDIUMTEXT"
        }
    }

    /// The statements that create `table` and its indexes when they do not exist yet.
    func createTable(_ table: Table) -> [String] {
        var lines: [String] = []
        for column in table.columns {
            var line = "\(column.name) \(columnType(column.kind))"
            if column.kind != .id { line += column.nullable ? " NULL" : " NOT NULL" }
            if let value = column.defaultValue { line += " DEFAULT \(value)" }
            if self == .sqlite, case .reference(let parent, let action) = column.kind {
                line += " REFERENCES \(parent) (id) ON DELETE \(action.rawValue)"
            }
            lines.append(line)
        }
        let hasID = table.columns.contains { $0.kind == .id }
        switch self {
        case .sqlite:
            if !hasID { lines.append("PRIMARY KEY (\(table.primaryKey.joined(separator: ", ")))") }
            let create = "CREATE TABLE IF NOT EXISTS \(table.name) (\n  \(lines.joined(separator: ",\n  "))\n)"
            return [create] + table.indexes.map { createIndex($0, on: table.name) }
        case .mysql:
            lines.append("PRIMARY KEY (\(hasID ? "id" : table.primaryKey.joined(separator: ", ")))")
            for index in table.indexes {
                lines.append("\(index.unique ? "UNIQUE KEY" : "KEY") \(index.name) (\(index.columns.joined(separator: ", ")))")
            }
            for column in table.columns {
                guard case .reference(let parent, let action) = column.kind else { continue }
                lines.append(
                    "CONSTRAINT fk_\(table.name)_\(column.name) FOREIGN KEY (\(column.name)) REFERENCES \(parent) (id) ON DELETE \(action.rawValue)"
                )
            }
            // utf8mb4 with a binary collation: any Unicode text (4-byte emoji too), compared exactly as SQLite does.
            return [
                "CREATE TABLE IF NOT EXISTS \(table.name) (\n  \(lines.joined(separator: ",\n  "))\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
            ]
        }
    }

    /// Adds a column (never a reference) to an existing table. MariaDB's DDL is not transactional, so its
    /// `IF NOT EXISTS` makes a re-run after a crash harmless; SQLite runs the migration in one transaction.
    func addColumn(_ column: Column, to table: String) -> String {
        var definition = "\(column.name) \(columnType(column.kind))"
        definition += column.nullable ? " NULL" : " NOT NULL"
        if let value = column.defaultValue { definition += " DEFAULT \(value)" }
        switch self {
        case .sqlite: return "ALTER TABLE \(table) ADD COLUMN \(definition)"
        case .mysql: return "ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS \(definition)"
        }
    }

    func createIndex(_ index: Index, on table: String) -> String {
        // MariaDB and SQLite both know IF NOT EXISTS here, which makes a re-run after a crash harmless.
        "CREATE \(index.unique ? "UNIQUE " : "")INDEX IF NOT EXISTS \(index.name) ON \(table) (\(index.columns.joined(separator: ", ")))"
    }

    /// Starts a read-write transaction. SQLite takes the write lock at once (`IMMEDIATE`), so two writers queue
    /// on the busy timeout instead of failing when a read lock is upgraded.
    var beginWrite: String {
        switch self {
        case .sqlite: return "BEGIN IMMEDIATE"
        case .mysql: return "START TRANSACTION"
        }
    }

    /// A query with one parameter, the table name, that returns a row when the table exists.
    var tableExists: String {
        switch self {
        case .sqlite: return "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?"
        case .mysql: return "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
        }
    }

    /// `INSERT` that updates `update` when a row with the same `conflict` columns exists.
    func upsert(into table: String, columns: [String], conflict: [String], update: [String]) -> String {
        let insert = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        switch self {
        case .sqlite:
            let action = update.isEmpty ? "NOTHING" : "UPDATE SET " + update.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
            return insert + " ON CONFLICT (\(conflict.joined(separator: ", "))) DO \(action)"
        case .mysql:
            // A no-op assignment keeps "insert unless present" one statement.
            let assignments = (update.isEmpty ? [conflict[0]] : update).map { "\($0) = VALUES(\($0))" }
            return insert + " ON DUPLICATE KEY UPDATE " + assignments.joined(separator: ", ")
        }
    }
}
