import Crypto
import Foundation
import WharfStorage

/// The server's own secret, `DATA/secrets`: 32 random bytes, created 0600 and atomically when missing, reused
/// otherwise, so every process on the same data folder (the server, the CLI, replicas sharing the folder) derives
/// the same keys from it.
///
/// Each purpose gets its own key derived with HKDF, so one key never serves two uses.
public struct ServerSecrets: Sendable {
    public static let fileName = "secrets"
    public static let byteCount = 32

    private let master: SymmetricKey

    init(master: SymmetricKey) { self.master = master }

    /// The key of `ApplicationTokenHasher` (HMAC-SHA256 of application tokens).
    public var applicationTokenKey: SymmetricKey { derive("wharf application tokens") }

    /// The key of the portal's CSRF tokens (HMAC-SHA256 of the session, or of a visitor's nonce before sign-in).
    public var csrfKey: SymmetricKey { derive("wharf portal csrf") }

    private func derive(_ purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data(purpose.utf8), outputByteCount: 32)
    }

    /// Reads `DATA/secrets`, creating it first when it does not exist. Two processes creating it at once end up
    /// with the same file (the loser reads the winner's). A file of the wrong size is refused, never replaced.
    public static func load(dataDirectory: String) throws -> ServerSecrets {
        let path = CertificateBootstrap.joinPath(dataDirectory, fileName)
        if !CertificateBootstrap.entryExists(path) {
            try DataFolderPermissions.createPrivateFolder(dataDirectory)
            try CertificateBootstrap.makeDirectory(dataDirectory)
            var bytes = [UInt8](repeating: 0, count: byteCount)
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = generator.next() }
            do {
                try AtomicFile.write(bytes, to: path, permissions: 0o600, durability: .fileAndFolder, publication: .creatingOnly)
            } catch {
                // Another process created it meanwhile: use theirs.
                guard CertificateBootstrap.entryExists(path) else { throw TLSError(.fileSystem, "\(error)") }
            }
        }
        let bytes = try CertificateBootstrap.readFile(at: path)
        guard bytes.count == byteCount else {
            throw TLSError(.fileSystem, "\(path): expected \(byteCount) bytes, found \(bytes.count); remove it to generate a new one")
        }
        return ServerSecrets(master: SymmetricKey(data: bytes))
    }
}
