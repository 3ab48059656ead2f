import WharfStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations the bootstrap needs, with error texts that name the file and say why.
extension CertificateBootstrap {
    /// Larger than any sane certificate chain or key; keeps a wrong path from reading a huge file.
    static let maximumFileSize = 1 << 20

    static func joinPath(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : (directory.hasSuffix("/") ? directory + name : directory + "/" + name)
    }

    /// Whether a directory entry exists (a dangling symlink counts, so it is reported rather than replaced).
    static func entryExists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func permissionBits(_ path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o777
    }

    static func readFile(at path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw TLSError(.fileSystem, "\(path): cannot read: \(lastErrorText())")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TLSError(.fileSystem, "\(path): cannot read: \(lastErrorText())")
            }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            if bytes.count > maximumFileSize {
                throw TLSError(.invalidPEM, "\(path): larger than \(maximumFileSize) bytes, not a PEM certificate or key")
            }
        }
    }

    /// `mkdir -p` (new folders get 0755; the key inside is 0600).
    static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw TLSError(.fileSystem, "\(prefix): cannot create folder: \(lastErrorText())")
            }
            prefix += "/"
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw TLSError(.fileSystem, "\(path): not a folder")
        }
    }

    /// Writes `bytes` under a temporary name next to `path` with exactly `mode`, flushed to disk, ready to publish.
    static func prepareFile(_ bytes: [UInt8], for path: String, mode: mode_t) throws -> AtomicFile {
        do {
            return try AtomicFile.prepare(bytes, for: path, permissions: mode, syncing: true)
        } catch {
            throw TLSError(.fileSystem, "\(error)")
        }
    }

    /// Gives a prepared file its final name without ever replacing an entry that appeared meanwhile; on failure the
    /// temporary file is gone.
    static func publishNew(_ file: AtomicFile) throws {
        do {
            try file.publish(.creatingOnly)
        } catch let error as AtomicFileError where error.code == .exists {
            throw TLSError(.incompleteKeyPair, "\(file.path) appeared while Wharf was generating it; is another wharf using the same data folder?")
        } catch {
            throw TLSError(.fileSystem, "\(error)")
        }
    }

    static func lastErrorText() -> String {
        String(cString: strerror(errno))
    }
}
