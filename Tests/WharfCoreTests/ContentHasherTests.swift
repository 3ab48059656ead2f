import Testing
import WharfCore

@Suite("ContentHasher")
struct ContentHasherTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let input: [UInt8]
        let sha256: String
        let sha512: String?
        var testDescription: String { "\(input.count) bytes" }
    }

    // FIPS 180-2 examples and the empty string.
    static let vectors: [Vector] = [
        Vector(
            input: [],
            sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sha512:
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        ),
        Vector(
            input: Array("abc".utf8),
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            sha512:
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
        Vector(
            input: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            sha256: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            sha512: nil
        ),
        Vector(
            input: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000),
            sha256: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            sha512: nil
        ),
    ]

    static let longSHA512Input = Array(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8
    )
    static let longSHA512 =
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"

    @Test(arguments: ContentHasherTests.vectors)
    func sha256Vectors(_ vector: Vector) {
        var hasher = ContentHasher()
        hasher.update(vector.input)
        let digest = hasher.finalize()
        #expect(digest.algorithm == .sha256)
        #expect(digest.hex == vector.sha256)
    }

    @Test(arguments: ContentHasherTests.vectors.filter { $0.sha512 != nil })
    func sha512Vectors(_ vector: Vector) {
        var hasher = ContentHasher(algorithm: .sha512)
        hasher.update(vector.input)
        let digest = hasher.finalize()
        #expect(digest.algorithm == .sha512)
        #expect(digest.hex == vector.sha512)
    }

    @Test func sha512LongVector() {
        var hasher = ContentHasher(algorithm: .sha512)
        hasher.update(Self.longSHA512Input)
        #expect(hasher.finalize().hex == Self.longSHA512)
    }

    @Test func defaultAlgorithmIsSHA256() {
        #expect(ContentHasher().algorithm == .sha256)
        #expect(ContentHasher(algorithm: .sha512).algorithm == .sha512)
    }

    @Test(arguments: [1, 2, 3, 7, 63, 64, 65, 1000, 4096])
    func incrementalUpdatesMatchOneShot(chunkSize: Int) {
        let input = Self.vectors[2].input + Self.longSHA512Input + [UInt8](repeating: 0xff, count: 5000)
        var sha256 = ContentHasher()
        var sha512 = ContentHasher(algorithm: .sha512)
        var start = 0
        while start < input.count {
            let chunk = Array(input[start..<min(start + chunkSize, input.count)])
            sha256.update(chunk)
            chunk.withUnsafeBytes { sha512.update(bufferPointer: $0) }
            start += chunkSize
        }
        #expect(sha256.finalize() == OCIDigest.of(input))
        #expect(sha512.finalize() == OCIDigest.of(input, algorithm: .sha512))
    }

    @Test func incrementalVectors() {
        var sha256 = ContentHasher()
        sha256.update(Array("a".utf8))
        sha256.update([])
        sha256.update(Array("bc".utf8))
        #expect(sha256.finalize().hex == Self.vectors[1].sha256)

        var sha512 = ContentHasher(algorithm: .sha512)
        for byte in Self.longSHA512Input { sha512.update([byte]) }
        #expect(sha512.finalize().hex == Self.longSHA512)

        var million = ContentHasher()
        let thousand = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { million.update(thousand) }
        #expect(million.finalize().hex == Self.vectors[3].sha256)
    }

    @Test func isAValueType() {
        var original = ContentHasher()
        original.update(Array("ab".utf8))
        var copy = original
        copy.update(Array("c".utf8))
        #expect(copy.finalize().hex == Self.vectors[1].sha256)
        #expect(original.finalize() == OCIDigest.of(Array("ab".utf8)))
        // finalize does not consume the state
        #expect(copy.finalize() == copy.finalize())
    }
}
