import Foundation

/// What a namespace keeps and removes (or, without a namespace, the default for every namespace without one).
///
/// Tag rules combine: a tag is removed when it is a candidate (matches ``tagMatch`` when set, matches neither
/// ``tagExclude``, ``protected`` nor ``immutable``) and every rule that is set agrees: it is not among the
/// ``keepLatest`` most recently pushed candidates, and it was pushed more than ``olderThanDays`` days ago. With
/// neither set no tag is removed. Portus's `delete.garbage_collector` is `older_than` → ``olderThanDays``,
/// `keep_latest` → ``keepLatest``, `tag` → ``tagMatch``. Patterns are ICU regular expressions searched anywhere in the
/// tag (anchor them with `^…$` to match whole tags).
public struct RetentionPolicy: Sendable, Equatable, Codable {
    /// What protects tags when a policy does not say: `latest` and semver releases (`1.2.3`, `v1.2.3`).
    public static let defaultProtected = "^latest$|^v?[0-9]+\\.[0-9]+\\.[0-9]+$"
    /// The largest count or age a policy accepts (100 years, 1,000,000 tags): beyond it is a typo.
    public static let maxDays = 36_500
    public static let maxKeep = 1_000_000
    public static let maxPatternLength = 1_000

    public var enabled: Bool
    public var keepLatest: Int?
    public var olderThanDays: Int?
    public var tagMatch: String?
    public var tagExclude: String?
    public var untaggedOlderThanDays: Int?
    public var protected: String?
    public var immutable: String?

    public init(
        enabled: Bool = true,
        keepLatest: Int? = nil,
        olderThanDays: Int? = nil,
        tagMatch: String? = nil,
        tagExclude: String? = nil,
        untaggedOlderThanDays: Int? = nil,
        protected: String? = RetentionPolicy.defaultProtected,
        immutable: String? = nil
    ) {
        self.enabled = enabled
        self.keepLatest = keepLatest
        self.olderThanDays = olderThanDays
        self.tagMatch = tagMatch
        self.tagExclude = tagExclude
        self.untaggedOlderThanDays = untaggedOlderThanDays
        self.protected = protected
        self.immutable = immutable
    }

    enum CodingKeys: String, CodingKey {
        case enabled
        case keepLatest = "keep_latest"
        case olderThanDays = "older_than_days"
        case tagMatch = "tag_match"
        case tagExclude = "tag_exclude"
        case untaggedOlderThanDays = "untagged_older_than_days"
        case protected
        case immutable
    }

    /// The policy with empty patterns as nil, or a ``RetentionError`` `invalidPolicy` naming the first bad field.
    public func validated() throws -> RetentionPolicy {
        var policy = self
        try Self.check(keepLatest, "keep_latest", max: Self.maxKeep)
        try Self.check(olderThanDays, "older_than_days", max: Self.maxDays)
        try Self.check(untaggedOlderThanDays, "untagged_older_than_days", max: Self.maxDays)
        policy.tagMatch = try Self.pattern(tagMatch, "tag_match")
        policy.tagExclude = try Self.pattern(tagExclude, "tag_exclude")
        policy.protected = try Self.pattern(protected, "protected")
        policy.immutable = try Self.pattern(immutable, "immutable")
        return policy
    }

    /// Whether `tag` matches ``immutable``: such a tag cannot be moved to other content or deleted.
    public func isImmutable(_ tag: String) -> Bool {
        guard let immutable, let expression = try? RetentionPattern(immutable) else { return false }
        return expression.matches(tag)
    }

    /// What the policy does, in a sentence, for listings.
    public var summary: String {
        var parts: [String] = []
        if let keepLatest { parts.append("keep the \(keepLatest) most recent") }
        if let olderThanDays { parts.append("remove tags older than \(olderThanDays) days") }
        if let tagMatch { parts.append("only tags matching /\(tagMatch)/") }
        if let tagExclude { parts.append("never tags matching /\(tagExclude)/") }
        if let untaggedOlderThanDays { parts.append("remove untagged manifests older than \(untaggedOlderThanDays) days") }
        if let protected { parts.append("protect /\(protected)/") }
        if let immutable { parts.append("immutable /\(immutable)/") }
        if parts.isEmpty { parts.append("removes nothing") }
        return (enabled ? "" : "disabled: ") + parts.joined(separator: "; ")
    }

    static func check(_ value: Int?, _ field: String, max: Int) throws {
        guard let value else { return }
        guard value >= 0, value <= max else {
            throw RetentionError(.invalidPolicy, "\(field) must be a whole number from 0 to \(max), not \(value)", field: field)
        }
    }

    static func pattern(_ value: String?, _ field: String) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        guard value.utf8.count <= maxPatternLength else {
            throw RetentionError(.invalidPolicy, "\(field) is longer than \(maxPatternLength) bytes", field: field)
        }
        do {
            _ = try RetentionPattern(value)
        } catch {
            throw RetentionError(.invalidPolicy, "\(field) is not a valid regular expression: \(value)", field: field)
        }
        return value
    }
}
