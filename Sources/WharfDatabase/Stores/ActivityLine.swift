import Foundation

/// One activity as `wharf activity list` prints it: the address taken out of the details, where the server
/// records it (`addr`), into a column of its own.
public struct ActivityLine {
    public var activity: Activity
    public var address: String?
    /// The details without `addr`, as parsed JSON (an object; empty when the text is not one).
    public var details: [String: Any]

    public init(_ activity: Activity) {
        self.activity = activity
        var details = (try? JSONSerialization.jsonObject(with: Data(activity.details.utf8))) as? [String: Any] ?? [:]
        address = details.removeValue(forKey: "addr") as? String
        self.details = details
    }

    /// With milliseconds, as stored: activities of the same second keep their order and a time can be given back
    /// to `--since`.
    public var time: String { activity.createdAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }

    public var detailsJSON: String {
        guard let data = try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func json(_ lines: [ActivityLine]) throws -> String {
        let objects: [[String: Any]] = lines.map { line in
            let activity = line.activity
            return [
                "id": activity.id, "time": line.time, "actor": activity.actorName, "actor_id": activity.actorID ?? NSNull(),
                "action": activity.action, "target_kind": activity.targetKind, "target": activity.targetName,
                "target_id": activity.targetID ?? NSNull(), "namespace_id": activity.namespaceID ?? NSNull(), "addr": line.address ?? NSNull(),
                "details": line.details,
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    public static let csvHeader = ["id", "time", "actor", "action", "target_kind", "target", "addr", "details"]

    /// A header and one row per activity, lines ending in CRLF as RFC 4180 has them; the details are their JSON.
    public static func csv(_ lines: [ActivityLine]) -> String {
        var rows = [csvHeader]
        for line in lines {
            let activity = line.activity
            rows.append([
                String(activity.id), line.time, activity.actorName, activity.action, activity.targetKind, activity.targetName, line.address ?? "",
                line.detailsJSON,
            ])
        }
        return rows.map { $0.map(csvField).joined(separator: ",") + "\r\n" }.joined()
    }

    /// A field quoted when it holds a separator, a quote or a line break, its quotes doubled (RFC 4180).
    public static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Columns padded to their widest value; the details last, as `key=value` pairs.
    public static func table(_ lines: [ActivityLine]) -> String {
        var rows = [["TIME", "ACTOR", "ACTION", "TARGET", "ADDRESS", "DETAILS"]]
        for line in lines {
            let activity = line.activity
            rows.append([
                activity.createdAt.formatted(.iso8601), activity.actorName, activity.action, "\(activity.targetKind) \(activity.targetName)",
                line.address ?? "-", line.details.keys.sorted().map { "\($0)=\(text(line.details[$0]!))" }.joined(separator: " "),
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, value in
                column == row.count - 1 ? value : value.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }.joined()
    }

    /// A detail's value as a person reads it on one line: strings as they are (as JSON when they hold a control
    /// character such as a line break), anything else as JSON.
    private static func text(_ value: Any) -> String {
        if let string = value as? String, !string.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return string }
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(value)"
    }
}
