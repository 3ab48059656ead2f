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
