import Foundation
import Testing

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
