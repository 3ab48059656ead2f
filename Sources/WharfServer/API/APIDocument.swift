import Foundation
import Yams

/// The OpenAPI document of `/api/v1` (`openapi.yaml`, a resource of this target): the contract that routes,
/// validates and describes every operation. The server routes the operations it lists (and only those), checks
/// each request against its parameters' and body's schemas before a handler runs, and serves it at
/// `/api/v1/openapi.json` and `/api/v1/openapi.yaml`.
struct APIDocument: Sendable {
    let operations: [APIOperation]
    let validator: SchemaValidator
    /// The document as written, and as JSON with the same order of keys.
    let yaml: String
    let json: Data
    let root: JSONValue

    /// The document shipped with this build.
    static let shipped: Result<APIDocument, APIDocumentError> = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return .failure(APIDocumentError("openapi.yaml is missing from the build's resources")) }
        return Result { try APIDocument(yaml: text) }.mapError { $0 as? APIDocumentError ?? APIDocumentError("\($0)") }
    }()

    init(yaml: String) throws {
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else { throw APIDocumentError("the document is empty") }
            node = composed
        } catch let error as APIDocumentError {
            throw error
        } catch {
            throw APIDocumentError("not valid YAML: \(error)")
        }
        self.yaml = yaml
        var text = ""
        try Self.writeJSON(node, into: &text)
        json = Data(text.utf8)
        guard let root = JSONValue.parse(json) else { throw APIDocumentError("the document does not convert to JSON") }
        self.root = root
        let components = root["components"]?["schemas"]?.objectValue ?? [:]
        var patterns: Set<String> = []
        Self.collectPatterns(root, into: &patterns)
        validator = try SchemaValidator(components: components, patterns: Array(patterns))
        operations = try Self.operations(root)
    }

    private static func operations(_ root: JSONValue) throws -> [APIOperation] {
        guard let paths = root["paths"]?.objectValue else { throw APIDocumentError("the document has no paths") }
        let defaultSecurity = root["security"]
        var result: [APIOperation] = []
        for (path, item) in paths.sorted(by: { $0.key < $1.key }) {
            let raw = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            var segments: [String?] = []
            var names: [String] = []
            for segment in raw {
                if segment.hasPrefix("{") && segment.hasSuffix("}") {
                    segments.append(nil)
                    names.append(String(segment.dropFirst().dropLast()))
                } else {
                    segments.append(String(segment))
                }
            }
            let shared = item["parameters"]?.arrayValue ?? []
            for method in ["get", "put", "post", "delete", "patch"] {
                guard let operation = item[method] else { continue }
                guard let id = operation["operationId"]?.stringValue else { throw APIDocumentError("\(method) \(path) has no operationId") }
                var parameters: [APIOperation.Parameter] = []
                for listed in shared + (operation["parameters"]?.arrayValue ?? []) {
                    let parameter =
                        listed["$ref"]?.stringValue.flatMap {
                            root["components"]?["parameters"]?[$0.replacingOccurrences(of: "#/components/parameters/", with: "")]
                        } ?? listed
                    guard let name = parameter["name"]?.stringValue,
                        let location = parameter["in"]?.stringValue.flatMap(APIOperation.Parameter.Location.init),
                        let schema = parameter["schema"]
                    else { throw APIDocumentError("\(id): a parameter lacks name, in or schema") }
                    parameters.append(.init(name: name, location: location, required: parameter["required"]?.boolValue ?? false, schema: schema))
                }
                let body = operation["requestBody"]
                let security = operation["security"] ?? defaultSecurity
                let anonymous = security?.arrayValue?.contains(where: { $0.objectValue?.isEmpty == true }) ?? true
                result.append(
                    APIOperation(
                        id: id,
                        method: method.uppercased(),
                        path: path,
                        segments: segments,
                        parameterNames: names,
                        parameters: parameters,
                        bodySchema: body?["content"]?["application/json"]?["schema"],
                        bodyRequired: body?["required"]?.boolValue ?? false,
                        allowsAnonymous: anonymous
                    )
                )
            }
        }
        return result
    }

    private static func collectPatterns(_ value: JSONValue, into patterns: inout Set<String>) {
        switch value {
        case .object(let members):
            if let pattern = members["pattern"]?.stringValue { patterns.insert(pattern) }
            for member in members.values { collectPatterns(member, into: &patterns) }
        case .array(let items):
            for item in items { collectPatterns(item, into: &patterns) }
        default: break
        }
    }

    /// Writes `node` as JSON, keeping the document's order of keys. Plain scalars are typed as YAML 1.2's core
    /// schema does (null, booleans, integers, floats); quoted ones are strings.
    private static func writeJSON(_ node: Node, into text: inout String) throws {
        switch node {
        case .mapping(let mapping):
            text += "{"
            var first = true
            for (key, value) in mapping {
                guard let name = key.string else { throw APIDocumentError("a key is not a string") }
                if !first { text += "," }
                first = false
                text += quote(name) + ":"
                try writeJSON(value, into: &text)
            }
            text += "}"
        case .sequence(let sequence):
            text += "["
            for (index, value) in sequence.enumerated() {
                if index > 0 { text += "," }
                try writeJSON(value, into: &text)
            }
            text += "]"
        case .scalar(let scalar):
            guard scalar.style == .plain else {
                text += quote(scalar.string)
                return
            }
            let value = scalar.string
            if value == "null" || value == "~" || value.isEmpty {
                text += "null"
            } else if value == "true" || value == "false" {
                text += value
            } else if Int64(value) != nil {
                text += value
            } else if Double(value) != nil, value.allSatisfy({ "0123456789.eE+-".contains($0) }) {
                text += value
            } else {
                text += quote(value)
            }
        case .alias:
            throw APIDocumentError("aliases are not used in the document")
        }
    }

    private static func quote(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    result += String(format: "\\u%04x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

/// The document cannot be read: a build without its resource, or an edit that broke it. Start-up fails with it.
struct APIDocumentError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = "openapi.yaml: " + description }
}
