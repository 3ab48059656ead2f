/// The last pass over the markdown renderer's HTML: every tag must be one Ink or ``MarkdownRenderer`` writes,
/// character for character (no attribute but `start` on `ol`, `align` on table cells, a plain-word language
/// class on `code`, and `href` + `rel` on `a` with an allowed URL); any other `<` is escaped, so whatever slips
/// past Ink (its `&…;` runs copy `<script>` verbatim) is shown as text.
enum MarkdownSanitizer {
    /// Tags allowed without attributes, opening and closing.
    static let plainTags: Set<String> = [
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "s", "code", "pre", "blockquote", "ul", "ol", "li",
        "table", "thead", "tbody", "tr", "th", "td",
    ]

    static func isLanguageCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "+-_.#".contains(character))
    }

    /// `html` with every tag that is not allowed escaped as text.
    static func sanitize(_ html: String) -> String {
        var result = ""
        result.reserveCapacity(html.utf8.count)
        var index = html.startIndex
        while let open = html[index...].firstIndex(of: "<") {
            result += html[index..<open]
            let afterOpen = html.index(after: open)
            if let close = html[afterOpen...].firstIndex(where: { $0 == ">" || $0 == "<" }), html[close] == ">",
                isAllowed(tag: html[afterOpen..<close])
            {
                result += html[open...close]
                index = html.index(after: close)
            } else {
                result += "&lt;"
                index = afterOpen
            }
        }
        result += html[index...]
        return result
    }

    /// Whether the inside of a tag (between `<` and `>`) is one of the allowed forms.
    static func isAllowed(tag: Substring) -> Bool {
        if tag == "br" || tag == "hr" || tag == "/a" { return true }
        if tag.hasPrefix("/") { return plainTags.contains(String(tag.dropFirst())) }
        if plainTags.contains(String(tag)) { return true }
        if let value = attribute(of: tag, prefix: "ol start=\"", suffix: "\"") {
            return !value.isEmpty && value.count < 10 && value.allSatisfy { $0.isASCII && $0.isNumber }
        }
        if let value = attribute(of: tag, prefix: "code class=\"language-", suffix: "\"") {
            return !value.isEmpty && value.allSatisfy(isLanguageCharacter)
        }
        for cell in ["th", "td"] {
            if let value = attribute(of: tag, prefix: "\(cell) align=\"", suffix: "\"") {
                return ["left", "center", "right"].contains(value)
            }
        }
        if let value = attribute(of: tag, prefix: "a href=\"", suffix: "\" rel=\"\(MarkdownRenderer.rel)\"") {
            guard !value.contains("\""), let url = decodeAttribute(value) else { return false }
            return MarkdownRenderer.isAllowedURL(url)
        }
        return false
    }

    private static func attribute(of tag: Substring, prefix: String, suffix: String) -> Substring? {
        guard tag.count >= prefix.count + suffix.count, tag.hasPrefix(prefix), tag.hasSuffix(suffix) else { return nil }
        return tag.dropFirst(prefix.count).dropLast(suffix.count)
    }

    /// An attribute value with the five entities ``MarkdownRenderer/escape(_:)`` writes decoded; nil when it holds
    /// any other `&` (a numeric or named entity could hide a scheme from the check).
    static func decodeAttribute(_ value: Substring) -> String? {
        let entities: [(String, String)] = [("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'")]
        var result = ""
        var rest = value
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            let tail = rest[ampersand...]
            guard let (entity, character) = entities.first(where: { tail.hasPrefix($0.0) }) else { return nil }
            result += character
            rest = tail.dropFirst(entity.count)
        }
        return result + rest
    }
}
