import Foundation

/// What every typed store shares: the transaction it runs in.
protocol Store {
    var transaction: Transaction { get }
}

extension Store {
    /// Runs `body`, turning a unique-constraint failure into a `.conflict` error that says what already exists.
    func unique<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.code == .conflict {
            throw DatabaseError(.conflict, "\(what()) already exists")
        }
    }

    /// `DELETE`/`UPDATE` helper: true when a row was changed.
    func changed(_ sql: String, _ binds: [any SQLValueConvertible]) throws -> Bool {
        try transaction.execute(sql, binds).affectedRows > 0
    }
}

/// A page size, clamped to something sane.
func pageSize(_ limit: Int) -> Int { min(max(limit, 1), 10_000) }

/// The current time as stored: milliseconds, so a value read back equals the one written.
func now() -> Date { Date(millisecondsSince1970: Date().millisecondsSince1970) }
