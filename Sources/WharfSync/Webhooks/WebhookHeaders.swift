import Foundation

/// A webhook's custom request headers, stored as a JSON object of strings (`{"X-Token":"…"}`).
public enum WebhookHeaders {
    /// Headers Wharf sets itself; a custom header may not replace them.
    static let reserved: Set<String> = ["content-type", "content-length", "host", "x-wharf-signature", "x-wharf-delivery", "x-wharf-event"]
    /// Headers whose values the delivery log hides.
    static let secret: Set<String> = ["authorization", "proxy-authorization", "cookie"]

    /// Parses `Name: value` items (the CLI's `--header`) into the stored JSON; checks names and values.
    public static func encode(_ items: [String]) throws -> String {
        var headers: [String: String] = [:]
        for item in items {
            guard let colon = item.firstIndex(of: ":") else { throw WebhookError(.invalidValue, "header \(item) is not Name: value") }
            let name = item[..<colon].trimmingCharacters(in: .whitespaces)
            let value = item[item.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            try validate(name: name, value: value)
            headers[name] = value
        }
        let data = try JSONSerialization.data(withJSONObject: headers, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// The stored headers, sorted by name; an unreadable column gives none.
    public static func decode(_ json: String) -> [(name: String, value: String)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String] else { return [] }
        return object.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
    }

    static func validate(name: String, value: String) throws {
        let token = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        guard !name.isEmpty, name.unicodeScalars.allSatisfy(token.contains) else {
            throw WebhookError(.invalidValue, "header name \(name.debugDescription) is not a valid HTTP header name")
        }
        guard !reserved.contains(name.lowercased()) else { throw WebhookError(.invalidValue, "header \(name) is set by Wharf itself") }
        guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
            throw WebhookError(.invalidValue, "header \(name) must not contain line breaks")
        }
    }
}
