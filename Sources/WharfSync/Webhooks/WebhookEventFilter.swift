/// The events a webhook wants, as its `events` column holds them: a comma-separated list of `push`, `delete` and
/// `pull`, empty for all. Mounts are not sent (distribution sends them, but nobody asked: they follow pushes).
public struct WebhookEventFilter: Sendable, Equatable, CustomStringConvertible {
    public static let actions: [RegistryEvent.Action] = [.push, .delete, .pull]

    /// Empty: every action of ``actions``.
    public let selected: Set<RegistryEvent.Action>

    /// Parses `push,delete` (spaces allowed, order and case free); empty means all.
    public init(_ text: String) throws {
        var selected: Set<RegistryEvent.Action> = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !item.isEmpty {
            guard let action = RegistryEvent.Action(rawValue: item), Self.actions.contains(action) else {
                throw WebhookError(.invalidValue, "unknown webhook event \(item): expected push, delete or pull")
            }
            selected.insert(action)
        }
        self.selected = selected.count == Self.actions.count ? [] : selected
    }

    public func matches(_ action: RegistryEvent.Action) -> Bool {
        Self.actions.contains(action) && (selected.isEmpty || selected.contains(action))
    }

    /// The stored form: the actions in a fixed order, empty for all.
    public var description: String {
        Self.actions.filter { selected.contains($0) }.map(\.rawValue).joined(separator: ",")
    }
}
