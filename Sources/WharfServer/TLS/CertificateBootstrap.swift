import Crypto
import Foundation
import Logging
import NIOSSL
import SwiftASN1
import X509

/// The server's TLS identity: `certs/server.crt` and `certs/server.key` in the data folder.
///
/// When neither file exists, Wharf creates an RSA-2048 key (RSA so the same key can sign RS256 tokens)
/// and a self-signed certificate valid for one year, so `wharf serve` speaks HTTPS out of the box.
/// An operator may instead put their own pair there; Wharf never overwrites either file.
///
/// All functions are synchronous and do blocking file I/O (and, when generating, a key generation
/// that takes up to a second): call them at startup or from the CLI, not from a request.
public enum CertificateBootstrap {
    static let certificateFileName = "server.crt"
    static let keyFileName = "server.key"
    /// How long a generated certificate is valid.
    static let validity: TimeInterval = 365 * 24 * 60 * 60
    /// How far before "now" a generated certificate starts, so clients with a slow clock accept it.
    static let clockSkewAllowance: TimeInterval = 5 * 60
    /// `ensure` logs a warning when the certificate expires sooner than this.
    static let expiryWarningPeriod: TimeInterval = 30 * 24 * 60 * 60

    /// Path of the certificate (PEM, leaf first, optionally followed by its chain).
    public static func certificatePath(certsDirectory: String) -> String {
        joinPath(certsDirectory, certificateFileName)
    }

    /// Path of the private key (PEM: PKCS#8, PKCS#1 or SEC1).
    public static func keyPath(certsDirectory: String) -> String {
        joinPath(certsDirectory, keyFileName)
    }

    /// Makes sure `certsDirectory/server.crt` and `certsDirectory/server.key` exist and are usable.
    ///
    /// - When both are missing, creates the folder (with parents) and generates a new key and a self-signed
    ///   certificate whose subject alternative names are `localhost`, `127.0.0.1`, `::1`, the machine's
    ///   hostname and every entry of `extraHostnames` (an IP address if it parses as one, a DNS name otherwise).
    ///   Both files are written under temporary names and fsynced, then published key first, certificate second,
    ///   each without replacing anything that appeared meanwhile. A crash can therefore leave a key without
    ///   its certificate (never a half-written file); the next start reports that as an incomplete pair.
    /// - When exactly one exists, throws: Wharf does not know whether the other was lost or is yet to be copied.
    /// - Never overwrites an existing file.
    ///
    /// Then checks that the certificate and key are readable PEM, that the key is the certificate's, and that
    /// the certificate has not expired at `now`. Every failure is a ``TLSError`` with a one-line reason.
    public static func ensure(
        certsDirectory: String,
        extraHostnames: [String],
        now: Date = Date(),
        logger: Logger
    ) throws -> CertificateInfo {
        let certificatePath = certificatePath(certsDirectory: certsDirectory)
        let keyPath = keyPath(certsDirectory: certsDirectory)

        switch (entryExists(certificatePath), entryExists(keyPath)) {
        case (false, false):
            let names = try subjectAlternativeNames(machineHostname: machineHostname(), extraHostnames: extraHostnames)
            try generate(certsDirectory: certsDirectory, names: names, now: now, logger: logger)
        case (true, false):
            throw TLSError(
                .incompleteKeyPair,
                "\(certificatePath) exists but \(keyPath) is missing: put the matching key there, "
                    + "or delete the certificate to have a new pair generated"
            )
        case (false, true):
            throw TLSError(
                .incompleteKeyPair,
                "\(keyPath) exists but \(certificatePath) is missing: put the matching certificate there, "
                    + "or delete the key to have a new pair generated"
            )
        case (true, true):
            break
        }

        let pair = try loadPair(certsDirectory: certsDirectory)
        let certificate = pair.certificate
        guard certificate.notValidAfter > now else {
            throw TLSError(.expired, "\(certificatePath): certificate expired on \(iso8601(certificate.notValidAfter))")
        }
        if certificate.notValidBefore > now {
            logger.warning(
                "TLS certificate is not valid yet; is the clock right?",
                metadata: ["path": "\(certificatePath)", "notValidBefore": "\(iso8601(certificate.notValidBefore))"]
            )
        }
        if certificate.notValidAfter.timeIntervalSince(now) < expiryWarningPeriod {
            logger.warning(
                "TLS certificate expires soon",
                metadata: ["path": "\(certificatePath)", "notValidAfter": "\(iso8601(certificate.notValidAfter))"]
            )
        }
        if let mode = permissionBits(keyPath), mode & 0o077 != 0 {
            logger.warning(
                "TLS private key is readable by other users; chmod 600 it",
                metadata: ["path": "\(keyPath)", "mode": "\(String(mode, radix: 8))"]
            )
        }
        return pair.info
    }

    /// Describes the certificate in `certsDirectory` without checking the key or the dates (for `wharf cert show`).
    public static func inspect(certsDirectory: String) throws -> CertificateInfo {
        let certificate = try readCertificate(at: certificatePath(certsDirectory: certsDirectory))
        return try makeInfo(certificate.certificate, der: certificate.der)
    }

    /// The TLS 1.2 suites offered: forward-secret key exchange (ECDHE) with an AEAD cipher only. Static-RSA key
    /// exchange (no forward secrecy) and CBC with SHA-1 (padding-oracle history) are left out; every client of a
    /// registry from the last decade offers one of these. TLS 1.3's suites are all AEAD and not configurable.
    static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// A server TLS configuration for the pair in `certsDirectory`, offering `alpn` (e.g. `["h2", "http/1.1"]`),
    /// `minimumVersion` or later and, on TLS 1.2, only ``tls12CipherSuites``.
    ///
    /// Checks that the files parse and that the key matches the certificate, so a bad pair fails here with a
    /// readable reason rather than later inside the TLS library. Call ``ensure(certsDirectory:extraHostnames:now:logger:)``
    /// first to create the pair and check its dates.
    public static func serverTLSConfiguration(
        certsDirectory: String,
        alpn: [String],
        minimumVersion: TLSMinimumVersion = .tls12
    ) throws -> NIOSSL.TLSConfiguration {
        let certificatePath = certificatePath(certsDirectory: certsDirectory)
        let keyPath = keyPath(certsDirectory: certsDirectory)
        _ = try loadPair(certsDirectory: certsDirectory)

        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(readFile(at: certificatePath))
        } catch let error as TLSError {
            throw error
        } catch {
            throw TLSError(.invalidPEM, "\(certificatePath): cannot load the certificate chain: \(oneLine(error))")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: readFile(at: keyPath), format: .pem)
        } catch let error as TLSError {
            throw error
        } catch {
            throw TLSError(.invalidPEM, "\(keyPath): cannot load the private key: \(oneLine(error))")
        }

        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = minimumVersion.nioVersion
        configuration.cipherSuiteValues = tls12CipherSuites
        configuration.applicationProtocols = alpn
        return configuration
    }
}

// MARK: - Reading and checking

extension CertificateBootstrap {
    struct LoadedPair {
        var certificate: Certificate
        var privateKey: Certificate.PrivateKey
        var info: CertificateInfo
    }

    /// Reads both files and checks that the key belongs to the certificate (dates are the caller's business).
    static func loadPair(certsDirectory: String) throws -> LoadedPair {
        let certificatePath = certificatePath(certsDirectory: certsDirectory)
        let keyPath = keyPath(certsDirectory: certsDirectory)
        let certificate = try readCertificate(at: certificatePath)
        let privateKey = try readPrivateKey(at: keyPath)
        guard privateKey.publicKey == certificate.certificate.publicKey else {
            throw TLSError(.keyMismatch, "\(keyPath) does not match \(certificatePath)")
        }
        return LoadedPair(
            certificate: certificate.certificate,
            privateKey: privateKey,
            info: try makeInfo(certificate.certificate, der: certificate.der)
        )
    }

    /// The first certificate of a PEM file (a server certificate may be followed by its chain).
    static func readCertificate(at path: String) throws -> (certificate: Certificate, der: [UInt8]) {
        let text = String(decoding: try readFile(at: path), as: UTF8.self)
        let documents = (try? PEMDocument.parseMultiple(pemString: text)) ?? []
        guard let document = documents.first(where: { $0.discriminator == "CERTIFICATE" }) else {
            throw TLSError(.invalidPEM, "\(path): not a PEM certificate")
        }
        do {
            return (try Certificate(derEncoded: document.derBytes), document.derBytes)
        } catch {
            throw TLSError(.invalidPEM, "\(path): not a valid X.509 certificate: \(oneLine(error))")
        }
    }

    /// The private key of a PEM file: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    static func readPrivateKey(at path: String) throws -> Certificate.PrivateKey {
        let text = String(decoding: try readFile(at: path), as: UTF8.self)
        let documents = (try? PEMDocument.parseMultiple(pemString: text)) ?? []
        if documents.contains(where: { $0.discriminator == "ENCRYPTED PRIVATE KEY" }) || text.contains("Proc-Type: 4,ENCRYPTED") {
            throw TLSError(.invalidPEM, "\(path): encrypted private keys are not supported; store it decrypted with mode 0600")
        }
        guard let document = documents.first(where: { $0.discriminator.hasSuffix("PRIVATE KEY") }) else {
            throw TLSError(.invalidPEM, "\(path): not a PEM private key")
        }
        do {
            return try Certificate.PrivateKey(pemDocument: document)
        } catch {
            throw TLSError(.invalidPEM, "\(path): unsupported or damaged private key: \(oneLine(error))")
        }
    }

    static func makeInfo(_ certificate: Certificate, der: [UInt8]) throws -> CertificateInfo {
        let names: SubjectAlternativeNames
        do {
            names = try certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()
        } catch {
            throw TLSError(.invalidPEM, "certificate has a damaged subjectAltName extension: \(oneLine(error))")
        }
        let plainNames = names.map(plainText(of:))
        let labelledNames = names.map(labelledText(of:))
        let fingerprint = SHA256.hash(data: der).map { hexByte($0) }.joined(separator: ":")
        let summary = [
            "Subject:     \(certificate.subject)",
            "Issuer:      \(certificate.issuer)\(certificate.issuer == certificate.subject ? " (self-signed)" : "")",
            "Names:       \(labelledNames.isEmpty ? "(none)" : labelledNames.joined(separator: ", "))",
            "Not before:  \(iso8601(certificate.notValidBefore))",
            "Not after:   \(iso8601(certificate.notValidAfter))",
            "Public key:  \(certificate.publicKey)",
            "SHA-256:     \(fingerprint)",
        ].joined(separator: "\n")
        return CertificateInfo(
            subject: String(describing: certificate.subject),
            subjectAlternativeNames: plainNames,
            notValidBefore: certificate.notValidBefore,
            notValidAfter: certificate.notValidAfter,
            sha256Fingerprint: fingerprint,
            summary: summary
        )
    }

    static func plainText(of name: GeneralName) -> String {
        switch name {
        case .dnsName(let dns): return dns
        case .ipAddress(let address): return ipAddressText(address.bytes) ?? "IP:\(address)"
        default: return labelledText(of: name)
        }
    }

    static func labelledText(of name: GeneralName) -> String {
        switch name {
        case .dnsName(let dns): return "DNS:\(dns)"
        case .ipAddress(let address): return "IP:\(ipAddressText(address.bytes) ?? "\(address)")"
        case .uniformResourceIdentifier(let uri): return "URI:\(uri)"
        case .rfc822Name(let email): return "email:\(email)"
        default: return oneLine(name)
        }
    }

    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    /// Error texts from the libraries may span lines; ours must not.
    static func oneLine(_ value: Any) -> String {
        String(describing: value).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
    }
}
