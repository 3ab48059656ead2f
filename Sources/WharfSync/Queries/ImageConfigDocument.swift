import Foundation
import WharfCore

/// An image config read leniently: a field of an unexpected type is left out, never a failure of the whole (a
/// config comes from any builder, or from another registry). Lists are bounded, so a hostile config cannot make
/// an answer of megabytes out of a few kilobytes.
struct ImageConfigDocument: Decodable {
    static let maxItems = 1_000

    var details: ImageConfigDetails

    private enum Keys: String, CodingKey {
        case created, author, os, architecture, variant, config, history
    }

    private enum ConfigKeys: String, CodingKey {
        case entrypoint = "Entrypoint"
        case cmd = "Cmd"
        case env = "Env"
        case labels = "Labels"
        case workingDir = "WorkingDir"
        case user = "User"
        case exposedPorts = "ExposedPorts"
    }

    private enum HistoryKeys: String, CodingKey {
        case created
        case createdBy = "created_by"
        case comment
        case emptyLayer = "empty_layer"
    }

    /// Anything, skipped.
    private struct Ignored: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// A history entry, or nothing for one that is not an object.
    private struct History: Decodable {
        var entry: HistoryEntry?

        init(from decoder: any Decoder) throws {
            guard let values = try? decoder.container(keyedBy: HistoryKeys.self) else { return }
            entry = HistoryEntry(
                created: (try? values.decodeIfPresent(String.self, forKey: .created))?.flatMap(RFC3339.parse),
                createdBy: try? values.decodeIfPresent(String.self, forKey: .createdBy),
                comment: try? values.decodeIfPresent(String.self, forKey: .comment),
                emptyLayer: (try? values.decodeIfPresent(Bool.self, forKey: .emptyLayer)) ?? false
            )
        }
    }

    init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: Keys.self)
        func text(_ key: Keys) -> String? { try? values.decodeIfPresent(String.self, forKey: key) }
        details = ImageConfigDetails(
            os: text(.os),
            architecture: text(.architecture),
            variant: text(.variant),
            created: text(.created).flatMap(RFC3339.parse),
            author: text(.author),
            entrypoint: nil,
            cmd: nil,
            workingDir: nil,
            user: nil,
            envNames: [],
            exposedPorts: [],
            labels: [:],
            history: []
        )
        if let config = try? values.nestedContainer(keyedBy: ConfigKeys.self, forKey: .config) {
            details.entrypoint = (try? config.decodeIfPresent([String].self, forKey: .entrypoint))?.map { Array($0.prefix(Self.maxItems)) }
            details.cmd = (try? config.decodeIfPresent([String].self, forKey: .cmd))?.map { Array($0.prefix(Self.maxItems)) }
            details.workingDir = try? config.decodeIfPresent(String.self, forKey: .workingDir)
            details.user = try? config.decodeIfPresent(String.self, forKey: .user)
            // `NAME=value`: only the name leaves this function.
            let env = (try? config.decodeIfPresent([String].self, forKey: .env)) ?? []
            details.envNames = env.prefix(Self.maxItems).map { variable in
                variable.firstIndex(of: "=").map { String(variable[..<$0]) } ?? variable
            }
            let labels = (try? config.decodeIfPresent([String: String].self, forKey: .labels)) ?? [:]
            for key in labels.keys.sorted().prefix(Self.maxItems) { details.labels[key] = labels[key] }
            let ports = (try? config.decodeIfPresent([String: Ignored].self, forKey: .exposedPorts)) ?? [:]
            details.exposedPorts = Array(ports.keys.sorted().prefix(Self.maxItems))
        }
        let history = (try? values.decodeIfPresent([History].self, forKey: .history)) ?? []
        details.history = history.prefix(Self.maxItems).compactMap(\.entry)
    }
}
