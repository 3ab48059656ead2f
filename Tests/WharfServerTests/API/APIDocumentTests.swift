import Foundation
import Testing

@testable import WharfServer

/// The shipped OpenAPI document: it loads, it uses only what the validator applies (so no constraint in it is
/// silently ignored), its operations are unique and well described.
@Suite struct APIDocumentTests {
    static let document = try! APIDocument.shipped.get()

    @Test func theDocumentLoadsAndHasUniqueOperationIDs() throws {
        let ids = Self.document.operations.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(Self.document.root["openapi"]?.stringValue == "3.1.0")
        #expect(JSONValue.parse(Self.document.json) != nil)
    }

    @Test func everySchemaUsesOnlyKeywordsTheValidatorApplies() {
        var unsupported: Set<String> = []
        func walkSchema(_ schema: JSONValue) {
            guard let members = schema.objectValue else { return }
            for (key, value) in members {
                if !SchemaValidator.supportedKeywords.contains(key) { unsupported.insert(key) }
                switch key {
                case "properties": for property in value.objectValue?.values ?? [:].values { walkSchema(property) }
                case "items", "additionalProperties": walkSchema(value)
                case "format":
                    if let format = value.stringValue, !SchemaValidator.supportedFormats.contains(format) { unsupported.insert("format \(format)") }
                default: break
                }
            }
        }
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let members):
                for (key, member) in members {
                    if key == "schema" { walkSchema(member) } else { walk(member) }
                }
            case .array(let items): items.forEach(walk)
            default: break
            }
        }
        walk(Self.document.root["paths"] ?? .null)
        walk(Self.document.root["components"]?["parameters"] ?? .null)
        walk(Self.document.root["components"]?["responses"] ?? .null)
        for schema in Self.document.root["components"]?["schemas"]?.objectValue?.values ?? [:].values { walkSchema(schema) }
        #expect(unsupported.isEmpty, "keywords the validator does not apply: \(unsupported.sorted())")
    }

    @Test func everyOperationDocumentsTheStatusesEveryRequestCanGet() {
        for operation in Self.document.operations {
            let item = Self.document.root["paths"]?[operation.path]?[operation.method.lowercased()]
            let statuses = Set(item?["responses"]?.objectValue?.keys.map { $0 } ?? [])
            for status in ["400", "401", "429", "503"] {
                #expect(statuses.contains(status), "\(operation.id) does not document \(status)")
            }
            if !operation.parameters.isEmpty || operation.bodySchema != nil {
                #expect(statuses.contains("422"), "\(operation.id) validates input but does not document 422")
            }
            if operation.bodySchema != nil { #expect(statuses.contains("415"), "\(operation.id) takes a body but does not document 415") }
            #expect(statuses.contains { $0.hasPrefix("2") }, "\(operation.id) documents no success")
        }
    }

    @Test func requestBodiesRefuseUnknownFields() {
        for operation in Self.document.operations {
            guard let body = operation.bodySchema else { continue }
            let schema = Self.document.validator.resolve(body)
            #expect(schema["additionalProperties"]?.boolValue == false, "\(operation.id)'s body accepts unknown fields")
        }
    }
}

/// The validator applies what the document says, naming the field.
@Suite struct SchemaValidatorTests {
    static let validator = try! SchemaValidator(
        components: [
            "Name": .object(["type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[a-z]+$"])
        ],
        patterns: ["^[a-z]+$"]
    )

    static let body: JSONValue = .object([
        "type": "object", "additionalProperties": false, "required": .array(["name"]),
        "properties": .object([
            "name": .object(["$ref": "#/components/schemas/Name"]),
            "size": .object(["type": "integer", "minimum": 1, "maximum": 500]),
            "when": .object(["type": "string", "format": "date-time"]),
            "note": .object(["type": .array(["string", "null"])]),
            "tags": .object(["type": "array", "maxItems": 2, "uniqueItems": true, "items": .object(["type": "string", "enum": .array(["a", "b"])])]),
        ]),
    ])

    func issues(_ value: JSONValue) -> [String] {
        Self.validator.validate(value, against: Self.body, field: "body").map { "\($0.field) \($0.reason)" }
    }

    @Test func aValidValuePasses() {
        #expect(issues(.object(["name": "abc", "size": 500, "when": "2026-11-30T10:00:00Z", "note": .null, "tags": .array(["a", "b"])])).isEmpty)
    }

    @Test func eachBrokenRuleNamesItsField() {
        #expect(issues(.object([:])) == ["body.name is required"])
        #expect(issues(.object(["name": "ABC"])) == ["body.name must match ^[a-z]+$"])
        #expect(issues(.object(["name": "abcdefghi"])) == ["body.name must have at most 8 characters"])
        #expect(issues(.object(["name": "a", "size": 0])) == ["body.size must be at least 1"])
        #expect(issues(.object(["name": "a", "size": 1.5])) == ["body.size must be integer, not number"])
        #expect(issues(.object(["name": "a", "when": "yesterday"])) == ["body.when must be an RFC 3339 date-time"])
        #expect(issues(.object(["name": "a", "extra": true])) == ["body.extra is not a known field"])
        #expect(issues(.object(["name": "a", "tags": .array(["a", "a"])])) == ["body.tags must not repeat items"])
        #expect(issues(.object(["name": "a", "tags": .array(["c"])])) == ["body.tags[0] must be one of a, b"])
        #expect(issues(.object(["name": "a", "note": 3])) == ["body.note must be null or string, not integer"])
        #expect(issues("text") == ["body must be object, not string"])
    }

    @Test func lengthsCountCodePoints() {
        // Eight code points (one of them outside the BMP) are within maxLength 8 whatever their bytes.
        let schema: JSONValue = .object(["type": "string", "maxLength": 8])
        #expect(Self.validator.validate(.string("ééééééé😀"), against: schema, field: "x").isEmpty)
        #expect(!Self.validator.validate(.string("ééééééééé"), against: schema, field: "x").isEmpty)
    }
}
