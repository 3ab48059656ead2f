import CompressNIO
import Crypto
import Foundation
import NIOCore

/// The portal's static files, loaded once at start-up from the package resource `Portal/static`.
///
/// `css/*.css` become one stylesheet and `js/*.js` one script (in name order, so `00-base.css` comes first and
/// each part adds a numbered file); every other file is served by itself. Every name carries the first 12 hex
/// digits of the content's SHA-256 (`wharf.<hash>.css`, `favicon.<hash>.svg`), so a deploy changes the URL and
/// the files can be cached for a year as immutable. Everything stays in memory: the whole folder is a few KiB.
struct StaticAssets: Sendable {
    /// The URL prefix the files are served under.
    static let prefix = "/static/"

    /// The served files by hashed name.
    let files: [String: StaticFile]
    /// The stylesheet's URL, e.g. `/static/wharf.0123456789ab.css`.
    let css: String
    /// The script's URL, e.g. `/static/wharf.0123456789ab.js`.
    let js: String
    /// The URLs of the other files by their path under `static/` (e.g. `favicon.svg`, `img/logo.svg`).
    let urls: [String: String]

    /// The favicon's URL (`favicon.svg`), or nil while the folder has none.
    var favicon: String? { urls["favicon.svg"] }

    /// Loads the files from the package's resource bundle.
    static func load() throws(StaticAssetsError) -> StaticAssets {
        guard let folder = Bundle.module.url(forResource: "static", withExtension: nil) else {
            throw StaticAssetsError(.missing, "the resource folder 'static' is not in the package bundle")
        }
        return try StaticAssets(folder: folder)
    }

    /// Loads the files under `folder` (the layout of `Portal/static`).
    init(folder: URL) throws(StaticAssetsError) {
        var files: [String: StaticFile] = [:]
        func add(_ data: Data, name: String, extension ext: String) throws(StaticAssetsError) -> String {
            let file = try Self.makeFile(data, stem: name, extension: ext)
            guard files[file.name] == nil else {
                throw StaticAssetsError(.duplicateName, "two files are served as \(file.name)")
            }
            files[file.name] = file
            return Self.prefix + file.name
        }

        let css = try Self.concatenate(folder: folder, subfolder: "css", extension: "css")
        let js = try Self.concatenate(folder: folder, subfolder: "js", extension: "js", separator: ";\n")
        self.css = try add(css, name: "wharf", extension: "css")
        self.js = try add(js, name: "wharf", extension: "js")

        var urls: [String: String] = [:]
        for path in try Self.otherFiles(in: folder) {
            let url = folder.appendingPathComponent(path)
            let data: Data
            do { data = try Data(contentsOf: url) } catch { throw StaticAssetsError(.unreadable, "cannot read \(path): \(error)") }
            let fileName = url.lastPathComponent
            let ext = url.pathExtension
            let stem = ext.isEmpty ? fileName : String(fileName.dropLast(ext.count + 1))
            urls[path] = try add(data, name: stem, extension: ext)
        }
        self.urls = urls
        self.files = files
    }

    /// The file served as `name`, or nil (also for any name with `/` or `..`, which no file has).
    func file(named name: String) -> StaticFile? {
        files[name]
    }

    /// The `.ext` files of `folder/subfolder` in name order, each ending with a line break and headed by a comment
    /// naming it; `separator` goes between files (`;` keeps a script that ends without one from running into the
    /// next one's first line).
    static func concatenate(
        folder: URL,
        subfolder: String,
        extension ext: String,
        separator: String = ""
    ) throws(StaticAssetsError) -> Data {
        let directory = folder.appendingPathComponent(subfolder, isDirectory: true)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".\(ext)") && !$0.hasPrefix(".") }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } catch {
            throw StaticAssetsError(.missing, "cannot list static/\(subfolder): \(error)")
        }
        guard !names.isEmpty else { throw StaticAssetsError(.missing, "no .\(ext) file in static/\(subfolder)") }
        var result = Data()
        for (position, name) in names.enumerated() {
            let data: Data
            do {
                data = try Data(contentsOf: directory.appendingPathComponent(name))
            } catch {
                throw StaticAssetsError(.unreadable, "cannot read static/\(subfolder)/\(name): \(error)")
            }
            if position > 0 { result.append(contentsOf: separator.utf8) }
            result.append(contentsOf: "/* \(subfolder)/\(name) */\n".utf8)
            result.append(data)
            if data.last != UInt8(ascii: "\n") { result.append(UInt8(ascii: "\n")) }
        }
        return result
    }

    /// Paths under `folder` of the files outside `css/` and `js/`, skipping hidden ones.
    static func otherFiles(in folder: URL) throws(StaticAssetsError) -> [String] {
        guard let paths = FileManager.default.subpaths(atPath: folder.path) else {
            throw StaticAssetsError(.missing, "cannot list \(folder.path)")
        }
        return paths.filter { path in
            let components = path.split(separator: "/")
            guard let first = components.first, first != "css", first != "js" else { return false }
            guard !components.contains(where: { $0.hasPrefix(".") }) else { return false }
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path, isDirectory: &isDirectory)
            return exists && !isDirectory.boolValue
        }.sorted()
    }

    /// A gzip copy is kept when it saves at least this share of the bytes and ``minimumGzipSaving`` bytes: below
    /// that, a client pays the decompression for next to nothing (PNG and WOFF2 never get there).
    static let minimumGzipRatio = 0.1
    static let minimumGzipSaving = 128

    static func makeFile(_ data: Data, stem: String, extension ext: String) throws(StaticAssetsError) -> StaticFile {
        let hash = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined().prefix(12)
        let name = ext.isEmpty ? "\(stem).\(hash)" : "\(stem).\(hash).\(ext)"
        let body = ByteBuffer(bytes: data)
        var gzipped: ByteBuffer?
        do {
            var input = body
            let compressed = try input.compress(with: .gzip())
            let saving = body.readableBytes - compressed.readableBytes
            if saving >= minimumGzipSaving, Double(saving) >= Double(body.readableBytes) * minimumGzipRatio {
                gzipped = compressed
            }
        } catch {
            throw StaticAssetsError(.compression, "cannot gzip \(name): \(error)")
        }
        return StaticFile(name: name, contentType: contentType(extension: ext), body: body, gzipped: gzipped, hash: String(hash))
    }

    /// The `Content-Type` for a file extension; unknown ones are `application/octet-stream` (with `nosniff`, a
    /// browser will not guess).
    static func contentType(extension ext: String) -> String {
        switch ext.lowercased() {
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "webp": "image/webp"
        case "ico": "image/x-icon"
        case "woff2": "font/woff2"
        case "woff": "font/woff"
        case "json", "map": "application/json"
        case "webmanifest": "application/manifest+json"
        case "txt": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}
