import Crypto
import Foundation

/// CSRF tokens of the portal. A signed-in browser's token is an HMAC of its session id, so it changes at each
/// sign-in and dies with the session; before sign-in (the sign-in and sign-up forms) it is an HMAC of a random
/// nonce the browser holds in a cookie of its own. A cross-site page can make the browser send its cookies, but
/// cannot read the token: every unsafe request must carry it in a form field or the `X-CSRF-Token` header.
struct CSRFGuard: Sendable {
    let key: SymmetricKey

    func token(session id: String) -> String { mac("session:" + id) }

    func token(visitor nonce: String) -> String { mac("visitor:" + nonce) }

    /// Whether `presented` is the token for this session (or, without one, this visitor nonce), in constant time.
    func verify(_ presented: String?, session: String?, visitor: String?) -> Bool {
        guard let presented, let expected = session.map(token(session:)) ?? visitor.map(token(visitor:)) else { return false }
        let a = Array(presented.utf8)
        let b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// A new random nonce for a visitor's cookie (32 bytes, base64url).
    static func newNonce() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64URLEncoded
    }

    private func mac(_ text: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)).base64URLEncoded
    }
}

extension Data {
    /// base64url without padding.
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
            of: "=",
            with: ""
        )
    }
}
