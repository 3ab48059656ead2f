import Foundation

/// The fields of a posted form (`application/x-www-form-urlencoded`), in order; a name may repeat.
struct PortalForm: Sendable {
    var fields: [(name: String, value: String)]

    init(fields: [(name: String, value: String)] = []) { self.fields = fields }

    /// Parses a urlencoded body: `+` is a space, `%XX` a byte; pairs that do not decode as UTF-8 are dropped.
    init(urlencoded body: String) {
        fields = body.split(separator: "&", omittingEmptySubsequences: true).compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { return nil }
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            return value.map { (name, $0) }
        }
    }

    /// The first value of `name`, trimmed of surrounding whitespace; nil when absent.
    subscript(_ name: String) -> String? {
        fields.first { $0.name == name }?.value.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The first value of `name` exactly as sent (passwords keep their spaces).
    func raw(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// Every value of `name` (checkboxes, multi-selects).
    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// Whether a checkbox named `name` was ticked.
    func checked(_ name: String) -> Bool { fields.contains { $0.name == name && $0.value != "" && $0.value != "off" } }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
