/// The limits every stored value is checked against before it reaches SQL, the same on both engines, so a value
/// is either stored exactly or refused with a message that names the field.
enum Validation {
    /// Names (users, teams, namespaces, repositories, tags, digests, hashes): indexed `VARCHAR(255)` on MySQL.
    static let maxNameBytes = 255
    /// Free text (descriptions, comments, webhook bodies): 1 MiB, well inside MEDIUMTEXT.
    static let maxTextBytes = 1 << 20

    /// A name: 1 to 255 UTF-8 bytes, no control characters (NUL included), no leading or trailing white space
    /// (MySQL ignores trailing spaces when comparing, SQLite does not: refusing them keeps both engines equal).
    static func name(_ value: String, _ field: String) throws -> String {
        guard !value.isEmpty else { throw DatabaseError(.invalidValue, "\(field) must not be empty") }
        guard value.utf8.count <= maxNameBytes else {
            throw DatabaseError(.invalidValue, "\(field) is \(value.utf8.count) bytes long; at most \(maxNameBytes) are allowed")
        }
        // Printable ASCII (every digest, media type and registry name) has no control character and only the
        // space as white space: checked byte by byte, without Unicode properties (a sync pass writes 100,000s).
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            guard value.utf8.first != 0x20, value.utf8.last != 0x20 else {
                throw DatabaseError(.invalidValue, "\(field) must not start or end with white space")
            }
            return value
        }
        if let scalar = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw DatabaseError(
                .invalidValue,
                "\(field) must not contain control characters (found U+\(String(scalar.value, radix: 16, uppercase: true)))"
            )
        }
        if value.first?.isWhitespace == true || value.last?.isWhitespace == true {
            throw DatabaseError(.invalidValue, "\(field) must not start or end with white space")
        }
        return value
    }

    /// A name that only describes (an activity's target: `namespace/webhook`, `repository@digest`), cut to
    /// `maxNameBytes` with an ellipsis rather than refused: a long repository name must not fail the change the
    /// activity records.
    static func shortened(_ value: String, _ field: String) throws -> String {
        guard value.utf8.count > maxNameBytes else { return try name(value, field) }
        var cut = ""
        for character in value {
            guard cut.utf8.count + character.utf8.count + "…".utf8.count <= maxNameBytes else { break }
            cut.append(character)
        }
        return try name(cut + "…", field)
    }

    static func name(_ value: String?, _ field: String) throws -> String? {
        try value.map { try name($0, field) }
    }

    /// Free text: anything (NUL and emoji included) up to `maxTextBytes`.
    static func text(_ value: String, _ field: String) throws -> String {
        guard value.utf8.count <= maxTextBytes else {
            throw DatabaseError(.invalidValue, "\(field) is \(value.utf8.count) bytes long; at most \(maxTextBytes) are allowed")
        }
        return value
    }

    static func text(_ value: String?, _ field: String) throws -> String? {
        try value.map { try text($0, field) }
    }
}
