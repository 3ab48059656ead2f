import Crypto
import Foundation

/// Application tokens: 256-bit random secrets a user creates to use as a password (`docker login`, the API).
///
/// Only a keyed hash is stored: HMAC-SHA256 with a server secret. A 256-bit random token cannot be guessed, so
/// a slow hash (bcrypt) would only slow every push; the key makes a leaked table useless without the secret. The
/// hash is deterministic, so the store can look a token up by its hash.
public struct ApplicationTokenHasher: Sendable {
    /// What every application token starts with, so a token is recognisable (in logs, in secret scanners).
    public static let prefix = "wharf_"
    /// The length of a token: the prefix and 43 characters of base64url for 32 bytes.
    public static let tokenLength = prefix.count + 43

    private let secret: SymmetricKey

    /// - Parameter secret: the server secret, at least 32 bytes.
    public init(secret: SymmetricKey) {
        precondition(secret.bitCount >= 256, "the application token secret must have at least 256 bits")
        self.secret = secret
    }

    /// A new random token: `wharf_` and base64url of 32 random bytes. Shown to the user once, never stored.
    public static func generate() -> String {
        prefix + Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    /// Whether `text` has the shape of an application token (it may still be unknown).
    public static func isWellFormed(_ text: String) -> Bool {
        guard text.utf8.count == tokenLength, text.hasPrefix(prefix) else { return false }
        return Base64URL.decode(text.dropFirst(prefix.count))?.count == 32
    }

    /// The keyed hash to store for `token`, as 64 lowercase hex digits.
    public func hash(_ token: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: secret).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `token` hashes to `storedHash`, compared in constant time.
    public func matches(_ token: String, storedHash: String) -> Bool {
        guard let stored = Self.bytes(hex: storedHash), stored.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(stored, authenticating: Data(token.utf8), using: secret)
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
