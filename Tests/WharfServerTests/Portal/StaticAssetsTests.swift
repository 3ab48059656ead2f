import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import WharfServer

@Suite struct StaticAssetsTests {
    /// The application serving the real resource folder.
    func withApplication(_ test: @Sendable (StaticAssets, any TestClientProtocol) async throws -> Void) async throws {
        let assets = try StaticAssets.load()
        let router = Router()
        StaticController<BasicRequestContext>(assets: assets).addRoutes(to: router)
        let app = Application(router: router)
        try await app.test(.router) { client in try await test(assets, client) }
    }

    func name(of url: String) -> String {
        String(url.dropFirst(StaticAssets.prefix.count))
    }

    /// Writes a folder shaped like `Portal/static` under a fresh temporary directory.
    func makeFolder(_ files: [String: String]) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-static-\(UUID().uuidString)")
        for (path, content) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content.utf8).write(to: url)
        }
        return folder
    }

    @Test func namesCarryTheContentHash() throws {
        let folder = try makeFolder(["css/a.css": "a{}", "js/a.js": "a()\n", "favicon.svg": "<svg/>"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let assets = try StaticAssets(folder: folder)
        // `printf '/* css/a.css */\na{}\n' | sha256sum` and likewise.
        #expect(assets.css == "/static/wharf.3a1bbecac954.css")
        #expect(assets.js == "/static/wharf.812ae3aeeade.js")
        #expect(assets.favicon == "/static/favicon.d4dc56669143.svg")
        #expect(assets.file(named: "wharf.3a1bbecac954.css")?.etag == "\"3a1bbecac954\"")
    }

    @Test func realFolderLoads() throws {
        let assets = try StaticAssets.load()
        for url in [assets.css, assets.js] + Array(assets.urls.values) {
            #expect(url.hasPrefix("/static/"))
            let file = try #require(assets.file(named: name(of: url)))
            #expect(file.name.contains(".\(file.hash)"), "\(file.name)")
            #expect(file.hash.count == 12 && file.hash.allSatisfy(\.isHexDigit))
        }
        #expect(assets.css.hasPrefix("/static/wharf.") && assets.css.hasSuffix(".css"))
        #expect(assets.js.hasPrefix("/static/wharf.") && assets.js.hasSuffix(".js"))
        if let favicon = assets.favicon {
            #expect(favicon.hasPrefix("/static/favicon.") && favicon.hasSuffix(".svg"))
        }
    }

    @Test func concatenatesInNameOrder() throws {
        let folder = try makeFolder([
            "css/10-b.css": "b{}",
            "css/00-a.css": "a{}\n",
            "css/notes.txt": "not css",
            "js/20-y.js": "y()",
            "js/05-x.js": "x()",
            "favicon.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            "img/logo.png": "png",
            ".hidden": "no",
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        let assets = try StaticAssets(folder: folder)
        let css = String(buffer: try #require(assets.file(named: name(of: assets.css))).body)
        #expect(css == "/* css/00-a.css */\na{}\n/* css/10-b.css */\nb{}\n")
        let js = String(buffer: try #require(assets.file(named: name(of: assets.js))).body)
        #expect(js == "/* js/05-x.js */\nx()\n;\n/* js/20-y.js */\ny()\n")
        #expect(assets.favicon?.hasPrefix("/static/favicon.") == true)
        #expect(assets.urls["img/logo.png"]?.hasSuffix(".png") == true)
        #expect(assets.files.count == 4)
        #expect(assets.file(named: name(of: try #require(assets.urls["img/logo.png"])))?.contentType == "image/png")
    }

    @Test func changedContentChangesTheName() throws {
        let first = try makeFolder(["css/a.css": "a{}", "js/a.js": "a()"])
        let second = try makeFolder(["css/a.css": "a{color:red}", "js/a.js": "a()"])
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        let one = try StaticAssets(folder: first)
        let two = try StaticAssets(folder: second)
        #expect(one.css != two.css)
        #expect(one.js == two.js)
    }

    @Test func missingFolderIsAnError() throws {
        let folder = try makeFolder(["css/a.css": "a{}"])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect {
            try StaticAssets(folder: folder)
        } throws: { error in
            guard let error = error as? StaticAssetsError else { return false }
            return error.code == .missing && !error.description.contains("\n") && error.description.contains("js")
        }
        let nowhere = folder.appendingPathComponent("nowhere")
        #expect(throws: StaticAssetsError.self) { try StaticAssets(folder: nowhere) }
    }

    @Test func gzipOnlyWhenItPays() throws {
        let folder = try makeFolder([
            "css/a.css": String(repeating: "body { color: black; }\n", count: 200),
            "js/a.js": "x()",
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        let assets = try StaticAssets(folder: folder)
        let css = try #require(assets.file(named: name(of: assets.css)))
        let gzipped = try #require(css.gzipped)
        #expect(gzipped.readableBytes < css.body.readableBytes / 2)
        #expect(gzipped.getBytes(at: gzipped.readerIndex, length: 2) == [0x1f, 0x8b])
        #expect(try #require(assets.file(named: name(of: assets.js))).gzipped == nil)
    }

    @Test func servesWithCacheHeaders() async throws {
        try await withApplication { assets, client in
            for (url, type) in [(assets.css, "text/css; charset=utf-8"), (assets.js, "text/javascript; charset=utf-8")] {
                let file = try #require(assets.file(named: name(of: url)))
                try await client.execute(uri: url, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == type)
                    #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                    #expect(response.headers[.eTag] == "\"\(file.hash)\"")
                    #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                    #expect(response.headers[.contentEncoding] == nil)
                    #expect(response.body == file.body)
                }
                try await client.execute(uri: url, method: .head) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentLength] == String(file.body.readableBytes))
                    #expect(response.body.readableBytes == 0)
                    #expect(response.headers[.eTag] == "\"\(file.hash)\"")
                }
            }
            if let favicon = assets.favicon {
                try await client.execute(uri: favicon, method: .get) { response in
                    #expect(response.headers[.contentType] == "image/svg+xml")
                }
            }
        }
    }

    @Test func answersNotModified() async throws {
        try await withApplication { assets, client in
            let file = try #require(assets.file(named: name(of: assets.css)))
            for tags in [file.etag, "\"other\", \(file.etag)", "W/\(file.etag)", "*"] {
                try await client.execute(uri: assets.css, method: .get, headers: [.ifNoneMatch: tags]) { response in
                    #expect(response.status == .notModified, "\(tags)")
                    #expect(response.body.readableBytes == 0)
                    #expect(response.headers[.cacheControl] == StaticController<BasicRequestContext>.cacheControl)
                }
            }
            try await client.execute(uri: assets.css, method: .get, headers: [.ifNoneMatch: "\"0000\""]) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func negotiatesGzip() async throws {
        let folder = try makeFolder(["css/a.css": String(repeating: "main { margin: 0 auto; }\n", count: 200), "js/a.js": "x()"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let assets = try StaticAssets(folder: folder)
        let router = Router()
        StaticController<BasicRequestContext>(assets: assets).addRoutes(to: router)
        let file = try #require(assets.file(named: name(of: assets.css)))
        let gzipped = try #require(file.gzipped)
        try await Application(router: router).test(.router) { client in
            for accept in ["gzip", "deflate, gzip;q=0.5", "br, *", "GZIP;q=1.0"] {
                try await client.execute(uri: assets.css, method: .get, headers: [.acceptEncoding: accept]) { response in
                    #expect(response.headers[.contentEncoding] == "gzip", "\(accept)")
                    #expect(response.headers[.vary] == "Accept-Encoding")
                    #expect(response.headers[.eTag] == file.gzipETag)
                    #expect(response.body == gzipped)
                }
            }
            for accept in ["gzip;q=0", "identity", "br", "*;q=0", "gzip;q=0, *", ""] {
                try await client.execute(uri: assets.css, method: .get, headers: [.acceptEncoding: accept]) { response in
                    #expect(response.headers[.contentEncoding] == nil, "\(accept)")
                    #expect(response.headers[.vary] == "Accept-Encoding")
                    #expect(response.body == file.body)
                }
            }
            try await client.execute(uri: assets.css, method: .get, headers: [.ifNoneMatch: file.gzipETag, .acceptEncoding: "gzip"]) {
                #expect($0.status == .notModified)
            }
        }
    }

    @Test func unknownNamesAreNotFound() async throws {
        try await withApplication { assets, client in
            let cssName = name(of: assets.css)
            for uri in [
                "/static/nothing.css", "/static/..", "/static/../Package.swift", "/static/css/00-base.css", "/static/x/\(cssName)",
                "/static/%2E%2E%2F\(cssName)", "/static/00-base.css", "/static/",
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound, "\(uri)")
                }
            }
            #expect(assets.file(named: "../\(cssName)") == nil)
        }
    }
}
