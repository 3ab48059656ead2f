/// Portus's application tokens as Wharf keeps them after an import.
///
/// Portus stored `bcrypt(token)` and gave out `Devise.friendly_token`s (20 characters of base64url); Wharf stores
/// an HMAC of the token, looked up by value. The secret is unknown at import time, so the imported row keeps the
/// bcrypt hash behind ``prefix``; the first login with the token checks it with bcrypt and re-stores the token as
/// Wharf's keyed hash, after which it costs what any token costs.
public enum PortusToken {
    /// What an imported, not yet used token's stored hash starts with. Never a keyed hash (those are hex).
    public static let prefix = "portus-bcrypt:"

    /// The stored form of a Portus `token_hash`; nil when it is no bcrypt hash.
    public static func storedHash(bcrypt: String) -> String? {
        PortusMapping.passwordHash(bcrypt).map { prefix + $0 }
    }

    /// The bcrypt hash inside a stored hash, or nil when the token was not imported from Portus (or is re-stored).
    public static func bcryptHash(_ stored: String) -> String? {
        stored.hasPrefix(prefix) ? String(stored.dropFirst(prefix.count)) : nil
    }

    /// Whether a password has the shape of a Portus token (16 to 64 characters of base64url), so that only such
    /// passwords are looked up as re-stored tokens or checked against imported ones.
    public static func mayBeToken(_ password: String) -> Bool {
        (16...64).contains(password.utf8.count)
            && password.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "-"), UInt8(ascii: "_"):
                    true
                default: false
                }
            }
    }
}
