import Crypto
import Foundation

/// `X-Wharf-Signature: sha256=<hex HMAC-SHA256(secret, body)>`: a receiver that knows the secret checks that the
/// body came from Wharf and was not changed, as GitHub's `X-Hub-Signature-256` works.
public enum WebhookSignature {
    public static let headerName = "X-Wharf-Signature"

    public static func sign(body: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// A new secret: 32 random bytes as 64 hex digits.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
