import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import WharfAuth
import WharfDatabase

@testable import WharfServer

/// A browser for in-process portal tests: keeps cookies like a browser does, and sends the CSRF token of the
/// last page it loaded with every form it posts (as the pages' forms do).
final class PortalBrowser: @unchecked Sendable {
    // Used by one test task at a time; the class only keeps state between its awaited calls.
    let client: any TestClientProtocol
    private(set) var cookies: [String: String] = [:]
    private(set) var csrf = ""

    init(client: any TestClientProtocol) { self.client = client }

    /// A GET; remembers the page's CSRF token (`<meta name="csrf-token">`).
    @discardableResult
    func get(_ path: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        let response = try await send(.get, path, headers: headers, body: nil)
        if let token = Self.csrfToken(in: String(buffer: response.body)) { csrf = token }
        return response
    }

    /// A form post; `_csrf` is added unless `csrf` is nil (then none is sent) or given.
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)] = [], csrf token: String?? = .some(nil)) async throws -> TestResponse {
        var all = fields
        switch token {
        case .some(.some(let explicit)): all.append(("_csrf", explicit))
        case .some(.none): all.append(("_csrf", csrf))
        case .none: break
        }
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(.post, path, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: body))
    }

    func send(_ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: ByteBuffer?) async throws -> TestResponse {
        var fields = headers
        if !cookies.isEmpty { fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        let response = try await client.execute(uri: path, method: method, headers: fields, body: body)
        for line in response.headers[values: .setCookie] {
            let pair = line.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
            guard pair.count == 2 || pair.count == 1 else { continue }
            let name = String(pair[0])
            let value = pair.count == 2 ? String(pair[1]) : ""
            if value.isEmpty || line.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return response
    }

    /// Signs in through the form; expects the redirect that follows a good password.
    func signIn(_ name: String, password: String? = nil) async throws {
        try await get("/signin")
        let response = try await post("/signin", [("name", name), ("password", password ?? "\(name)-password")])
        #expect(response.status == .seeOther, "sign-in of \(name) failed: \(String(buffer: response.body))")
        try await get("/")
    }

    func forget(_ cookie: String) { cookies[cookie] = nil }

    func set(cookie: String, _ value: String) { cookies[cookie] = value }

    static func csrfToken(in html: String) -> String? {
        guard let range = html.range(of: "<meta name=\"csrf-token\" content=\"") else { return nil }
        let rest = html[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
}

/// Runs `test` against a fresh application without any user (the first sign-up makes the administrator).
func withEmptyPortal(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ test: @Sendable (PortalBrowser, DatabasePool) async throws -> Void
)
    async throws
{
    let folder = temporaryDataFolder("wharf-portal")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var configuration = try testConfiguration(dataDirectory: folder)
    configure(&configuration)
    let assembled = try assembleApplication(configuration: configuration, logger: testLogger, passwords: PasswordHasher(cost: 4))
    let pool = assembled.services.database
    try await assembled.application.test(.router) { client in
        try await waitForFirstAttempt(pool)
        try await test(PortalBrowser(client: client), pool)
    }
}
