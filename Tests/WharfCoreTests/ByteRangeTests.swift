import Testing
import WharfCore

@Suite("ByteRange")
struct ByteRangeTests {
    struct ContentRangeCase: Sendable, CustomTestStringConvertible {
        let header: String
        let expected: ClosedRange<Int64>?
        var testDescription: String { "\"\(header)\"" }
    }

    @Test(arguments: [
        ContentRangeCase(header: "0-99", expected: 0...99),
        ContentRangeCase(header: "0-0", expected: 0...0),
        ContentRangeCase(header: "100-199", expected: 100...199),
        ContentRangeCase(header: "bytes 0-99/100", expected: 0...99),
        ContentRangeCase(header: "bytes 100-199/*", expected: 100...199),
        ContentRangeCase(header: "bytes=5-9", expected: 5...9),
        ContentRangeCase(header: "  10-20  ", expected: 10...20),
        ContentRangeCase(header: "123456789012345678-123456789012345678", expected: 123_456_789_012_345_678...123_456_789_012_345_678),
        // malformed
        ContentRangeCase(header: "", expected: nil),
        ContentRangeCase(header: "abc", expected: nil),
        ContentRangeCase(header: "5", expected: nil),
        ContentRangeCase(header: "-5", expected: nil),
        ContentRangeCase(header: "5-", expected: nil),
        ContentRangeCase(header: "9-5", expected: nil),
        ContentRangeCase(header: "1-2-3", expected: nil),
        ContentRangeCase(header: "+1-2", expected: nil),
        ContentRangeCase(header: "0x1-2", expected: nil),
        ContentRangeCase(header: "1 - 2", expected: nil),
        ContentRangeCase(header: "bytes */100", expected: nil),
        ContentRangeCase(header: "items 0-1", expected: nil),
        ContentRangeCase(header: "0-99999999999999999999", expected: nil),
        ContentRangeCase(header: "٠-٩", expected: nil),
    ])
    func parseContentRange(_ testCase: ContentRangeCase) {
        #expect(ByteRange.parseContentRange(testCase.header) == testCase.expected)
    }

    struct RangeCase: Sendable, CustomTestStringConvertible {
        let header: String
        let size: Int64
        let expected: ClosedRange<Int64>?
        var testDescription: String { "\"\(header)\" of \(size)" }
    }

    @Test(arguments: [
        RangeCase(header: "bytes=0-99", size: 1000, expected: 0...99),
        RangeCase(header: "bytes=0-0", size: 1, expected: 0...0),
        RangeCase(header: "bytes=999-999", size: 1000, expected: 999...999),
        RangeCase(header: " bytes=10-19 ", size: 1000, expected: 10...19),
        // an end beyond the size is clamped
        RangeCase(header: "bytes=900-5000", size: 1000, expected: 900...999),
        // open-ended
        RangeCase(header: "bytes=500-", size: 1000, expected: 500...999),
        RangeCase(header: "bytes=0-", size: 1000, expected: 0...999),
        RangeCase(header: "bytes=999-", size: 1000, expected: 999...999),
        // suffix ranges
        RangeCase(header: "bytes=-100", size: 1000, expected: 900...999),
        RangeCase(header: "bytes=-1", size: 1000, expected: 999...999),
        RangeCase(header: "bytes=-1000", size: 1000, expected: 0...999),
        RangeCase(header: "bytes=-5000", size: 1000, expected: 0...999),
        // malformed or not a single byte range: served whole
        RangeCase(header: "", size: 1000, expected: nil),
        RangeCase(header: "0-99", size: 1000, expected: nil),
        RangeCase(header: "items=0-99", size: 1000, expected: nil),
        RangeCase(header: "bytes 0-99", size: 1000, expected: nil),
        RangeCase(header: "bytes=", size: 1000, expected: nil),
        RangeCase(header: "bytes=-", size: 1000, expected: nil),
        RangeCase(header: "bytes=abc", size: 1000, expected: nil),
        RangeCase(header: "bytes=a-b", size: 1000, expected: nil),
        RangeCase(header: "bytes=5-3", size: 1000, expected: nil),
        RangeCase(header: "bytes=0-1,5-6", size: 1000, expected: nil),
        RangeCase(header: "bytes=1-2-3", size: 1000, expected: nil),
        RangeCase(header: "bytes=-x", size: 1000, expected: nil),
        RangeCase(header: "bytes=+1-2", size: 1000, expected: nil),
    ])
    func parseRangeHeader(_ testCase: RangeCase) throws {
        #expect(try ByteRange.parseRangeHeader(testCase.header, size: testCase.size) == testCase.expected)
    }

    @Test(arguments: [
        ("bytes=1000-", Int64(1000)),
        ("bytes=1000-1000", 1000),
        ("bytes=5000-6000", 1000),
        ("bytes=0-", 0),
        ("bytes=0-10", 0),
        ("bytes=-10", 0),
        ("bytes=-0", 1000),
        ("bytes=1-", 1),
    ])
    func unsatisfiableRangeThrows(header: String, size: Int64) {
        let error = expectContentError(.rangeInvalid) { _ = try ByteRange.parseRangeHeader(header, size: size) }
        #expect(error?.contentSize == size)
    }
}
