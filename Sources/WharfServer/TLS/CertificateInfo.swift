import Foundation

/// What `wharf cert show` and the startup log say about the server certificate.
public struct CertificateInfo: Sendable {
    /// The subject distinguished name, e.g. `CN=registry.example.com,O=Wharf`.
    public var subject: String
    /// DNS names and IP addresses as plain text (`localhost`, `127.0.0.1`, `::1`); other kinds of
    /// name keep a prefix (`URI:…`, `email:…`).
    public var subjectAlternativeNames: [String]
    public var notValidBefore: Date
    public var notValidAfter: Date
    /// SHA-256 of the certificate's DER bytes, uppercase hex pairs joined by ":".
    public var sha256Fingerprint: String
    /// Several lines for humans: subject, issuer, names, validity (ISO 8601 UTC), key and fingerprint.
    public var summary: String
}
