/// The answer to "may this caller do these actions here?": what is granted, and for the rest a reason a person
/// can act on (``AccessDenial``), which every surface shows as it is.
public struct AccessDecision: Sendable, Hashable {
    public var granted: Set<Action>
    /// Why the actions not granted are refused; nil when everything asked was granted.
    public var reason: String?

    public init(granted: Set<Action>, reason: String?) {
        self.granted = granted
        self.reason = reason
    }

    public var isAllowed: Bool { reason == nil }
}
