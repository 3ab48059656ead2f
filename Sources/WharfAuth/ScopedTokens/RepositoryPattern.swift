import WharfCore

/// Which repositories of its namespace a scoped token reaches, as a pattern of the path below the namespace: `*`
/// for all of them, a glob such as `app-*` or `tools/*`, or an exact path such as `tools/cli`.
///
/// `*` stands for any run of characters, `/` included (so `*` is every repository, nested ones too, and `tools/*`
/// everything under `tools`). A pattern uses the repository grammar's characters and `*` only, at most 255 bytes,
/// and must be able to match something: with each `*` read as a letter it is a valid repository path (so no empty
/// component, no leading separator).
public struct RepositoryPattern: Hashable, Sendable, CustomStringConvertible {
    public static let maxLength = 255
    public let value: String

    /// - Throws: ``AccountError/Code/patternInvalid`` with a one-line reason.
    public init(_ text: String) throws(AccountError) {
        let reason =
            "invalid repository pattern \(text.debugDescription): *, a glob such as app-* or a path such as tools/cli "
            + "(lowercase letters, digits, . _ - / and *), at most \(Self.maxLength) characters"
        guard !text.isEmpty, text.utf8.count <= Self.maxLength else { throw AccountError(.patternInvalid, reason) }
        let letters = String(decoding: text.utf8.map { $0 == UInt8(ascii: "*") ? UInt8(ascii: "a") : $0 }, as: UTF8.self)
        guard (try? RepositoryName(letters)) != nil else { throw AccountError(.patternInvalid, reason) }
        value = text
    }

    public var description: String { value }

    /// Whether `path` (a repository's name below its namespace, such as `app-web` or `tools/cli`) matches.
    public func matches(_ path: some StringProtocol) -> Bool {
        Self.glob(Array(value.utf8)[...], Array(path.utf8)[...])
    }

    /// Whether the repository `name` is in `namespace` and its path below it matches.
    public func matches(_ name: RepositoryName, in namespace: String) -> Bool {
        guard name.namespace == namespace else { return false }
        return Self.glob(Array(value.utf8)[...], Array(name.value.utf8).dropFirst(namespace.utf8.count + 1))
    }

    /// Wildcard matching by backtracking to the last `*` only: linear in practice, never exponential.
    private static func glob(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var star: (pattern: Int, text: Int)? = nil
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                star = (p, t)
                p += 1
            } else if p < pattern.endIndex, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let last = star {
                p = last.pattern + 1
                t = last.text + 1
                star = (last.pattern, last.text + 1)
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }
}
