import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfAuth
import WharfCore
import WharfDatabase

@testable import WharfServer

/// The activity page and its CSV export, and the getting-started page, through the application `wharf serve` builds.
@Suite struct ActivityPageTests {
    /// alice and bob each make a token; the admin makes a team.
    func arrange(_ fixture: AuthFixture) async throws {
        for (name, address) in [("alice", "192.0.2.7"), ("bob", "192.0.2.8")] {
            let user = try #require(try await fixture.pool.read { try $0.users.find(name: name) })
            _ = try await fixture.accounts.createToken(
                user: name,
                label: "\(name)-ci",
                actor: ActivityActor(id: user.id, name: name, address: address)
            )
        }
    }

    @Test func peopleSeeWhatTheyDidAdministratorsSeeEverything() async throws {
        try await withAuthServer { fixture in
            try await arrange(fixture)
            let alice = PortalBrowser(client: fixture.client)
            try await alice.signIn("alice")
            let own = try await alice.get("/activity")
            #expect(own.status == .ok)
            #expect(own.text.contains("alice-ci"))
            #expect(!own.text.contains("bob-ci"))
            let others = try await alice.get("/activity?user=bob")
            #expect(others.status == .forbidden)
            #expect(others.text.contains("only administrators read what other users did"))
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            let all = try await admin.get("/activity")
            #expect(all.text.contains("alice-ci") && all.text.contains("bob-ci"))
            let onlyBob = try await admin.get("/activity?user=bob&type=token.")
            #expect(onlyBob.text.contains("bob-ci") && !onlyBob.text.contains("alice-ci"))
            #expect(onlyBob.text.contains("192.0.2.8"))
            let badDate = try await admin.get("/activity?since=yesterday")
            #expect(badDate.status == .badRequest)
        }
    }

    @Test func theCSVExportHasTheFilteredRows() async throws {
        try await withAuthServer { fixture in
            try await arrange(fixture)
            let admin = PortalBrowser(client: fixture.client)
            try await admin.signIn("admin")
            let csv = try await admin.get("/activity.csv?user=alice")
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"wharf-activity-") == true)
            let lines = csv.text.split(separator: "\r\n")
            #expect(lines.first == Substring(ActivityLine.csvHeader.joined(separator: ",")))
            #expect(lines.count == 2)
            #expect(lines.last?.contains("alice-ci") == true)
            // Visitors are sent to sign in.
            let visitor = try await PortalBrowser(client: fixture.client).get("/activity.csv")
            #expect(visitor.status == .seeOther)
            #expect(visitor.headers[.location]?.hasPrefix("/signin?next=") == true)
        }
    }

    @Test func gettingStartedNamesThisHostAndTheCertificatesFingerprint() async throws {
        try await withAuthServer { fixture in
            let browser = PortalBrowser(client: fixture.client)
            // In-process requests have no authority: the host reads as localhost.
            let page = try await browser.get("/getting-started")
            #expect(page.status == .ok)
            #expect(page.text.contains("docker login localhost -u YOUR-NAME"))
            #expect(page.text.contains("/etc/docker/certs.d/localhost/ca.crt"))
            let info = try CertificateBootstrap.inspect(certsDirectory: fixture.services.configuration.certsDirectory)
            #expect(page.text.contains(info.sha256Fingerprint))
            let certificate = try await browser.get("/ca.crt")
            #expect(certificate.status == .ok)
            #expect(certificate.text.hasPrefix("-----BEGIN CERTIFICATE-----"))
            #expect(certificate.headers[.contentDisposition] == "attachment; filename=\"ca.crt\"")
        }
    }
}
