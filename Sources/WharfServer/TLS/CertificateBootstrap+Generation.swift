import Crypto
import Foundation
import Logging
import SwiftASN1
import WharfStorage
import X509
import _CryptoExtras

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension CertificateBootstrap {
    /// Creates the key and the self-signed certificate and publishes them (see `ensure` for the crash behaviour).
    static func generate(certsDirectory: String, names: [GeneralName], now: Date, logger: Logger) throws {
        let certificatePath = certificatePath(certsDirectory: certsDirectory)
        let keyPath = keyPath(certsDirectory: certsDirectory)

        let rsaKey: _RSA.Signing.PrivateKey
        let certificatePEM: String
        do {
            rsaKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let privateKey = Certificate.PrivateKey(rsaKey)
            let commonName = machineHostname().flatMap { $0.utf8.count <= 64 ? $0 : nil } ?? "localhost"
            let name = try DistinguishedName {
                CommonName(commonName)
                OrganizationName("Wharf")
            }
            let extensions = try Certificate.Extensions {
                // CA:true lets clients trust this certificate directly as its own CA
                // (docker/skopeo certs.d/ca.crt, curl --cacert, a system trust store).
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: privateKey.publicKey)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: privateKey.publicKey,
                notValidBefore: now - clockSkewAllowance,
                notValidAfter: now + validity,
                issuer: name,
                subject: name,
                signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: extensions,
                issuerPrivateKey: privateKey
            )
            certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw TLSError(.generation, "cannot create a TLS key and certificate: \(oneLine(error))")
        }

        try makeDirectory(certsDirectory)
        // PKCS#8 ("BEGIN PRIVATE KEY"): read by NIOSSL, swift-certificates and _RSA (jwt-kit) alike.
        let key = try prepareFile(Array(rsaKey.pkcs8PEMRepresentation.utf8), for: keyPath, mode: 0o600)
        let certificateFile: AtomicFile
        do {
            certificateFile = try prepareFile(Array(certificatePEM.utf8), for: certificatePath, mode: 0o644)
        } catch {
            key.discard()
            throw error
        }
        do {
            try publishNew(key)
        } catch {
            certificateFile.discard()
            throw error
        }
        do {
            try publishNew(certificateFile)
        } catch {
            // The key was published by us a moment ago; take it back so the folder is as we found it.
            unlink(keyPath)
            throw error
        }
        AtomicFile.syncFolder(of: certificatePath)

        logger.info(
            "Generated a self-signed TLS certificate",
            metadata: [
                "path": "\(certificatePath)",
                "names": "\(names.map(labelledText(of:)).joined(separator: ", "))",
                "notValidAfter": "\(iso8601(now + validity))",
            ]
        )
    }

    /// The names a generated certificate is valid for, deduplicated, in this order: `localhost`, `127.0.0.1`,
    /// `::1`, the machine's hostname, then `extraHostnames` (IP addresses where they parse as one, else DNS names).
    static func subjectAlternativeNames(machineHostname: String?, extraHostnames: [String]) throws -> [GeneralName] {
        var names: [GeneralName] = []
        func add(_ name: GeneralName) {
            if !names.contains(name) { names.append(name) }
        }
        add(.dnsName("localhost"))
        add(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])))
        add(.ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))))
        if let machineHostname, let name = generalName(for: machineHostname) {
            add(name)
        }
        for entry in extraHostnames {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let name = generalName(for: trimmed) else {
                throw TLSError(.invalidHostname, "invalid hostname \"\(oneLine(trimmed))\": not an IP address or DNS name")
            }
            add(name)
        }
        return names
    }

    /// An IP address (IPv6 may be in brackets) or a DNS name (lowercased; `*` allowed as the first label).
    static func generalName(for host: String) -> GeneralName? {
        var host = host
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        if let bytes = ipAddressBytes(host) {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        }
        let dns = host.lowercased()
        return isDNSName(dns) ? .dnsName(dns) : nil
    }

    static func isDNSName(_ name: String) -> Bool {
        let name = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            if index == 0, label == "*", labels.count > 1 { continue }
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            let allowed = label.utf8.allSatisfy { byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
            }
            guard allowed else { return false }
        }
        return true
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address in text form, nil when `text` is not one.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// The conventional text form of a 4- or 16-byte address (`127.0.0.1`, `::1`).
    static func ipAddressText(_ bytes: ArraySlice<UInt8>) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = Array(bytes).withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `gethostname()`, without the reverse DNS lookup `ProcessInfo.hostName` may do; nil when unset.
    static func machineHostname() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
        return name.isEmpty ? nil : name.lowercased()
    }
}
