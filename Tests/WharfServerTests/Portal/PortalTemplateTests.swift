import Foundation
import Mustache
import Testing

/// Renders every portal page from the templates in the source tree with sample data (signed out, signed in, admin)
/// and checks what people and the browser rely on: the layout's landmarks, the CSRF fields, the navigation and
/// that every value is escaped. With `WHARF_PORTAL_SNAPSHOTS=/some/dir` set it also writes the pages there, with
/// the concatenated stylesheet and script, so they can be opened or screenshotted without a server.
@Suite("Portal templates")
struct PortalTemplateTests {
    /// A value that must never reach the page as markup.
    static let hostile = "<script>alert(1)</script>\"'"
    static let hostileEscaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"

    /// The package root, found from this file's path: the test target cannot see WharfServer's `Bundle.module`.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let portalFolder = packageRoot.appendingPathComponent("Sources/WharfServer/Portal")

    static func library() async throws -> MustacheLibrary {
        try await MustacheLibrary(directory: portalFolder.appendingPathComponent("templates").path)
    }

    enum Viewer {
        case signedOut
        case user
        case admin
    }

    static func site(_ viewer: Viewer, title: String, nav: String? = nil, flash: [String: Any]? = nil) -> [String: Any] {
        var site: [String: Any] = [
            "title": title,
            "csrf": "csrf-token-value",
            "css": "site.css",
            "js": "site.js",
            "favicon": "favicon.svg",
            "signup": true,
            "version": "1.4.0",
            "host": "registry.example.com:5000",
            "nav": [
                "dashboard": nav == "dashboard", "explore": nav == "explore", "teams": nav == "teams",
                "me": nav == "me", "admin": nav == "admin", "activity": nav == "activity",
            ],
        ]
        switch viewer {
        case .signedOut:
            break
        case .user:
            site["user"] = ["name": "ada", "displayName": "Ada Lovelace", "isAdmin": false]
        case .admin:
            site["user"] = ["name": "root", "displayName": "The Administrator", "isAdmin": true]
        }
        if let flash {
            site["flash"] = flash
        }
        return site
    }

    static func dashboardData(_ viewer: Viewer, empty: Bool = false) -> [String: Any] {
        let namespaces: [[String: Any]] = [
            ["name": "ada", "visibility": "private", "repositories": 3, "url": "/n/ada"],
            ["name": "platform", "visibility": "protected", "repositories": 12, "url": "/n/platform"],
            ["name": "library", "visibility": "public", "repositories": 41, "url": "/n/library"],
        ]
        let teams: [[String: Any]] = [
            ["name": "platform-owners", "role": "owner", "url": "/teams/platform-owners"],
            ["name": "web", "role": "member", "url": "/teams/web"],
        ]
        let starred: [[String: Any]] = [
            ["name": "library/nginx", "url": "/r/library/nginx"],
            ["name": "platform/tools/builder", "url": "/r/platform/tools/builder"],
        ]
        let activities: [[String: Any]] = [
            [
                "time": "2 minutes ago", "timeISO": "2026-11-30T23:40:00Z", "actor": "ada", "action": "pushed",
                "target": "platform/api:1.8.2", "url": "/r/platform/api/-/tags/1.8.2",
            ],
            [
                "time": "1 hour ago", "timeISO": "2026-11-30T22:40:00Z", "actor": "ci-bot", "action": "deleted",
                "target": hostile, "url": "",
            ],
            [
                "time": "yesterday", "timeISO": "2026-11-29T10:00:00Z", "actor": "root", "action": "created namespace",
                "target": "library", "url": "/n/library",
            ],
        ]
        return [
            "site": site(viewer, title: "Dashboard", nav: "dashboard", flash: ["kind": "notice", "message": "Welcome back"]),
            "namespaces": empty ? [] : namespaces,
            "teams": empty ? [] : teams,
            "starred": empty ? [] : starred,
            "activities": empty ? [] : activities,
        ]
    }

    static func render(_ name: String, _ data: [String: Any], snapshot: String? = nil) async throws -> String {
        let library = try await library()
        let html = try #require(library.render(data, withTemplate: name))
        try writeSnapshot(named: snapshot ?? name, html: html)
        return html
    }

    /// Writes the page and the static files next to it when WHARF_PORTAL_SNAPSHOTS names a folder.
    static func writeSnapshot(named name: String, html: String) throws {
        guard let folder = ProcessInfo.processInfo.environment["WHARF_PORTAL_SNAPSHOTS"], !folder.isEmpty else {
            return
        }
        let out = URL(fileURLWithPath: folder)
        let files = FileManager.default
        try files.createDirectory(at: out, withIntermediateDirectories: true)
        try html.write(to: out.appendingPathComponent("\(name).html"), atomically: true, encoding: .utf8)
        let staticFolder = portalFolder.appendingPathComponent("static")
        for (sub, target) in [("css", "site.css"), ("js", "site.js")] {
            let dir = staticFolder.appendingPathComponent(sub)
            let names = try files.contentsOfDirectory(atPath: dir.path).sorted()
            let joined = try names.map { try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }
            try joined.joined(separator: "\n").write(to: out.appendingPathComponent(target), atomically: true, encoding: .utf8)
        }
        let favicon = try Data(contentsOf: staticFolder.appendingPathComponent("favicon.svg"))
        try favicon.write(to: out.appendingPathComponent("favicon.svg"), options: .atomic)
    }

    /// The layout's landmarks and head, the same on every page.
    static func expectLayout(_ html: String, title: String) {
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("<html lang=\"en\">"))
        #expect(html.contains("<meta name=\"viewport\""))
        #expect(html.contains("<meta name=\"csrf-token\" content=\"csrf-token-value\">"))
        #expect(html.contains("<title>\(title) · Wharf</title>"))
        #expect(html.contains("<link rel=\"stylesheet\" href=\"site.css\">"))
        #expect(html.contains("<script src=\"site.js\" defer></script>"))
        #expect(html.contains("<link rel=\"icon\" href=\"favicon.svg\""))
        #expect(html.contains("<a class=\"skip-link\" href=\"#main\">"))
        #expect(html.contains("<header class=\"site-header\">"))
        #expect(html.contains("<main id=\"main\""))
        #expect(html.contains("id=\"site-search\""))
        #expect(html.contains("href=\"/getting-started\""))
        #expect(html.contains("Wharf 1.4.0"))
        // The CSP forbids inline code and styles.
        #expect(!html.contains("<script>"))
        #expect(!html.contains(" style="))
        #expect(html.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil)
    }

    @Test("the sign-in page, signed out, with an error and the first-user notice")
    func signIn() async throws {
        let data: [String: Any] = [
            "site": Self.site(.signedOut, title: "Sign in"),
            "next": "/r/library/nginx", "name": Self.hostile, "error": "Wrong name or password.",
            "firstUser": true, "signup": true,
        ]
        let html = try await Self.render("signin", data)
        Self.expectLayout(html, title: "Sign in")
        #expect(html.contains("action=\"/signin\""))
        #expect(html.contains("<input type=\"hidden\" name=\"_csrf\" value=\"csrf-token-value\">"))
        #expect(html.contains("name=\"next\" value=\"/r/library/nginx\""))
        #expect(html.contains("value=\"\(Self.hostileEscaped)\""))
        #expect(!html.contains(Self.hostile))
        #expect(html.contains("Wrong name or password."))
        #expect(html.contains("becomes the administrator"))
        #expect(html.contains("href=\"/signin\""))
        #expect(html.contains("href=\"/signup\""))
        #expect(!html.contains("action=\"/signout\""))
        #expect(!html.contains(">Dashboard<"))
        #expect(!html.contains(">Admin<"))
    }

    /// No error and no `next`: the keys are left out (a `nil` stored in `[String: Any]` would render as "nil").
    @Test("the sign-in page without error, first-user notice or sign-up")
    func signInPlain() async throws {
        var site = Self.site(.signedOut, title: "Sign in")
        site["signup"] = false
        let data: [String: Any] = [
            "site": site, "name": "", "firstUser": false, "signup": false,
        ]
        let html = try await Self.render("signin", data, snapshot: "signin-plain")
        #expect(!html.contains("flash--error"))
        #expect(!html.contains("name=\"next\""))
        #expect(!html.contains("becomes the administrator"))
        #expect(!html.contains("href=\"/signup\""))
    }

    @Test("the sign-up page for the first user")
    func signUp() async throws {
        let data: [String: Any] = [
            "site": Self.site(.signedOut, title: "Sign up"),
            "name": "ada", "email": Self.hostile, "error": "That name is taken.", "firstUser": true,
        ]
        let html = try await Self.render("signup", data)
        Self.expectLayout(html, title: "Sign up")
        #expect(html.contains("action=\"/signup\""))
        #expect(html.contains("name=\"_csrf\" value=\"csrf-token-value\""))
        #expect(html.contains("name=\"name\" value=\"ada\""))
        #expect(html.contains("name=\"email\" value=\"\(Self.hostileEscaped)\""))
        #expect(html.contains("name=\"password\""))
        #expect(html.contains("That name is taken."))
        #expect(html.contains("you will be the administrator"))
        #expect(!html.contains(Self.hostile))
    }

    @Test("the dashboard of a signed-in user, with data")
    func dashboard() async throws {
        var data = Self.dashboardData(.user)
        var site = data["site"] as! [String: Any]
        site["user"] = ["name": "ada", "displayName": Self.hostile, "isAdmin": false]
        data["site"] = site
        let html = try await Self.render("dashboard", data)
        Self.expectLayout(html, title: "Dashboard")
        #expect(html.contains("<a href=\"/\" aria-current=\"page\">Dashboard</a>"))
        #expect(html.contains("<a href=\"/explore\">Explore</a>"))
        #expect(html.contains("href=\"/teams\""))
        #expect(html.contains("href=\"/activity\""))
        #expect(!html.contains(">Admin<"))
        #expect(html.contains("action=\"/signout\""))
        #expect(html.contains("title=\"\(Self.hostileEscaped)\""))
        #expect(html.contains("flash--notice"))
        #expect(html.contains("Welcome back"))
        #expect(html.contains("<a href=\"/n/platform\"><strong>platform</strong></a>"))
        #expect(html.contains("badge--protected"))
        #expect(html.contains(">41<"))
        #expect(html.contains("href=\"/teams/platform-owners\""))
        #expect(html.contains("badge badge--role\">owner<"))
        #expect(html.contains("href=\"/r/platform/tools/builder\""))
        #expect(html.contains("<a class=\"mono\" href=\"/r/platform/api/-/tags/1.8.2\">platform/api:1.8.2</a>"))
        #expect(html.contains("datetime=\"2026-11-30T23:40:00Z\""))
        // An activity without a page: its target is text, not a link to "".
        #expect(html.contains("<span class=\"mono\">\(Self.hostileEscaped)</span>"))
        #expect(!html.contains("href=\"\""))
        #expect(html.contains("docker login registry.example.com:5000"))
        #expect(!html.contains("No namespaces yet"))
        #expect(!html.contains(Self.hostile))
    }

    @Test("the dashboard of an administrator with nothing in it yet")
    func dashboardEmpty() async throws {
        let html = try await Self.render("dashboard", Self.dashboardData(.admin, empty: true), snapshot: "dashboard-empty")
        Self.expectLayout(html, title: "Dashboard")
        #expect(html.contains("<a href=\"/admin\">Admin</a>"))
        #expect(html.contains("badge badge--admin"))
        #expect(html.contains("No namespaces yet"))
        #expect(html.contains("Nothing has happened yet"))
        #expect(html.contains("Star a repository"))
        #expect(html.contains("not in a team yet"))
        #expect(!html.contains("<table"))
    }

    @Test("the error page, signed out and signed in")
    func errorPage() async throws {
        for viewer in [Viewer.signedOut, .admin] {
            let data: [String: Any] = [
                "site": Self.site(viewer, title: "Not found", flash: ["kind": "error", "message": Self.hostile]),
                "status": 404, "heading": "Page not found", "message": Self.hostile,
            ]
            let html = try await Self.render("error", data, snapshot: viewer == .admin ? "error-admin" : "error")
            Self.expectLayout(html, title: "Not found")
            #expect(html.contains(">404<"))
            #expect(html.contains("Page not found"))
            #expect(html.contains("flash--error"))
            #expect(html.contains(Self.hostileEscaped))
            #expect(!html.contains(Self.hostile))
            #expect(html.contains("action=\"/signout\"") == (viewer == .admin))
        }
    }

    /// A `}}` inside a template's leading comment (a documented key like `sync {a, b}}`) ends the comment early and
    /// the rest of it is printed at the top of every page: each comment must end where it was meant to, at the end
    /// of a line.
    @Test("every template comment ends at the end of a line")
    func commentsEndAtLineEnds() throws {
        let folder = Self.portalFolder.appendingPathComponent("templates")
        let files = try #require(FileManager.default.enumerator(atPath: folder.path)).compactMap { $0 as? String }.filter {
            $0.hasSuffix(".mustache")
        }
        #expect(files.count > 20)
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            var rest = Substring(text)
            while let open = rest.range(of: "{{!") {
                guard let close = rest[open.upperBound...].range(of: "}}") else {
                    Issue.record("\(file): a comment is not closed")
                    break
                }
                let after = rest[close.upperBound...].first
                #expect(after == nil || after == "\n", "\(file): a comment ends mid-line: …\(rest[open.lowerBound..<close.upperBound].suffix(40))")
                rest = rest[close.upperBound...]
            }
        }
    }
}
