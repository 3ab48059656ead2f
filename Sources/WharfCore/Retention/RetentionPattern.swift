import Foundation

/// A compiled policy pattern. Built where it is used (an evaluation, an immutability check): regular expressions
/// are cheap to compile next to the storage reads around them, and a value type stays `Sendable`.
struct RetentionPattern {
    let expression: NSRegularExpression

    init(_ pattern: String) throws {
        expression = try NSRegularExpression(pattern: pattern)
    }

    /// Whether the pattern occurs anywhere in `text`.
    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
