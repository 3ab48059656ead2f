import Crypto

/// A content digest `algorithm:encoded` as the OCI image spec defines it.
///
/// Only algorithms Wharf can verify are accepted (sha256, the default, and sha512); the encoded part must be
/// lowercase hex of the algorithm's length, so a parsed digest is always safe to use as a path component.
public struct OCIDigest: Hashable, Sendable, CustomStringConvertible, Comparable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha256
        case sha512

        public var hexLength: Int {
            switch self {
            case .sha256: 64
            case .sha512: 128
            }
        }
    }

    public let algorithm: Algorithm
    public let hex: String

    public var description: String { "\(algorithm.rawValue):\(hex)" }

    public static func < (lhs: OCIDigest, rhs: OCIDigest) -> Bool { lhs.description < rhs.description }

    public init(algorithm: Algorithm, hex: String) throws {
        guard hex.utf8.count == algorithm.hexLength, hex.utf8.allSatisfy(Self.isLowerHex) else {
            throw ContentError(.digestInvalid, "invalid digest", detail: "\(algorithm.rawValue) needs \(algorithm.hexLength) lowercase hex digits")
        }
        self.algorithm = algorithm
        self.hex = hex
    }

    /// Parses `sha256:<64 hex>` or `sha512:<128 hex>`; anything else is `digestInvalid`.
    public init(parsing string: some StringProtocol) throws {
        let text = String(string)
        guard let colon = text.firstIndex(of: ":") else {
            throw ContentError(.digestInvalid, "invalid digest", detail: Self.excerpt(text))
        }
        let algorithmText = String(text[..<colon])
        let encoded = String(text[text.index(after: colon)...])
        guard Self.isValidAlgorithmGrammar(algorithmText), !encoded.isEmpty, encoded.utf8.count <= 1024 else {
            throw ContentError(.digestInvalid, "invalid digest", detail: Self.excerpt(text))
        }
        guard let algorithm = Algorithm(rawValue: algorithmText) else {
            throw ContentError(.digestInvalid, "unsupported digest algorithm", detail: Self.excerpt(algorithmText))
        }
        try self.init(algorithm: algorithm, hex: encoded)
    }

    /// The digest of `bytes` with `algorithm`.
    public static func of(_ bytes: some Sequence<UInt8>, algorithm: Algorithm = .sha256) -> OCIDigest {
        var hasher = ContentHasher(algorithm: algorithm)
        hasher.update(Array(bytes))
        return hasher.finalize()
    }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    /// `[a-z0-9]+([+._-][a-z0-9]+)*`
    static func isValidAlgorithmGrammar(_ text: String) -> Bool {
        var previousWasSeparator = true
        for byte in text.utf8 {
            let isAlnum = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            if isAlnum {
                previousWasSeparator = false
            } else if byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") {
                if previousWasSeparator { return false }
                previousWasSeparator = true
            } else {
                return false
            }
        }
        return !previousWasSeparator
    }

    static func excerpt(_ text: String) -> String {
        text.count > 80 ? String(text.prefix(80)) + "…" : text
    }
}

/// An incremental hash for one digest algorithm; a value type, so it can be carried between tasks.
public struct ContentHasher: Sendable {
    enum State: Sendable {
        case sha256(SHA256)
        case sha512(SHA512)
    }

    var state: State
    public let algorithm: OCIDigest.Algorithm

    public init(algorithm: OCIDigest.Algorithm = .sha256) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha256: state = .sha256(SHA256())
        case .sha512: state = .sha512(SHA512())
        }
    }

    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        switch state {
        case .sha256(var h):
            h.update(bufferPointer: bufferPointer)
            state = .sha256(h)
        case .sha512(var h):
            h.update(bufferPointer: bufferPointer)
            state = .sha512(h)
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update(bufferPointer: $0) }
    }

    public func finalize() -> OCIDigest {
        let hex: String
        switch state {
        case .sha256(let h): hex = Self.hexString(h.finalize())
        case .sha512(let h): hex = Self.hexString(h.finalize())
        }
        // The hex of a real hash always has the algorithm's length.
        return try! OCIDigest(algorithm: algorithm, hex: hex)
    }

    static func hexString(_ digest: some Sequence<UInt8>) -> String {
        let table: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(128)
        for byte in digest {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
