import Testing
import WharfCore

@Suite struct IPAddressRangeTests {
    @Test func rangesContainTheirAddresses() throws {
        let eight = try #require(IPAddressRange("10.0.0.0/8"))
        #expect(eight.contains("10.255.0.1") && !eight.contains("11.0.0.1"))
        #expect(eight.contains("::ffff:10.1.2.3"), "an IPv4-mapped IPv6 peer matches the IPv4 range")
        let one = try #require(IPAddressRange("::1"))
        #expect(one.contains("::1") && !one.contains("::2") && !one.contains("127.0.0.1"))
        #expect(try #require(IPAddressRange("192.168.1.77/26")).description == "192.168.1.64/26")
        #expect(!eight.contains("not an address"))
    }

    @Test func malformedRangesAreRefused() {
        for text in ["10.0.0.0/33", "::1/129", "10.0.0", "x/8", ""] { #expect(IPAddressRange(text) == nil, "\(text)") }
        #expect(IPAddressRange.parseList(" 127.0.0.1/8, ::1 ,") == .success([IPAddressRange("127.0.0.1/8")!, IPAddressRange("::1")!]))
        guard case .failure(let failure) = IPAddressRange.parseList("127.0.0.1, nope") else {
            Issue.record("a list with a bad item parsed")
            return
        }
        #expect(failure.item == "nope")
        #expect(IPAddressRange.parseAddress("::1")?.count == 16 && IPAddressRange.parseAddress("1.2.3.4") == [1, 2, 3, 4])
    }
}
