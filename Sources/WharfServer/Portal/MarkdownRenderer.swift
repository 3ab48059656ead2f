import Ink

/// Turns user-written markdown (namespace descriptions, comments) into HTML the portal may insert unescaped
/// (`{{{…}}}`).
///
/// Ink passes raw HTML through, writes URLs and code-block languages unescaped and copies `&…;` runs verbatim
/// (`&<script>;` comes out as a live tag), so safety is in two layers. Ink's modifiers rebuild what they can
/// (HTML becomes escaped text; links keep an `href` only for http, https, mailto and `/` or `#` URLs; images
/// become links to the image, as the CSP's `img-src 'self'` would block them). Then ``MarkdownSanitizer`` walks
/// the whole output and escapes every tag that is not one of the few, attribute-exact tags Ink and the modifiers
/// write: it alone is what guarantees no `on*=` attribute nor `javascript:` URL survives.
struct MarkdownRenderer: Sendable {
    /// The largest input rendered as markdown, in UTF-8 bytes; longer input is shown as plain text (Ink's parser
    /// is not linear on every input, and no description or comment needs more).
    var maximumSize: Int = 64 * 1024

    init(maximumSize: Int = 64 * 1024) {
        self.maximumSize = maximumSize
    }

    /// The safe HTML of `markdown`.
    func html(_ markdown: String) -> String {
        guard markdown.utf8.count <= maximumSize else {
            return "<p><em>This text is longer than \(maximumSize / 1024) KiB and is shown without formatting.</em></p>"
                + "<pre>\(Self.escape(markdown))</pre>"
        }
        // NUL becomes U+FFFD, as an HTML parser would make it; Foundation's string search mishandles it.
        var markdown = markdown.contains("\u{0}") ? markdown.replacing("\u{0}", with: "\u{FFFD}") : markdown
        markdown = Self.withoutPTagOpenings(markdown)
        // Ink reads a leading `---` line up to the next `---` as metadata and drops it: keep it as text (a
        // description starting with a rule is the likelier intent), with `***`, the same rule for Ink.
        if let first = markdown.firstIndex(where: { !$0.isWhitespace }), markdown[first...].hasPrefix("---\n") {
            markdown.replaceSubrange(first..<markdown.index(first, offsetBy: 3), with: "***")
        }
        let parser = MarkdownParser(modifiers: [
            Modifier(target: .html) { Self.htmlOrAutolink($0.markdown) },
            Modifier(target: .links) { Self.link(html: $0.html, markdown: $0.markdown) ?? Self.escape(String($0.markdown)) },
            Modifier(target: .images) { Self.image(html: $0.html) ?? Self.escape(String($0.markdown)) },
            Modifier(target: .codeBlocks) { Self.codeBlock(html: $0.html, markdown: $0.markdown) },
        ])
        let html = parser.html(from: markdown)
        let restored = html.contains(Self.lessThanStandIn) ? html.replacing(String(Self.lessThanStandIn), with: "&lt;") : html
        return MarkdownSanitizer.sanitize(restored)
    }

    /// What stands for a `<` that Ink must not see; a noncharacter, so no text needs it (input holding it gets
    /// U+FFFD instead), turned into `&lt;` in Ink's output, where the `<` would have been shown as text anyway.
    /// (A Swift literal cannot hold a noncharacter, hence the scalar.)
    static let lessThanStandIn = Character(Unicode.Scalar(0xFDD0 as UInt32) ?? "\u{FFFC}")

    /// `markdown` with the `<` of every `<p`, `<P`, `</p` and `</P` replaced by ``lessThanStandIn``.
    ///
    /// Ink 0.6.0 never returns on a `<p` or `<P` where a block starts (or where a paragraph breaks before it)
    /// when it is not an HTML element to Ink: no `>` after it (`a <p`), or a `\` before it (`\<p>`). Its HTML
    /// reader gives up, its paragraph reader stops before any `<p` without reading a character, and its main
    /// loop retries at the same place forever, appending an empty paragraph each time until memory runs out.
    /// Without these `<` Ink never reaches that state. Raw HTML is shown as text here anyway; the closing tags
    /// go too so that `<p>…</p>` is text on both ends (a lone `</p>` would swallow the rest of the input).
    static func withoutPTagOpenings(_ markdown: String) -> String {
        var markdown = markdown
        if markdown.contains(lessThanStandIn) {
            markdown = markdown.replacing(String(lessThanStandIn), with: "\u{FFFD}")
        }
        guard markdown.contains("<") else { return markdown }
        var result = ""
        result.reserveCapacity(markdown.utf8.count)
        var index = markdown.startIndex
        while index < markdown.endIndex {
            let character = markdown[index]
            let next = markdown.index(after: index)
            if character == "<", next < markdown.endIndex {
                var name = markdown[next...].prefix(2)
                if name.first == "/" { name = name.dropFirst() }
                // As Ink tests it: the Character (not the scalar) after the `<` lowercased is "p".
                if let first = name.first, first.lowercased() == "p" {
                    result.append(lessThanStandIn)
                    index = next
                    continue
                }
            }
            result.append(character)
            index = next
        }
        return result
    }

    /// The `rel` of every link: user text must not lend the site's reputation, nor reach `window.opener`.
    static let rel = "nofollow noopener noreferrer"

    /// Escapes text for element content and for double- or single-quoted attribute values.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Whether `url` (as written, not entity-decoded: Ink copies it verbatim) may be an `href`: an absolute
    /// http, https or mailto URL, or a path or fragment on this site. No whitespace or control character is
    /// allowed anywhere, since browsers drop some of them inside a scheme (`java\tscript:`).
    static func isAllowedURL(_ url: String) -> Bool {
        guard !url.isEmpty else { return false }
        for scalar in url.unicodeScalars {
            if scalar.value < 0x21 || scalar.value == 0x7F || scalar.properties.isWhitespace { return false }
            if (0x80...0x9F).contains(scalar.value) { return false }
        }
        if url.hasPrefix("/") || url.hasPrefix("#") { return true }
        guard let colon = url.firstIndex(of: ":") else { return false }
        let scheme = url[..<colon].lowercased()
        return ["http", "https", "mailto"].contains(scheme)
    }

    /// An anchor to `url` around `textHTML`, or `textHTML` alone when the URL is refused.
    static func anchor(url: String, textHTML: String) -> String {
        let url = url.trimmingSpaces
        guard isAllowedURL(url) else { return textHTML }
        return "<a href=\"\(escape(url))\" rel=\"\(rel)\">\(textHTML)</a>"
    }

    /// Rebuilds Ink's `<a href="URL">TEXT</a>`. The URL ends at a `">`: for an inline link, the first one after
    /// which the markdown ends in `(URL)` (Ink reads it up to the balancing `)`, so a shorter URL cannot fit);
    /// otherwise the first one. A crafted URL may then leave odd text behind, which the sanitizer keeps inert.
    static func link(html: String, markdown: Substring) -> String? {
        let prefix = "<a href=\""
        guard html.hasPrefix(prefix), html.hasSuffix("</a>") else { return nil }
        let rest = html.dropFirst(prefix.count).dropLast("</a>".count)
        guard var end = rest.firstRange(of: "\">") else { return nil }
        if markdown.hasSuffix(")") {
            var candidate: Range<Substring.Index>? = end
            while let range = candidate, !markdown.hasSuffix("(\(rest[..<range.lowerBound]))") {
                candidate = rest[range.upperBound...].firstRange(of: "\">")
            }
            if let candidate { end = candidate }
        }
        return anchor(url: String(rest[..<end.lowerBound]), textHTML: withoutAnchors(rest[end.upperBound...]))
    }

    /// A link's text without the anchors of links or images inside it (a badge `[![alt](img)](url)`): a browser
    /// would close the outer link at the inner one, so the outer link keeps the text alone.
    static func withoutAnchors(_ html: Substring) -> String {
        let closing = "\" rel=\"\(rel)\">"
        var result = ""
        var rest = html
        while let open = rest.firstRange(of: "<a href=\"") {
            guard let close = rest[open.upperBound...].firstRange(of: closing) else { break }
            result += rest[..<open.lowerBound]
            rest = rest[close.upperBound...]
        }
        result += rest
        return result.replacing("</a>", with: "")
    }

    /// Ink has no autolinks and reads `<https://…>` as HTML: an allowed URL there becomes a link, the rest text.
    static func htmlOrAutolink(_ markdown: Substring) -> String {
        let trimmed = String(markdown).trimmingSpaces
        if trimmed.hasPrefix("<"), trimmed.hasSuffix(">") {
            let url = String(trimmed.dropFirst().dropLast())
            // An absolute URL only: `</a>…:…>` would otherwise pass as a path on this site.
            if url.contains(":"), !url.hasPrefix("/"), !url.hasPrefix("#"), isAllowedURL(url) {
                return anchor(url: url, textHTML: escape(url))
            }
        }
        return escape(String(markdown))
    }

    /// Rebuilds Ink's `<img src="URL" alt="ALT"/>` as a link to the image, the alt text (or the URL) as its text.
    static func image(html: String) -> String? {
        let prefix = "<img src=\""
        guard html.hasPrefix(prefix), html.hasSuffix("\"/>") else { return nil }
        let rest = html.dropFirst(prefix.count).dropLast("\"/>".count)
        let url: String
        var alt: String
        if let separator = rest.firstRange(of: "\" alt=\"") {
            url = String(rest[..<separator.lowerBound])
            alt = String(rest[separator.upperBound...])
        } else {
            url = String(rest)
            alt = ""
        }
        if alt.isEmpty { alt = escape(url.trimmingSpaces) }
        return anchor(url: url, textHTML: alt)
    }

    /// Keeps a code block's language class only when it is a plain word (Ink writes it verbatim, quotes and all).
    /// The code itself Ink escapes.
    static func codeBlock(html: String, markdown: Substring) -> String {
        var reader = markdown.drop(while: { $0 == "`" })
        reader = reader.drop(while: { $0 == " " || $0 == "\t" })
        let language = String(reader.prefix(while: { !$0.isNewline })).trimmingSpaces
        let opening = language.isEmpty ? "<pre><code>" : "<pre><code class=\"language-\(language)\">"
        guard html.hasPrefix(opening), html.hasSuffix("</code></pre>") else { return escape(String(markdown)) }
        let code = html.dropFirst(opening.count).dropLast("</code></pre>".count)
        let safe = !language.isEmpty && language.allSatisfy(MarkdownSanitizer.isLanguageCharacter)
        return (safe ? "<pre><code class=\"language-\(language)\">" : "<pre><code>") + code + "</code></pre>"
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
