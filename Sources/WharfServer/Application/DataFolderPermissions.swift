import Foundation
import WharfDatabase

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who may read the data folder and the database. Both hold secrets (the `secrets` key, the TLS key, password
/// and token hashes), so Wharf creates them private (the folder 0700, `wharf.sqlite` 0600) and, for ones that
/// already exist, warns at start-up rather than changing an operator's choice.
enum DataFolderPermissions {
    /// Creates `path` 0700 when it does not exist (missing parents get the usual 0755). An existing folder is
    /// left as it is.
    static func createPrivateFolder(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw ConfigurationError("data: cannot create \(parent)")
            }
        }
        if mkdir(path, 0o700) == 0 {
            // The umask may have cleared bits of 0700; the owner needs all three.
            chmod(path, 0o700)
        } else if errno != EEXIST {
            throw ConfigurationError("data: cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// One line per existing data folder or database file that its group or other users may access, naming the
    /// path and the command that fixes it.
    static func warnings(for configuration: ServerConfiguration) -> [String] {
        var warnings: [String] = []
        if let mode = permissionBits(configuration.dataDirectory), mode & 0o077 != 0 {
            let path = configuration.dataDirectory
            warnings.append(
                "data folder \(path) is open to group or other users (mode \(String(mode, radix: 8))) and holds secrets; fix: chmod 700 \(path)"
            )
        }
        if case .sqlite(let database, _) = configuration.databaseLocation {
            for path in [database, database + "-wal", database + "-shm"] {
                guard let mode = permissionBits(path), mode & 0o077 != 0 else { continue }
                warnings.append(
                    "database file \(path) is readable by group or other users (mode \(String(mode, radix: 8))) and holds password "
                        + "and token hashes; fix: chmod 600 \(path)"
                )
            }
        }
        return warnings
    }

    /// The permission bits of an existing file or folder, or nil.
    static func permissionBits(_ path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o777
    }
}
