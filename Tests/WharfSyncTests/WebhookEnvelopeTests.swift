import Foundation
import Testing

@testable import WharfSync

@Suite struct WebhookEnvelopeTests {
    static let source = WebhookEnvelope.Source(addr: "registry.example.com:5000", instanceID: "instance-1")

    func object(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    @Test func aPushIsDistributionsEnvelopeFieldForField() throws {
        let event = RegistryEvent(
            id: "event-1",
            timestamp: Date(timeIntervalSince1970: 1_700_000_000.25),
            action: .push,
            target: .init(
                repository: "team/app",
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                digest: "sha256:abc",
                size: 528,
                tag: "v1",
                url: "https://registry.example.com/v2/team/app/manifests/sha256:abc",
                references: ["sha256:config", "sha256:layer"]
            ),
            request: .init(id: "request-1", addr: "10.0.0.7:51234", host: "registry.example.com", method: "PUT", userAgent: "skopeo/1.13"),
            actor: .init(name: "alice", userID: 7)
        )
        let envelope = try object(WebhookEnvelope(event, source: Self.source).body())
        #expect(Array(envelope.keys) == ["events"])
        let events = try #require(envelope["events"] as? [[String: Any]])
        try #require(events.count == 1)
        let sent = events[0]
        #expect(Set(sent.keys) == ["id", "timestamp", "action", "target", "request", "actor", "source"])
        #expect(sent["id"] as? String == "event-1")
        #expect(sent["timestamp"] as? String == "2023-11-14T22:13:20.250Z")
        #expect(sent["action"] as? String == "push")
        let target = try #require(sent["target"] as? [String: Any])
        #expect(
            Set(target.keys) == ["mediaType", "size", "digest", "length", "repository", "url", "tag", "references"],
            "fromRepository is left out when empty, as distribution's omitempty does"
        )
        #expect(target["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
        #expect(target["size"] as? Int == 528 && target["length"] as? Int == 528)
        #expect(target["digest"] as? String == "sha256:abc" && target["repository"] as? String == "team/app" && target["tag"] as? String == "v1")
        #expect(target["url"] as? String == "https://registry.example.com/v2/team/app/manifests/sha256:abc")
        #expect((target["references"] as? [[String: String]]) == [["digest": "sha256:config"], ["digest": "sha256:layer"]])
        let request = try #require(sent["request"] as? [String: String])
        #expect(
            request == ["id": "request-1", "addr": "10.0.0.7:51234", "host": "registry.example.com", "method": "PUT", "useragent": "skopeo/1.13"]
        )
        #expect((sent["actor"] as? [String: String]) == ["name": "alice"])
        #expect((sent["source"] as? [String: String]) == ["addr": "registry.example.com:5000", "instanceID": "instance-1"])
        #expect(WebhookEnvelope.mediaType == "application/vnd.docker.distribution.events.v1+json")
    }

    @Test func emptyFieldsAreLeftOutButTheRequestKeepsItsRequiredOnes() throws {
        let event = RegistryEvent(action: .delete, target: .init(repository: "alpine", tag: "old"), request: .init(id: "r"))
        let sent = try #require((try object(WebhookEnvelope(event, source: Self.source).body())["events"] as? [[String: Any]])?.first)
        #expect((sent["target"] as? [String: String]) == ["repository": "alpine", "tag": "old"])
        #expect((sent["request"] as? [String: String]) == ["id": "r", "method": "", "useragent": ""])
        #expect((sent["actor"] as? [String: String]) == [:])
    }

    @Test func aMountNamesItsSourceRepository() throws {
        let event = RegistryEvent(action: .mount, target: .init(repository: "b/app", digest: "sha256:x", size: 3, fromRepository: "a/app"))
        let sent = try #require((try object(WebhookEnvelope(event, source: Self.source).body())["events"] as? [[String: Any]])?.first)
        #expect((sent["target"] as? [String: Any])?["fromRepository"] as? String == "a/app")
    }

    @Test func aPingHasNoTarget() throws {
        let sent = try #require(
            (try object(WebhookEnvelope.ping(actor: "cli", source: Self.source).body())["events"] as? [[String: Any]])?.first
        )
        #expect(sent["action"] as? String == "ping")
        #expect((sent["target"] as? [String: Any])?.isEmpty == true)
        #expect((sent["actor"] as? [String: String]) == ["name": "cli"])
    }

    @Test func theSignatureIsTheHexHMACOfTheBody() {
        // RFC 4231, test case 2.
        #expect(
            WebhookSignature.sign(body: "what do ya want for nothing?", secret: "Jefe")
                == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
        let secret = WebhookSignature.generateSecret()
        #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit) && secret != WebhookSignature.generateSecret())
    }

    @Test func retriesDoubleFromOneSecondUpToAnHourAndStopAfterTenTries() {
        let policy = WebhookRetryPolicy()
        #expect((1...9).map { policy.delay(afterAttempt: $0) } == [1, 2, 4, 8, 16, 32, 64, 128, 256].map { Duration.seconds($0) })
        #expect(policy.delay(afterAttempt: 10) == nil)
        let long = WebhookRetryPolicy(maximumAttempts: 20)
        #expect(long.delay(afterAttempt: 12) == .seconds(2048))
        #expect(long.delay(afterAttempt: 13) == .seconds(3600))
        #expect(long.delay(afterAttempt: 19) == .seconds(3600))
    }

    @Test func theEventFilterKnowsPushDeleteAndPull() throws {
        #expect(try WebhookEventFilter("").matches(.pull))
        #expect(try WebhookEventFilter("").matches(.mount) == false)
        let filter = try WebhookEventFilter(" Delete, push ")
        #expect(filter.matches(.push) && filter.matches(.delete) && !filter.matches(.pull))
        #expect(filter.description == "push,delete")
        #expect(try WebhookEventFilter("pull,push,delete").description == "")
        #expect(throws: WebhookError.self) { try WebhookEventFilter("push,mount") }
    }

    @Test func customHeadersAreCheckedAndStoredAsJSON() throws {
        let json = try WebhookHeaders.encode(["X-Token: a b", "X-Other:1"])
        #expect(json == #"{"X-Other":"1","X-Token":"a b"}"#)
        #expect(WebhookHeaders.decode(json).map(\.name) == ["X-Other", "X-Token"])
        #expect(throws: WebhookError.self) { try WebhookHeaders.encode(["X-Wharf-Signature: forged"]) }
        #expect(throws: WebhookError.self) { try WebhookHeaders.encode(["Bad Name: x"]) }
        #expect(throws: WebhookError.self) { try WebhookHeaders.encode(["no colon"]) }
    }
}
