/// A repository name as the OCI distribution spec's grammar allows it:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 characters.
///
/// The grammar leaves no room for `..`, empty components, absolute paths, encoded characters or NUL, so a
/// parsed name is safe to join onto a storage path.
public struct RepositoryName: Hashable, Sendable, CustomStringConvertible, Comparable {
    public static let maxLength = 255
    public let value: String

    public init(_ text: some StringProtocol) throws {
        let string = String(text)
        guard !string.isEmpty else {
            throw ContentError(.nameInvalid, detail: "empty repository name")
        }
        guard string.utf8.count <= Self.maxLength else {
            throw ContentError(.nameInvalid, detail: "repository name longer than \(Self.maxLength) characters")
        }
        for component in string.split(separator: "/", omittingEmptySubsequences: false) {
            guard Self.isValidComponent(component.utf8) else {
                throw ContentError(.nameInvalid, detail: "invalid repository name: \(OCIDigest.excerpt(string))")
            }
        }
        value = string
    }

    public var description: String { value }
    public static func < (lhs: RepositoryName, rhs: RepositoryName) -> Bool { lhs.value < rhs.value }

    /// The part before the first `/`, or nil for a name without one (the global namespace).
    public var namespace: String? {
        guard let slash = value.firstIndex(of: "/") else { return nil }
        return String(value[..<slash])
    }

    static func isValidComponent(_ bytes: Substring.UTF8View) -> Bool {
        enum State { case start, alnum, dot, underscore1, underscore2, dash }
        var state = State.start
        for byte in bytes {
            let isAlnum = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            switch (state, byte) {
            case (_, _) where isAlnum: state = .alnum
            case (.alnum, UInt8(ascii: ".")): state = .dot
            case (.alnum, UInt8(ascii: "_")): state = .underscore1
            case (.underscore1, UInt8(ascii: "_")): state = .underscore2
            case (.alnum, UInt8(ascii: "-")), (.dash, UInt8(ascii: "-")): state = .dash
            default: return false
            }
        }
        return state == .alnum
    }
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
public struct Tag: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let value: String

    public init(_ text: some StringProtocol) throws {
        let string = String(text)
        guard Self.isValid(string) else {
            throw ContentError(.tagInvalid, "invalid tag", detail: OCIDigest.excerpt(string))
        }
        value = string
    }

    public var description: String { value }
    public static func < (lhs: Tag, rhs: Tag) -> Bool { lhs.value < rhs.value }

    public static func isValid(_ string: String) -> Bool {
        let bytes = string.utf8
        guard !bytes.isEmpty, bytes.count <= 128 else { return false }
        for (index, byte) in bytes.enumerated() {
            let isWord =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            if isWord { continue }
            if index > 0 && (byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")) { continue }
            return false
        }
        return true
    }
}

/// The `<reference>` of a manifest URL: a tag or a digest.
public enum Reference: Hashable, Sendable, CustomStringConvertible {
    case tag(Tag)
    case digest(OCIDigest)

    public init(_ text: some StringProtocol) throws {
        let string = String(text)
        if string.contains(":") {
            self = .digest(try OCIDigest(parsing: string))
        } else {
            self = .tag(try Tag(string))
        }
    }

    public var description: String {
        switch self {
        case .tag(let tag): tag.value
        case .digest(let digest): digest.description
        }
    }
}
