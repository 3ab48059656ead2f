import Foundation
import Testing
import WharfCore

@testable import WharfSync

@Suite struct EventBusTests {
    func event(_ repository: String, _ action: RegistryEvent.Action = .push) -> RegistryEvent {
        RegistryEvent(action: action, target: .init(repository: repository, tag: "v1"))
    }

    @Test func everySubscriberGetsEveryEventInOrder() async {
        let bus = EventBus()
        let first = bus.subscribe("first")
        let second = bus.subscribe("second")
        for name in ["a", "b", "c"] { bus.publish(event(name)) }
        bus.finish()
        var seen: [[String]] = []
        for stream in [first, second] {
            var names: [String] = []
            for await event in stream { names.append(event.target.repository) }
            seen.append(names)
        }
        #expect(seen == [["a", "b", "c"], ["a", "b", "c"]])
    }

    @Test func aConsumerBehindLosesTheNewestNeverBlocksThePublisher() async {
        let bus = EventBus()
        let slow = bus.subscribe("slow", buffer: 2)
        for name in ["a", "b", "c", "d"] { bus.publish(event(name)) }
        bus.finish()
        var names: [String] = []
        for await event in slow { names.append(event.target.repository) }
        #expect(names == ["a", "b"])
    }

    @Test func aConsumerThatStopsReadingIsUnsubscribed() async {
        let bus = EventBus()
        let kept = bus.subscribe("kept")
        let page = bus.subscribe("a live page")
        let reader = Task {
            var count = 0
            for await _ in page { count += 1 }
            return count
        }
        #expect(bus.subscriberCount == 2)
        bus.publish(event("a"))
        reader.cancel()
        _ = await reader.value
        #expect(bus.subscriberCount == 1)
        bus.publish(event("b"))
        bus.finish()
        var names: [String] = []
        for await event in kept { names.append(event.target.repository) }
        #expect(names == ["a", "b"])
    }

    @Test func theNamespaceIsTheFirstComponent() {
        #expect(event("team/app/web").namespace == "team")
        #expect(event("alpine").namespace == "")
    }

    @Test func cosignTagsNameTheirSubject() {
        let hex = String(repeating: "ab", count: 32)
        #expect(ImageInspector.cosignSubject(ofTag: "sha256-\(hex).sig") == "sha256:\(hex)")
        #expect(ImageInspector.cosignSubject(ofTag: "sha256-\(hex).att") == "sha256:\(hex)")
        #expect(ImageInspector.cosignSubject(ofTag: "sha256-\(hex).sbom") == "sha256:\(hex)")
        #expect(ImageInspector.cosignSubject(ofTag: "sha256-abc.sig") == nil)
        #expect(ImageInspector.cosignSubject(ofTag: "v1.sig") == nil)
        #expect(ImageInspector.cosignSubject(ofTag: "latest") == nil)
    }
}

@Suite struct RFC3339Tests {
    @Test func readsTheTimesImageConfigsCarry() {
        let reference = ISO8601DateFormatter().date(from: "2024-01-02T03:04:05Z")!
        #expect(RFC3339.parse("2024-01-02T03:04:05Z") == reference)
        #expect(RFC3339.parse("2024-01-02T05:04:05+02:00") == reference)
        #expect(RFC3339.parse("2024-01-01T22:04:05-05:00") == reference)
        #expect(RFC3339.parse("2024-01-02T03:04:05.5Z")?.timeIntervalSince(reference) == 0.5)
        #expect(RFC3339.parse("1969-12-31T23:59:59Z")?.timeIntervalSince1970 == -1)
        #expect(RFC3339.parse("2000-02-29T00:00:00Z") == ISO8601DateFormatter().date(from: "2000-02-29T00:00:00Z"))
        for bad in [
            "", "2024-01-02", "2024-01-02T03:04:05", "2024-13-02T03:04:05Z", "2024-01-02T03:04:05.Z", "2024-01-02T03:04:05Zjunk",
            "x024-01-02T03:04:05Z",
        ] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }
}
