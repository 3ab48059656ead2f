import Testing
import WharfCore

@Suite("RepositoryName")
struct RepositoryNameTests {
    @Test(arguments: [
        "a",
        "a/b",
        "a.b",
        "a_b",
        "a__b",
        "a-b",
        "a---b",
        "0",
        "library/ubuntu",
        "a/b/c/d/e",
        "my-org/my.app__v2/x-1",
        "9a.b_c__d--e",
        String(repeating: "a", count: 255),
        String(repeating: "a", count: 127) + "/" + String(repeating: "b", count: 127),
    ])
    func acceptsValid(_ text: String) throws {
        let name = try RepositoryName(text)
        #expect(name.value == text)
        #expect(name.description == text)
    }

    @Test(arguments: [
        "",
        "A",
        "Library/ubuntu",
        "a/B",
        "..",
        ".",
        "a/../b",
        "a/./b",
        "../a",
        "a/..",
        "/a",
        "a/",
        "/",
        "a//b",
        "a___b",
        "a_.b",
        "a._b",
        "a.-b",
        "a..b",
        "a-_b",
        "-a",
        "a-",
        "_a",
        "a_",
        ".a",
        "a.",
        "a/-b",
        "a/b.",
        String(repeating: "a", count: 256),
        String(repeating: "a", count: 127) + "/" + String(repeating: "b", count: 128),
        "a\0",
        "\0",
        "a\0b",
        "a%2Fb",
        "%2F",
        "a%2e%2e",
        "a b",
        "a\\b",
        "a:b",
        "é",
        "a\nb",
    ])
    func rejectsInvalid(_ text: String) {
        expectContentError(.nameInvalid) { _ = try RepositoryName(text) }
    }

    @Test func nameInvalidIs400() {
        expectContentError(.nameInvalid) { _ = try RepositoryName("UPPER") }
    }

    @Test func namespace() throws {
        #expect(try RepositoryName("ubuntu").namespace == nil)
        #expect(try RepositoryName("library/ubuntu").namespace == "library")
        #expect(try RepositoryName("team/app/sub").namespace == "team")
    }

    @Test func ordering() throws {
        let names = try ["b", "a/b", "a"].map { try RepositoryName($0) }
        #expect(names.sorted().map(\.value) == ["a", "a/b", "b"])
        #expect(try RepositoryName("a") == RepositoryName("a"))
    }
}

@Suite("Tag")
struct TagTests {
    @Test(arguments: [
        "latest",
        "v1.0.0",
        "1",
        "_",
        "_private",
        "A-Z_a.z-09",
        "UPPER",
        "a..b",
        "a--",
        "a.",
        String(repeating: "a", count: 128),
        "_" + String(repeating: ".", count: 127),
    ])
    func acceptsValid(_ text: String) throws {
        #expect(try Tag(text).value == text)
        #expect(Tag.isValid(text))
    }

    @Test(arguments: [
        "",
        ".hidden",
        "-dash",
        ".",
        "-",
        "..",
        String(repeating: "a", count: 129),
        "a/b",
        "a:b",
        "a b",
        "a+b",
        "a@b",
        "é",
        "a\0",
        "%2F",
        "sha256:abc",
    ])
    func rejectsInvalid(_ text: String) {
        #expect(!Tag.isValid(text))
        expectContentError(.tagInvalid) { _ = try Tag(text) }
    }

    @Test func ordering() throws {
        let tags = try ["v2", "latest", "V1", "v10"].map { try Tag($0) }
        #expect(tags.sorted().map(\.description) == ["V1", "latest", "v10", "v2"])
    }
}

@Suite("Reference")
struct ReferenceTests {
    static let digestText = "sha256:" + String(repeating: "0", count: 64)

    @Test func tag() throws {
        let reference = try Reference("latest")
        #expect(reference == .tag(try Tag("latest")))
        #expect(reference.description == "latest")
    }

    @Test func digest() throws {
        let reference = try Reference(Self.digestText)
        #expect(reference == .digest(try OCIDigest(parsing: Self.digestText)))
        #expect(reference.description == Self.digestText)
    }

    @Test func sha512Digest() throws {
        let text = "sha512:" + String(repeating: "f", count: 128)
        guard case .digest(let digest) = try Reference(text) else {
            Issue.record("not a digest reference")
            return
        }
        #expect(digest.algorithm == .sha512)
    }

    @Test func invalidDigestIsDigestInvalid() {
        expectContentError(.digestInvalid) { _ = try Reference("sha256:abc") }
        expectContentError(.digestInvalid) { _ = try Reference("latest:") }
        expectContentError(.digestInvalid) { _ = try Reference("md5:d41d8cd98f00b204e9800998ecf8427e") }
    }

    @Test func invalidTagIsTagInvalid() {
        expectContentError(.tagInvalid) { _ = try Reference("") }
        expectContentError(.tagInvalid) { _ = try Reference(".x") }
        expectContentError(.tagInvalid) { _ = try Reference(String(repeating: "t", count: 129)) }
        expectContentError(.tagInvalid) { _ = try Reference("a/b") }
    }
}
