import Foundation
import Mustache

/// The portal's templates (package resources under `Portal/templates`), compiled once at start-up. Every
/// `{{value}}` is HTML-escaped by the template engine, quotes included; `{{{value}}}` is kept for HTML Wharf made
/// itself (rendered markdown).
struct PageRenderer: Sendable {
    let library: MustacheLibrary

    /// Loads every `.mustache` file under `directory`, named by its path without the extension
    /// (`partials/nav`). Fails with the file and the parser's complaint.
    init(directory: URL) throws {
        var library = MustacheLibrary()
        let root = directory.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw ConfigurationError("portal templates: cannot read \(root)")
        }
        var count = 0
        for case let relative as String in walker where relative.hasSuffix(".mustache") {
            let name = String(relative.dropLast(".mustache".count))
            let text: String
            do {
                text = try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
            } catch {
                throw ConfigurationError("portal templates: cannot read \(relative): \(error)")
            }
            do {
                try library.register(text, named: name)
            } catch {
                throw ConfigurationError("portal templates: \(relative) does not parse: \(error)")
            }
            count += 1
        }
        guard count > 0, library.getTemplate(named: "layout") != nil else {
            throw ConfigurationError("portal templates: no layout.mustache in \(root)")
        }
        self.library = library
    }

    /// The templates shipped in the package.
    static func shipped() throws -> PageRenderer {
        guard let url = Bundle.module.url(forResource: "templates", withExtension: nil) else {
            throw ConfigurationError("portal templates: the package resources have no templates folder")
        }
        return try PageRenderer(directory: url)
    }

    /// Renders `template` with `values`; nil when there is no such template (a bug: the template tests catch it).
    func render(_ template: String, _ values: [String: Any]) -> String? {
        library.render(values, withTemplate: template)
    }
}
