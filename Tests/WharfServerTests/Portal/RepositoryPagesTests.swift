import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import WharfAuth
import WharfDatabase

@testable import WharfServer

/// The repository, tag and manifest pages in-process: content pushed through the registry as alice, then read,
/// starred, commented on and deleted through the pages as a browser would.
@Suite struct RepositoryPagesTests {
    static let alice = RegistryAuthorizationTests.basic("alice", "alice-password")

    /// Alice pushes to her namespace, the admin to any other (the global namespace).
    static func pusher(_ name: String) -> HTTPFields {
        name.hasPrefix("alice/") ? alice : RegistryAuthorizationTests.basic("admin", "admin-password")
    }

    /// Pushes a blob (as ``pusher(_:)``), returning its digest.
    @discardableResult
    static func blob(_ fixture: AuthFixture, _ name: String, _ content: [UInt8]) async throws -> String {
        let response = try await RegistryAuthorizationTests.pushBlob(fixture, name, content, pusher(name))
        #expect(response.status == .created, "\(response.text)")
        return digest(content)
    }

    /// Puts a manifest (as ``pusher(_:)``) under `reference` (a tag or its digest), returning its digest.
    @discardableResult
    static func manifest(_ fixture: AuthFixture, _ name: String, _ reference: String?, _ json: String, type: String) async throws -> String {
        let content = bytes(json)
        var headers = pusher(name)
        headers[.contentType] = type
        let response = try await fixture.client.execute(
            uri: "/v2/\(name)/manifests/\(reference ?? digest(content))",
            method: .put,
            headers: headers,
            body: buffer(content)
        )
        #expect(response.status == .created, "\(response.text)")
        return digest(content)
    }

    /// An image with one layer and a config carrying `config` (JSON members), pushed by digest or as `tag`.
    static func image(
        _ fixture: AuthFixture,
        _ name: String,
        tag: String?,
        architecture: String = "amd64",
        config: String = ""
    ) async throws
        -> String
    {
        let configBytes = bytes(#"{"architecture":"\#(architecture)","os":"linux"\#(config)}"#)
        let layer = bytes("layer of \(name) for \(architecture) \(config)")
        try await blob(fixture, name, configBytes)
        try await blob(fixture, name, layer)
        return try await manifest(
            fixture,
            name,
            tag,
            """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(digest(configBytes))","size":\(configBytes.count)},\
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(digest(layer))","size":\(layer.count)}]}
            """,
            type: "application/vnd.oci.image.manifest.v1+json"
        )
    }

    /// An artifact manifest (a signature, an SBOM) with an empty config and one blob, referring to `subject`.
    static func artifact(_ fixture: AuthFixture, _ name: String, tag: String?, artifactType: String, subject: String?) async throws -> String {
        let empty = bytes("{}")
        let payload = bytes("payload \(artifactType) \(subject ?? "")")
        try await blob(fixture, name, empty)
        try await blob(fixture, name, payload)
        let subjectJSON = subject.map { #","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#($0)","size":100}"# } ?? ""
        return try await manifest(
            fixture,
            name,
            tag,
            """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"\(artifactType)",\
            "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(digest(empty))","size":2},\
            "layers":[{"mediaType":"application/octet-stream","digest":"\(digest(payload))","size":\(payload.count)}]\(subjectJSON)}
            """,
            type: "application/vnd.oci.image.manifest.v1+json"
        )
    }

    /// What the tests push to alice/app: `v1` and `latest` on one image (with a cosign signature tag and an OCI
    /// SBOM referring to it), and `multi`, a two-platform index with a BuildKit attestation manifest.
    struct Pushed {
        var single: String
        var amd64: String
        var arm64: String
        var attestation: String
        var index: String
        var signature: String
        var sbom: String
    }

    static func pushApp(_ fixture: AuthFixture, _ name: String = "alice/app") async throws -> Pushed {
        let config =
            #","config":{"Env":["PATH=/usr/bin","API_SECRET=hunter2-value"],"Cmd":["serve","--port","80"],"Labels":{"org.opencontainers.image.title":"App <b>title</b>"}},"created":"2026-01-02T03:04:05Z","history":[{"created_by":"RUN make install"}]"#
        let single = try await image(fixture, name, tag: "v1", config: config)
        _ = try await image(fixture, name, tag: "latest", config: config)
        let hex = single.dropFirst("sha256:".count)
        let signature = try await artifact(
            fixture,
            name,
            tag: "sha256-\(hex).sig",
            artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
            subject: nil
        )
        let sbom = try await artifact(fixture, name, tag: nil, artifactType: "application/spdx+json", subject: single)
        let amd64 = try await image(fixture, name, tag: nil, architecture: "amd64", config: #","variant":"""#)
        let arm64 = try await image(fixture, name, tag: nil, architecture: "arm64", config: #","variant":"v8""#)
        let attestation = try await artifact(fixture, name, tag: nil, artifactType: "application/vnd.in-toto+json", subject: nil)
        let sizes = try await [amd64, arm64, attestation].asyncMap { digest in
            let response = try await fixture.client.execute(uri: "/v2/\(name)/manifests/\(digest)", method: .get, headers: alice)
            return response.body.readableBytes
        }
        let index = try await manifest(
            fixture,
            name,
            "multi",
            """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(amd64)","size":\(sizes[0]),"platform":{"os":"linux","architecture":"amd64"}},\
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(arm64)","size":\(sizes[1]),"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},\
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(attestation)","size":\(sizes[2]),"platform":{"os":"unknown","architecture":"unknown"},\
            "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"\(amd64)"}}]}
            """,
            type: "application/vnd.oci.image.index.v1+json"
        )
        return Pushed(single: single, amd64: amd64, arm64: arm64, attestation: attestation, index: index, signature: signature, sbom: sbom)
    }

    static func deletes(_ enabled: Bool) -> (inout ServerConfiguration) -> Void {
        { $0.permissions.deleteEnabled = enabled }
    }

    static func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func theRepositoryPageGroupsTagsByDigestWithPlatformsAndReferrersUnderTheirImage() async throws {
        try await withAuthServer { fixture in
            let pushed = try await Self.pushApp(fixture)
            let browser = PortalBrowser(client: fixture.client)
            try await browser.signIn("alice")
            let page = try await browser.get("/r/alice/app")
            #expect(page.status == .ok)
            let html = page.text
            // Two groups: v1+latest on one image, multi on the index. The cosign tag is no tag.
            #expect(Self.occurrences(#"<li class="tag-group""#, in: html) == 2)
            #expect(html.contains(#">v1</a>"#) && html.contains(#">latest</a>"#) && html.contains(#">multi</a>"#))
            #expect(!html.contains(".sig</a>"))
            // The index's platforms, each with its digest; the attestation is no platform.
            #expect(html.contains("linux/amd64") && html.contains("linux/arm64/v8"))
            #expect(!html.contains("unknown/unknown"))
            #expect(html.contains(PortalFormat.shortDigest(pushed.amd64)) && html.contains(PortalFormat.shortDigest(pushed.arm64)))
            // Referrers under what they describe: the signature and SBOM of v1, the attestation of linux/amd64.
            #expect(html.contains("badge--signature") && html.contains("badge--sbom") && html.contains("badge--attestation"))
            #expect(html.contains("for linux/amd64"))
            let singleGroup = try #require(html.range(of: #">v1</a>"#))
            let indexGroup = try #require(html.range(of: #">multi</a>"#))
            let signatureAt = try #require(html.range(of: PortalFormat.manifestURL(repository: "alice/app", digest: pushed.signature)))
            let attestationAt = try #require(html.range(of: PortalFormat.manifestURL(repository: "alice/app", digest: pushed.attestation)))
            // Newest push first: the index's group comes before the image's.
            #expect(indexGroup.lowerBound < attestationAt.lowerBound && attestationAt.lowerBound < singleGroup.lowerBound)
            #expect(singleGroup.lowerBound < signatureAt.lowerBound)
            // Pull commands by tag and by digest.
            #expect(html.contains("/alice/app:v1</code>") || html.contains("/alice/app:latest</code>"))
            #expect(html.contains("/alice/app@\(pushed.single)</code>"))
            #expect(html.contains("pushed") && html.contains("by <strong>alice</strong>"))
        }
    }

    @Test func onlyThoseWhoMayPullSeeTheRepositoryAndATagPageShowsLayersConfigAndEnvironmentNamesOnly() async throws {
        try await withAuthServer { fixture in
            let pushed = try await Self.pushApp(fixture)
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            #expect(try await bob.get("/r/alice/app").status == .notFound)
            #expect(try await bob.get("/r/alice/app/-/tags/v1").status == .notFound)
            let visitor = PortalBrowser(client: fixture.client)
            #expect(try await visitor.get("/r/alice/app").status == .notFound)
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let tag = try await alice.get("/r/alice/app/-/tags/v1")
            #expect(tag.status == .ok)
            let html = tag.text
            #expect(html.contains("application/vnd.oci.image.layer.v1.tar+gzip"))
            #expect(html.contains("API_SECRET") && html.contains("PATH"))
            #expect(!html.contains("hunter2"))
            #expect(html.contains("[&quot;serve&quot;, &quot;--port&quot;, &quot;80&quot;]"))
            #expect(html.contains("App &lt;b&gt;title&lt;/b&gt;"))
            #expect(html.contains("RUN make install"))
            #expect(html.contains("badge--signature") && html.contains("badge--sbom"))
            #expect(html.contains(pushed.single))
            // The index's page links each platform's manifest; the attestation is a referrer, not a platform.
            let index = try await alice.get(PortalFormat.manifestURL(repository: "alice/app", digest: pushed.index)).text
            #expect(index.contains(PortalFormat.manifestURL(repository: "alice/app", digest: pushed.arm64)))
            #expect(index.contains("linux/arm64/v8") && !index.contains("unknown/unknown"))
            #expect(index.contains("badge--attestation"))
            let child = try await alice.get(PortalFormat.manifestURL(repository: "alice/app", digest: pushed.arm64))
            #expect(child.status == .ok && child.text.contains("linux/arm64/v8"))
            #expect(try await alice.get("/r/alice/app/-/tags/nope").status == .notFound)
            #expect(try await alice.get("/r/alice/app/-/other").status == .notFound)
        }
    }

    @Test func deletingATagOrAManifestNeedsTheRightTheTokenAndThenTheRegistryAnswers404() async throws {
        try await withAuthServer(configure: Self.deletes(true)) { fixture in
            let pushed = try await Self.pushApp(fixture)
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let page = try await alice.get("/r/alice/app/-/tags/v1").text
            #expect(page.contains("This deletes only the tag; the image stays while other tags point at it"))
            #expect(
                page.contains("every tag pointing at it: <strong>latest, v1</strong>")
                    || page.contains("every tag pointing at it: <strong>v1, latest</strong>")
            )
            // Without the CSRF token nothing happens.
            #expect(try await alice.post("/r/alice/app/-/tags/v1/delete", csrf: .none).status == .forbidden)
            #expect(try await fixture.client.execute(uri: "/v2/alice/app/manifests/v1", method: .head, headers: Self.alice).status == .ok)
            // Bob may not see it, so may not delete it.
            let bob = PortalBrowser(client: fixture.client)
            try await bob.signIn("bob")
            #expect(try await bob.post("/r/alice/app/-/tags/v1/delete").status == .notFound)
            let deleted = try await alice.post("/r/alice/app/-/tags/v1/delete")
            #expect(deleted.status == .seeOther)
            #expect(deleted.headers[.location] == "/r/alice/app")
            #expect(try await fixture.client.execute(uri: "/v2/alice/app/manifests/v1", method: .head, headers: Self.alice).status == .notFound)
            #expect(try await fixture.client.execute(uri: "/v2/alice/app/manifests/latest", method: .head, headers: Self.alice).status == .ok)
            #expect(try await alice.get("/r/alice/app").text.contains("Deleted the tag alice/app:v1."))
            // Deleting the index deletes its tag.
            let url = PortalFormat.manifestURL(repository: "alice/app", digest: pushed.index)
            #expect(try await alice.post(url + "/delete").status == .seeOther)
            #expect(try await fixture.client.execute(uri: "/v2/alice/app/manifests/multi", method: .head, headers: Self.alice).status == .notFound)
            #expect(
                try await fixture.client.execute(uri: "/v2/alice/app/manifests/\(pushed.index)", method: .head, headers: Self.alice).status
                    == .notFound
            )
            #expect(!(try await alice.get("/r/alice/app").text.contains(">multi</a>")))
        }
    }

    @Test func withDeletesDisabledThePageOffersNoDeleteAndAPostIsRefused() async throws {
        try await withAuthServer(configure: Self.deletes(false)) { fixture in
            _ = try await Self.pushApp(fixture)
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            #expect(!(try await alice.get("/r/alice/app/-/tags/v1").text.contains("Delete tag")))
            let refused = try await alice.post("/r/alice/app/-/tags/v1/delete")
            #expect(refused.status == .forbidden)
            #expect(refused.text.contains("deletes are disabled"))
            #expect(try await fixture.client.execute(uri: "/v2/alice/app/manifests/v1", method: .head, headers: Self.alice).status == .ok)
        }
    }

    @Test func commentsRenderMarkdownInertAndTheirAuthorOrAnAdminDeletesThem() async throws {
        try await withAuthServer { fixture in
            _ = try await Self.image(fixture, "alice/app", tag: "v1")
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            try await alice.get("/r/alice/app")
            let payload = #"<script>alert(1)</script> **bold** [x](javascript:alert(2)) <img src=x onerror=alert(3)> "quoted""#
            #expect(try await alice.post("/r/alice/app/-/comments", [("body", payload)]).status == .seeOther)
            let html = try await alice.get("/r/alice/app").text
            #expect(html.contains("<strong>bold</strong>"))
            #expect(!html.contains("<script>alert"))
            #expect(!html.contains("javascript:alert"))
            #expect(!html.contains("<img src=x"))
            #expect(html.contains("&lt;script&gt;"))
            // An empty comment comes back with the error.
            let empty = try await alice.post("/r/alice/app/-/comments", [("body", "   ")])
            #expect(empty.status == .unprocessableContent)
            #expect(empty.text.contains("must not be empty"))
            // The admin sees the delete button and may delete it; without CSRF nothing happens.
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            let adminPage = try await admin.get("/r/alice/app").text
            let id = try #require(adminPage.range(of: #"/-/comments/(\d+)/delete"#, options: .regularExpression)).lowerBound
            let path = String(adminPage[id...].prefix { $0 != "\"" })
            #expect(try await admin.post("/r/alice/app" + path, csrf: .none).status == .forbidden)
            #expect(try await admin.post("/r/alice/app" + path).status == .seeOther)
            #expect(!(try await alice.get("/r/alice/app").text.contains("<strong>bold</strong>")))
        }
    }

    @Test func starringTogglesAndVisitorsAreAskedToSignIn() async throws {
        try await withAuthServer { fixture in
            _ = try await Self.image(fixture, "alice/app", tag: "v1")
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            #expect(try await alice.get("/r/alice/app").text.contains("☆ Star"))
            #expect(try await alice.post("/r/alice/app/-/star", [("star", "1")]).status == .seeOther)
            let starred = try await alice.get("/r/alice/app").text
            #expect(starred.contains("★ Starred") && starred.contains("1 stars"))
            #expect(try await alice.post("/r/alice/app/-/star", [("star", "0")]).status == .seeOther)
            #expect(try await alice.get("/r/alice/app").text.contains("0 stars"))
            let visitor = PortalBrowser(client: fixture.client)
            try await visitor.get("/signin")
            let post = try await visitor.post("/r/alice/app/-/star", [("star", "1")])
            #expect(post.status == .seeOther && post.headers[.location]?.hasPrefix("/signin") == true)
        }
    }

    @Test func aNameWithSlashesAndTheTagListArePaged() async throws {
        try await withAuthServer { fixture in
            for number in 0..<27 { _ = try await Self.image(fixture, "alice/team/web", tag: "t\(number)", config: #","n":\#(number)"#) }
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let first = try await alice.get("/r/alice/team/web")
            #expect(first.status == .ok)
            // 25 groups a page (RepositoryPages.pageSize), then a link to the rest.
            #expect(Self.occurrences(#"<li class="tag-group""#, in: first.text) == 25)
            let next = try #require(first.text.range(of: #"/r/alice/team/web\?after=[^"]+"#, options: .regularExpression))
            let second = try await alice.get(String(first.text[next]))
            #expect(second.status == .ok)
            #expect(Self.occurrences(#"<li class="tag-group""#, in: second.text) == 2)
            #expect(!second.text.contains("rel=\"next\""))
            // Every tag exactly once over the two pages.
            let shown = (first.text + second.text).matches(of: #/class="tag-chip" href="[^"]+">(t\d+)<\/a>/#).map { String($0.1) }
            #expect(shown.count == 27 && Set(shown) == Set((0..<27).map { "t\($0)" }))
            let tag = try await alice.get("/r/alice/team/web/-/tags/t3")
            #expect(tag.status == .ok && tag.text.contains("alice/team/web:t3"))
            #expect(try await alice.get("/r/-/tags/t3").status == .notFound)
        }
    }

    @Test func aRepositoryOfTheGlobalNamespaceHasNoNamespacePart() async throws {
        try await withAuthServer(configure: Self.deletes(true)) { fixture in
            let pushed = try await Self.image(fixture, "tools", tag: "1.0")
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            let page = try await admin.get("/r/tools")
            #expect(page.status == .ok)
            #expect(page.text.contains(#"<h1 class="page-head__title repo-title">tools</h1>"#))
            #expect(page.text.contains("/tools@\(pushed)</code>"))
            let tag = try await admin.get("/r/tools/-/tags/1.0")
            #expect(tag.status == .ok && tag.text.contains("tools:1.0"))
            let manifest = try await admin.get(PortalFormat.manifestURL(repository: "tools", digest: pushed))
            #expect(manifest.status == .ok && manifest.text.contains(pushed))
            #expect(tag.text.contains("Delete manifest"))
            // Signed-in users pull from the global namespace but delete nothing there; visitors see nothing.
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            #expect(try await alice.get("/r/tools").status == .ok)
            let aliceTag = try await alice.get("/r/tools/-/tags/1.0")
            #expect(aliceTag.status == .ok && !aliceTag.text.contains("Delete manifest"))
            #expect(try await alice.post("/r/tools/-/tags/1.0/delete").status == .forbidden)
            #expect(try await PortalBrowser(client: fixture.client).get("/r/tools").status == .notFound)
        }
    }

    @Test func aRepositoryWithFiveThousandTagsIsReadOnePageAtATime() async throws {
        // The rows below exist only in the catalogue: a sync pass would take them out again (storage has one tag).
        // So the start-up pass ends before they are written, and no other pass comes during the test.
        try await withAuthServer(configure: { $0.syncInterval = .seconds(3600) }, Self.pageThroughFiveThousandTags)
    }

    @Sendable static func pageThroughFiveThousandTags(_ fixture: AuthFixture) async throws {
        let sync = fixture.services.sync
        while await sync.completedPasses == 0, await sync.lastError == nil { try await Task.sleep(for: .milliseconds(20)) }
        _ = try await Self.image(fixture, "alice/many", tag: "real")
        // 5,000 more tags on 5,000 manifests, written straight into the catalogue (pushing them would be slow).
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        try await fixture.pool.write { transaction in
            let repository = try #require(try transaction.repositories.find(name: "alice/many"))
            for number in 0..<5000 {
                let record = TagRecord(
                    name: "t\(number)",
                    digest: String(format: "sha256:%064x", number),
                    mediaType: "application/vnd.oci.image.manifest.v1+json",
                    size: 1000,
                    pushedAt: start.addingTimeInterval(Double(number))
                )
                try transaction.tags.write(repositoryID: repository.id, record)
            }
        }
        let alice = PortalBrowser(client: fixture.client)
        try await alice.signIn("alice")
        var url = "/r/alice/many"
        var seen: [String] = []
        for _ in 0..<3 {
            let page = try await alice.get(url)
            #expect(page.status == .ok)
            let tags = page.text.matches(of: #/class="tag-chip" href="[^"]+">([^<]+)<\/a>/#).map { String($0.1) }
            #expect(tags.count == 25)
            seen += tags
            let next = try #require(page.text.range(of: #"/r/alice/many\?after=[^"]+"#, options: .regularExpression))
            url = String(page.text[next])
        }
        // Newest first, no tag twice: the real push, then t4999 down.
        #expect(seen.first == "real")
        #expect(seen.dropFirst().prefix(3) == ["t4999", "t4998", "t4997"])
        #expect(Set(seen).count == 75)
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
