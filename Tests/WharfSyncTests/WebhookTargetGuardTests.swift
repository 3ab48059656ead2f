import Testing
import WharfCore

@testable import WharfSync

@Suite struct WebhookTargetGuardTests {
    let loopback = WebhookTargetGuard(allowedNetworks: [IPAddressRange("127.0.0.0/8")!, IPAddressRange("::1")!])

    @Test func withoutAllowedNetworksAnyHostIsTargetedByName() async throws {
        let open = WebhookTargetGuard(allowedNetworks: [])
        #expect(open.allowedNetworks == nil)
        #expect(try await open.check("http://10.1.2.3:8080/x") == .init(url: "http://10.1.2.3:8080/x", hostHeader: nil))
    }

    @Test func addressesOutsideTheAllowedNetworksAreRefused() async throws {
        await #expect(throws: WebhookError.self) { _ = try await loopback.check("http://10.1.2.3/hook") }
        await #expect(throws: WebhookError.self) { _ = try await loopback.check("http://[fe80::1]/hook") }
        await #expect(throws: WebhookError.self) { _ = try await loopback.check("https://169.254.169.254/latest/meta-data") }
        do {
            _ = try await loopback.check("http://10.1.2.3/hook")
        } catch let error as WebhookError {
            #expect(error.code == .targetNotAllowed)
            #expect(error.message.contains("10.1.2.3") && error.message.contains("127.0.0.0/8"))
        }
    }

    @Test func aNameIsResolvedAndPlainHTTPConnectsToTheCheckedAddress() async throws {
        #expect(try await loopback.check("http://127.0.0.1:9000/a?b=c") == .init(url: "http://127.0.0.1:9000/a?b=c", hostHeader: nil))
        let target = try await loopback.check("http://localhost:9000/a?b=c")
        #expect(target.hostHeader == "localhost:9000")
        #expect(target.url == "http://127.0.0.1:9000/a?b=c" || target.url == "http://[::1]:9000/a?b=c")
        // HTTPS keeps the name: the certificate is checked against it.
        #expect(try await loopback.check("https://localhost/").hostHeader == nil)
        await #expect(throws: WebhookError.self) { _ = try await loopback.check("http://no-such-host.invalid/") }
    }

    @Test func onlyHTTPURLsWithAHostAndNoCredentials() async throws {
        for url in ["ftp://127.0.0.1/", "127.0.0.1:80", "http:///x", "http://user:pw@127.0.0.1/"] {
            await #expect(throws: WebhookError.self, "\(url)") { _ = try await loopback.check(url) }
        }
    }
}
