import Testing
import WharfCore

@Suite("OCIDigest")
struct OCIDigestTests {
    static let sha256Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let sha512Hex =
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

    @Test func parsesSHA256() throws {
        let digest = try OCIDigest(parsing: "sha256:\(Self.sha256Hex)")
        #expect(digest.algorithm == .sha256)
        #expect(digest.hex == Self.sha256Hex)
        #expect(digest.description == "sha256:\(Self.sha256Hex)")
    }

    @Test func parsesSHA512() throws {
        let digest = try OCIDigest(parsing: "sha512:\(Self.sha512Hex)")
        #expect(digest.algorithm == .sha512)
        #expect(digest.hex == Self.sha512Hex)
        #expect(digest.description == "sha512:\(Self.sha512Hex)")
    }

    @Test func parsesSubstring() throws {
        let text = "/v2/x/blobs/sha256:\(Self.sha256Hex)"
        let slice = text.dropFirst("/v2/x/blobs/".count)
        #expect(try OCIDigest(parsing: slice).hex == Self.sha256Hex)
    }

    static let invalid: [String] = {
        let sha256Hex = OCIDigestTests.sha256Hex
        let sha512Hex = OCIDigestTests.sha512Hex
        var list: [String] = []
        // uppercase hex
        list.append("sha256:" + sha256Hex.uppercased())
        list.append("sha256:E" + String(sha256Hex.dropFirst()))
        list.append("sha512:" + sha512Hex.uppercased())
        // wrong length
        list.append("sha256:" + String(sha256Hex.dropLast()))
        list.append("sha256:" + sha256Hex + "0")
        list.append("sha256:" + sha512Hex)
        list.append("sha512:" + sha256Hex)
        list.append("sha512:" + String(sha512Hex.dropLast()))
        list.append("sha256:a")
        // not hex
        list.append("sha256:" + String(sha256Hex.dropLast()) + "g")
        list.append("sha256:" + String(sha256Hex.dropLast()) + "é")
        // unknown or unsupported algorithm
        list.append("md5:d41d8cd98f00b204e9800998ecf8427e")
        list.append("sha384:" + String(repeating: "a", count: 96))
        list.append("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709")
        list.append("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564")
        // bad grammar
        list.append("SHA256:" + sha256Hex)
        list.append("sha256" + sha256Hex)
        list.append("sha256")
        list.append(":" + sha256Hex)
        list.append("sha256:")
        list.append(":")
        list.append("-sha256:" + sha256Hex)
        list.append("sha256-:" + sha256Hex)
        list.append("sha256 :" + sha256Hex)
        list.append(" sha256:" + sha256Hex)
        list.append("sha256:" + sha256Hex + " ")
        list.append("sha256:" + sha256Hex + "\n")
        list.append("sha256: " + sha256Hex)
        list.append("sha256:" + sha256Hex + ":x")
        list.append("sha256::" + sha256Hex)
        list.append("sha256:\0" + String(sha256Hex.dropFirst()))
        // empty
        list.append("")
        // very long
        list.append("sha256:" + String(repeating: "a", count: 100_000))
        list.append(String(repeating: "a", count: 100_000) + ":" + sha256Hex)
        list.append("sha256:" + String(repeating: "a", count: 1025))
        return list
    }()

    @Test(arguments: OCIDigestTests.invalid)
    func rejectsInvalid(_ text: String) {
        expectContentError(.digestInvalid) { _ = try OCIDigest(parsing: text) }
    }

    @Test func errorIsDigestInvalid400() {
        expectContentError(.digestInvalid) { _ = try OCIDigest(parsing: "sha256:nothex") }
    }

    @Test func longInputIsShortenedInDetail() {
        let error = expectContentError(.digestInvalid) { _ = try OCIDigest(parsing: String(repeating: "x", count: 10_000)) }
        #expect((error?.detail?.count ?? .max) < 200)
    }

    @Test func initWithAlgorithmValidatesHex() throws {
        #expect(try OCIDigest(algorithm: .sha256, hex: Self.sha256Hex).description == "sha256:\(Self.sha256Hex)")
        expectContentError(.digestInvalid) { _ = try OCIDigest(algorithm: .sha256, hex: Self.sha512Hex) }
        expectContentError(.digestInvalid) { _ = try OCIDigest(algorithm: .sha512, hex: Self.sha256Hex) }
        expectContentError(.digestInvalid) { _ = try OCIDigest(algorithm: .sha256, hex: Self.sha256Hex.uppercased()) }
        expectContentError(.digestInvalid) { _ = try OCIDigest(algorithm: .sha256, hex: "../" + String(Self.sha256Hex.dropFirst(3))) }
    }

    @Test func hexLengths() {
        #expect(OCIDigest.Algorithm.sha256.hexLength == 64)
        #expect(OCIDigest.Algorithm.sha512.hexLength == 128)
    }

    @Test func equalityAndOrdering() throws {
        let a = try OCIDigest(parsing: "sha256:" + hex(64, digit: "a"))
        let b = try OCIDigest(parsing: "sha256:" + hex(64, digit: "b"))
        let c = try OCIDigest(parsing: "sha512:" + hex(128, digit: "0"))
        #expect(a == (try OCIDigest(algorithm: .sha256, hex: hex(64, digit: "a"))))
        #expect(a != b)
        #expect(a < b)
        #expect([c, b, a].sorted() == [a, b, c])
        #expect(Set([a, a, b]).count == 2)
    }

    @Test func ofComputesDigest() {
        #expect(OCIDigest.of([UInt8]()).description == "sha256:\(Self.sha256Hex)")
        #expect(OCIDigest.of([UInt8](), algorithm: .sha512).description == "sha512:\(Self.sha512Hex)")
        #expect(
            OCIDigest.of(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
    }
}
