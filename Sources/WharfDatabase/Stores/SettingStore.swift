import Foundation

/// Settings changed at run time from the UI (for example whether anonymous users may browse), by name.
public struct SettingStore: Store {
    let transaction: Transaction
    init(_ transaction: Transaction) { self.transaction = transaction }

    public func value(_ name: String) throws -> String? {
        try transaction.query("SELECT value FROM settings WHERE name = ?", [name]).first?.decode("value")
    }

    public func set(_ name: String, to value: String) throws {
        let sql = transaction.dialect.upsert(
            into: "settings",
            columns: ["name", "value", "updated_at"],
            conflict: ["name"],
            update: ["value", "updated_at"]
        )
        try transaction.execute(sql, [try Validation.name(name, "setting name"), try Validation.text(value, "setting value"), now()])
    }

    /// Sets `name` only when it has no value yet; false when it had one (also when a concurrent writer got there
    /// first: the primary key decides).
    public func insert(_ name: String, value: String) throws -> Bool {
        do {
            try transaction.execute(
                "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)",
                [try Validation.name(name, "setting name"), try Validation.text(value, "setting value"), now()]
            )
            return true
        } catch let error as DatabaseError where error.code == .conflict {
            return false
        }
    }

    public func all() throws -> [String: String] {
        var result: [String: String] = [:]
        for row in try transaction.query("SELECT name, value FROM settings") { result[try row.decode("name")] = try row.decode("value") }
        return result
    }

    @discardableResult
    public func remove(_ name: String) throws -> Bool {
        try changed("DELETE FROM settings WHERE name = ?", [name])
    }
}
