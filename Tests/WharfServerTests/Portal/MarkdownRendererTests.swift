import Testing

@testable import WharfServer

@Suite struct MarkdownRendererTests {
    let renderer = MarkdownRenderer()

    /// What no rendering may contain, whatever the input: a tag other than the allowed ones, an event handler
    /// attribute, a dangerous scheme in an attribute.
    func expectSafe(_ html: String, _ comment: Comment? = nil) {
        let lower = html.lowercased()
        #expect(!lower.contains("<script"), comment)
        #expect(!lower.contains("<img"), comment)
        #expect(!lower.contains("<svg"), comment)
        #expect(!lower.contains("<iframe"), comment)
        #expect(!lower.contains("href=\"javascript"), comment)
        #expect(!lower.contains("href=\"data"), comment)
        #expect(!lower.contains("href=\"vbscript"), comment)
        // Every tag left is one the sanitizer allows, so no tag can carry `on…=` either.
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: ">") else { break }
            let tag = after[..<close]
            #expect(MarkdownSanitizer.isAllowed(tag: tag), "tag <\(tag)> in \(html)")
            #expect(!tag.lowercased().contains(" on"), comment)
            rest = after[after.index(after: close)...]
        }
    }

    @Test func formatsOrdinaryMarkdown() {
        let html = renderer.html("# Title\n\nSome *em* and **strong** text with `code`.\n\n- one\n- two\n")
        #expect(html.contains("<h1>Title</h1>"))
        #expect(html.contains("<em>em</em>"))
        #expect(html.contains("<strong>strong</strong>"))
        #expect(html.contains("<code>code</code>"))
        #expect(html.contains("<ul><li>one</li><li>two</li></ul>"))
        expectSafe(html)
    }

    @Test func keepsSafeLinksWithRel() {
        let html = renderer.html("See [the docs](https://example.com/a?b=1&c=2) and [home](/n/team) and [top](#top).")
        #expect(html.contains("<a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"nofollow noopener noreferrer\">the docs</a>"))
        #expect(html.contains("<a href=\"/n/team\" rel=\"nofollow noopener noreferrer\">home</a>"))
        #expect(html.contains("<a href=\"#top\" rel=\"nofollow noopener noreferrer\">top</a>"))
        let mail = renderer.html("[mail](mailto:ops@example.com)")
        #expect(mail.contains("href=\"mailto:ops@example.com\""))
    }

    @Test(arguments: [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](java\u{1}script:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](javascript&#58;alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox(1))",
        "[x](foo/bar)",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
    ])
    func dropsUnsafeLinkTargets(markdown: String) {
        let html = renderer.html(markdown)
        #expect(!html.contains("href="), "\(html)")
        #expect(html.contains("x"))
        expectSafe(html)
    }

    @Test func referenceLinksAndQuotesInURLs() {
        let html = renderer.html("[docs][d] and [x](https://e.com/\"onmouseover=\"alert(1) \"title\")\n\n[d]: https://example.com/docs\n")
        #expect(html.contains("<a href=\"https://example.com/docs\" rel=\"nofollow noopener noreferrer\">docs</a>"))
        #expect(!html.contains("\"onmouseover"))
        expectSafe(html)
        let breakout = renderer.html("[x](https://e.com/\">evil<b>)")
        expectSafe(breakout)
        #expect(!breakout.contains("<b>"))
        // The whole URL is taken (and escaped), not the part before its `">`.
        #expect(breakout.contains("<a href=\"https://e.com/&quot;&gt;evil&lt;b&gt;\" rel=\"nofollow noopener noreferrer\">x</a>"))
    }

    @Test func imagesBecomeLinks() {
        let html = renderer.html("![build status](https://ci.example.com/badge.svg)")
        #expect(html.contains("<a href=\"https://ci.example.com/badge.svg\" rel=\"nofollow noopener noreferrer\">build status</a>"))
        expectSafe(html)
        let noAlt = renderer.html("![](/static/x.svg)")
        #expect(noAlt.contains("<a href=\"/static/x.svg\" rel=\"nofollow noopener noreferrer\">/static/x.svg</a>"))
        let unsafe = renderer.html("![alt text](javascript:alert(1))")
        #expect(!unsafe.contains("href="))
        #expect(unsafe.contains("alt text"))
        let badge = renderer.html("[![badge](https://ci.example.com/b.svg)](https://ci.example.com)")
        #expect(badge == "<p><a href=\"https://ci.example.com\" rel=\"nofollow noopener noreferrer\">badge</a></p>")
        expectSafe(badge)
    }

    @Test(arguments: [
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        "<script>alert(1)</script>",
        "\"><script>alert(1)</script>",
        "text <img src=x onerror=alert(1)> inline",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<IMG SRC=\"jav&#x09;ascript:alert(1)\">",
        "<javascript:alert(1)>",
        "&<script>alert(1)</script>;",
        "a &<img/src=x/onerror=alert(1)>; b",
        "<div onclick=\"alert(1)\">click</div>",
        "<!-- <script>alert(1)</script> -->",
        "| a | b |\n|---|---|\n| <script>x</script> | <img src=x onerror=y> |",
        "> <iframe src=javascript:alert(1)>",
        "- <svg/onload=alert(1)>",
        "# <script>alert(1)</script>",
    ])
    func escapesRawHTML(markdown: String) {
        let html = renderer.html(markdown)
        expectSafe(html, "\(markdown) -> \(html)")
    }

    @Test func autolinks() {
        let html = renderer.html("<https://example.com/a>")
        #expect(html.contains("<a href=\"https://example.com/a\" rel=\"nofollow noopener noreferrer\">https://example.com/a</a>"))
        let hostile = renderer.html("<javascript:alert(1)>")
        #expect(hostile == "&lt;javascript:alert(1)&gt;")
    }

    @Test func rawHTMLIsShownAsText() {
        let html = renderer.html("<b onclick=\"x\">bold</b>")
        #expect(html.contains("&lt;b onclick=&quot;x&quot;&gt;bold&lt;/b&gt;"))
    }

    @Test func codeIsEscaped() {
        let block = renderer.html("```\n<script>alert(\"x\")</script> & more\n```")
        #expect(block.contains("<pre><code>&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; more\n</code></pre>"))
        let inline = renderer.html("Use `<b>&amp;</b>` here")
        #expect(inline.contains("<code>&lt;b&gt;&amp;amp;&lt;/b&gt;</code>"))
        let language = renderer.html("```swift\nlet x = 1\n```")
        #expect(language.contains("<pre><code class=\"language-swift\">let x = 1\n</code></pre>"))
        let hostile = renderer.html("```\"><script>alert(1)</script>\nx\n```")
        #expect(hostile.contains("<pre><code>x\n</code></pre>"))
        expectSafe(hostile)
    }

    @Test func longInputIsPlainText() {
        let small = MarkdownRenderer(maximumSize: 100)
        let input = String(repeating: "*a* <b> ", count: 20)
        let html = small.html(input)
        #expect(html.hasPrefix("<p><em>This text is longer than"))
        #expect(html.contains("<pre>*a* &lt;b&gt; "))
        #expect(!html.contains("<em>a</em>"))
        #expect(MarkdownRenderer().maximumSize == 64 * 1024)
        let large = MarkdownRenderer().html(String(repeating: "x", count: 64 * 1024 + 1))
        #expect(large.hasPrefix("<p><em>"))
    }

    @Test func leadingRuleIsNotMetadata() {
        let html = renderer.html("---\ntitle: x\n---\nbody")
        #expect(html.contains("title: x"))
        #expect(html.contains("body"))
    }

    @Test func urlRules() {
        #expect(MarkdownRenderer.isAllowedURL("https://example.com"))
        #expect(MarkdownRenderer.isAllowedURL("HTTP://example.com"))
        #expect(MarkdownRenderer.isAllowedURL("/r/a/b"))
        #expect(!MarkdownRenderer.isAllowedURL("javascript:x"))
        #expect(!MarkdownRenderer.isAllowedURL(" https://example.com"))
        #expect(!MarkdownRenderer.isAllowedURL("https://exa mple.com"))
        #expect(!MarkdownRenderer.isAllowedURL("relative/path"))
        #expect(!MarkdownRenderer.isAllowedURL(""))
    }

    @Test func sanitizerAllowsOnlyExactTags() {
        #expect(MarkdownSanitizer.sanitize("<p>x</p>") == "<p>x</p>")
        #expect(MarkdownSanitizer.sanitize("<p class=x>y</p>") == "&lt;p class=x>y</p>")
        #expect(MarkdownSanitizer.sanitize("<a href=\"&#106;avascript:x\" rel=\"nofollow noopener noreferrer\">").hasPrefix("&lt;a"))
        #expect(MarkdownSanitizer.sanitize("<a href=\"https://e.com/?a&amp;b\" rel=\"nofollow noopener noreferrer\">t</a>").hasPrefix("<a href"))
        #expect(MarkdownSanitizer.sanitize("<td align=\"center\">") == "<td align=\"center\">")
        #expect(MarkdownSanitizer.sanitize("<td align=\"x\" onclick=\"y\">").hasPrefix("&lt;td"))
        #expect(MarkdownSanitizer.sanitize("<<p>>") == "&lt;<p>>")
    }
}
