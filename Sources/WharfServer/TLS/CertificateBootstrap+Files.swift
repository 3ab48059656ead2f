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

    /// Writes `bytes` to a new hidden file next to `finalPath` (created with O_EXCL, then fsynced) and returns its path.
    static func writeTemporaryFile(_ bytes: [UInt8], for finalPath: String, mode: mode_t) throws -> String {
        let slash = finalPath.lastIndex(of: "/")
        let directory = slash.map { String(finalPath[...$0]) } ?? ""
        let name = slash.map { String(finalPath[finalPath.index(after: $0)...]) } ?? finalPath
        let suffix = (0..<8).map { _ in hexByte(UInt8.random(in: 0...255)) }.joined()
        let temporaryPath = "\(directory).\(name).\(suffix).tmp"

        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw TLSError(.fileSystem, "\(temporaryPath): cannot create: \(lastErrorText())")
        }
        func fail(_ action: String) -> TLSError {
            let error = TLSError(.fileSystem, "\(temporaryPath): cannot \(action): \(lastErrorText())")
            close(descriptor)
            unlink(temporaryPath)
            return error
        }
        // The umask may have cleared bits of `mode`; the result must be exactly `mode`.
        guard fchmod(descriptor, mode) == 0 else { throw fail("set permissions") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                write(descriptor, raw.baseAddress! + written, raw.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw fail("write")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else { throw fail("fsync") }
        guard close(descriptor) == 0 else {
            let error = TLSError(.fileSystem, "\(temporaryPath): cannot write: \(lastErrorText())")
            unlink(temporaryPath)
            throw error
        }
        return temporaryPath
    }

    /// Gives the fully written `temporaryPath` its final name without ever replacing an existing `finalPath`:
    /// `link` fails if the name exists; filesystems without hard links fall back to `rename` after a check.
    static func publish(_ temporaryPath: String, as finalPath: String) throws {
        let appeared = TLSError(
            .incompleteKeyPair,
            "\(finalPath) appeared while Wharf was generating it; is another wharf using the same data folder?"
        )
        if link(temporaryPath, finalPath) == 0 {
            unlink(temporaryPath)
            return
        }
        switch errno {
        case EEXIST:
            throw appeared
        case EPERM, ENOTSUP, EOPNOTSUPP, EMLINK, ENOSYS, EXDEV:
            guard !entryExists(finalPath) else { throw appeared }
            guard rename(temporaryPath, finalPath) == 0 else {
                throw TLSError(.fileSystem, "\(finalPath): cannot create: \(lastErrorText())")
            }
        default:
            throw TLSError(.fileSystem, "\(finalPath): cannot create: \(lastErrorText())")
        }
    }

    /// Makes the new directory entries durable; best effort, as some filesystems cannot fsync a folder.
    static func syncDirectory(_ path: String) {
        let descriptor = open(path.isEmpty ? "." : path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    static func lastErrorText() -> String {
        String(cString: strerror(errno))
    }
}
