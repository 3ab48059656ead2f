import Foundation
import WharfCore

/// One way a request breaks its operation's schema: the field (`body.name`, `query.page_size`, `path.team`) and
/// why, for the `details` of a validation error.
struct ValidationIssue: Sendable, Hashable {
    var field: String
    var reason: String
}

/// Checks values against the JSON Schemas of the OpenAPI document, so that what the document promises is exactly
/// what the server accepts: a request the schema allows is never refused for its shape, and one it forbids never
/// reaches a handler. Supports the keywords in ``supportedKeywords`` only; a test keeps the document within them,
/// so no constraint is silently ignored.
struct SchemaValidator: Sendable {
    /// The keywords this validator applies, and those that only describe.
    static let supportedKeywords: Set<String> = [
        "$ref", "type", "enum", "format", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems",
        "items", "properties", "required", "additionalProperties", "description", "example", "examples", "default", "readOnly",
        "title", "uniqueItems",
    ]

    /// The formats checked; others are not used by the document.
    static let supportedFormats: Set<String> = ["date-time", "int64", "int32", "regex"]

    let schemas: [String: JSONValue]
    private let patterns: [String: NSRegularExpression]

    /// `components.schemas` of the document, and every pattern it uses compiled once.
    init(components: [String: JSONValue], patterns: [String]) throws {
        schemas = components
        var compiled: [String: NSRegularExpression] = [:]
        for pattern in patterns { compiled[pattern] = try NSRegularExpression(pattern: pattern) }
        self.patterns = compiled
    }

    /// Every issue of `value` against `schema`, at most a few (the first ones found), named from `field`.
    func validate(_ value: JSONValue, against schema: JSONValue, field: String) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        check(value, schema, field, &issues, depth: 0)
        return issues
    }

    /// A schema with its `$ref` followed.
    func resolve(_ schema: JSONValue) -> JSONValue {
        var schema = schema
        var hops = 0
        while let reference = schema["$ref"]?.stringValue, hops < 16 {
            let name = reference.replacingOccurrences(of: "#/components/schemas/", with: "")
            schema = schemas[name] ?? .object([:])
            hops += 1
        }
        return schema
    }

    private func check(_ value: JSONValue, _ schema: JSONValue, _ field: String, _ issues: inout [ValidationIssue], depth: Int) {
        guard issues.count < 8, depth < 32 else { return }
        let schema = resolve(schema)
        if let types = Self.types(schema) {
            let actual = value.typeName
            let matches = types.contains(actual) || (actual == "integer" && types.contains("number"))
            guard matches else {
                issues.append(ValidationIssue(field: field, reason: "must be \(types.sorted().joined(separator: " or ")), not \(actual)"))
                return
            }
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(where: { Self.equal($0, value) }) {
            let names = allowed.map { $0.stringValue ?? "\($0)" }.joined(separator: ", ")
            issues.append(ValidationIssue(field: field, reason: "must be one of \(names)"))
            return
        }
        switch value {
        case .string(let text): checkString(text, schema, field, &issues)
        case .integer, .number: checkNumber(value.doubleValue ?? 0, schema, field, &issues)
        case .array(let items):
            if let minimum = schema["minItems"]?.integerValue, items.count < minimum {
                issues.append(ValidationIssue(field: field, reason: "must have at least \(minimum) items"))
            }
            if let maximum = schema["maxItems"]?.integerValue, items.count > maximum {
                issues.append(ValidationIssue(field: field, reason: "must have at most \(maximum) items"))
            }
            if schema["uniqueItems"]?.boolValue == true, Set(items).count != items.count {
                issues.append(ValidationIssue(field: field, reason: "must not repeat items"))
            }
            if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() { check(item, itemSchema, "\(field)[\(index)]", &issues, depth: depth + 1) }
            }
        case .object(let members):
            let properties = schema["properties"]?.objectValue ?? [:]
            for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                issues.append(ValidationIssue(field: Self.join(field, name), reason: "is required"))
            }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let propertySchema = properties[name] {
                    check(member, propertySchema, Self.join(field, name), &issues, depth: depth + 1)
                } else if let extra = schema["additionalProperties"] {
                    if extra.boolValue == false {
                        issues.append(ValidationIssue(field: Self.join(field, name), reason: "is not a known field"))
                    } else if extra.objectValue != nil {
                        check(member, extra, Self.join(field, name), &issues, depth: depth + 1)
                    }
                }
            }
        case .null, .bool: break
        }
    }

    private func checkString(_ text: String, _ schema: JSONValue, _ field: String, _ issues: inout [ValidationIssue]) {
        // JSON Schema counts code points.
        let length = text.unicodeScalars.count
        if let minimum = schema["minLength"]?.integerValue, length < minimum {
            issues.append(ValidationIssue(field: field, reason: "must have at least \(minimum) characters"))
        }
        if let maximum = schema["maxLength"]?.integerValue, length > maximum {
            issues.append(ValidationIssue(field: field, reason: "must have at most \(maximum) characters"))
        }
        if let pattern = schema["pattern"]?.stringValue, let expression = patterns[pattern] {
            let range = NSRange(text.startIndex..<text.endIndex, in: text)
            if expression.firstMatch(in: text, range: range) == nil {
                issues.append(ValidationIssue(field: field, reason: "must match \(pattern)"))
            }
        }
        if schema["format"]?.stringValue == "date-time", RFC3339.parse(text) == nil {
            issues.append(ValidationIssue(field: field, reason: "must be an RFC 3339 date-time"))
        }
        // Retention patterns: a pattern the server could not compile is a malformed request (empty: no pattern).
        if schema["format"]?.stringValue == "regex", !text.isEmpty, (try? NSRegularExpression(pattern: text)) == nil {
            issues.append(ValidationIssue(field: field, reason: "must be a valid regular expression"))
        }
    }

    private func checkNumber(_ number: Double, _ schema: JSONValue, _ field: String, _ issues: inout [ValidationIssue]) {
        if let minimum = schema["minimum"]?.doubleValue, number < minimum {
            issues.append(ValidationIssue(field: field, reason: "must be at least \(Self.format(minimum))"))
        }
        if let maximum = schema["maximum"]?.doubleValue, number > maximum {
            issues.append(ValidationIssue(field: field, reason: "must be at most \(Self.format(maximum))"))
        }
    }

    static func types(_ schema: JSONValue) -> Set<String>? {
        switch schema["type"] {
        case .string(let type): [type]
        case .array(let types): Set(types.compactMap(\.stringValue))
        default: nil
        }
    }

    /// Equality as JSON sees it: 1 and 1.0 are the same number.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }

    static func join(_ field: String, _ name: String) -> String { field.isEmpty ? name : "\(field).\(name)" }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}
