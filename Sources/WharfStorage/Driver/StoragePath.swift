/// The rule every driver applies to the paths it is given, so that no driver can be asked for something outside
/// its root and all of them refuse the same paths with ``StorageError/Code/invalidPath``.
enum StoragePath {
    /// Throws ``StorageError/Code/invalidPath`` for an empty path, an empty, `.` or `..` component (so also a
    /// leading or trailing `/`), or a NUL byte. Defence in depth: callers build paths from validated names only.
    /// One pass over the bytes, since this runs for every storage call.
    static func check(_ path: String) throws {
        var componentLength = 0
        var dotsOnly = true
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if componentLength == 0 || (dotsOnly && componentLength <= 2) { throw StorageError(.invalidPath, "refusing path \(path)") }
                componentLength = 0
                dotsOnly = true
            } else {
                if byte == 0 { throw StorageError(.invalidPath, "refusing path \(path)") }
                componentLength += 1
                dotsOnly = dotsOnly && byte == UInt8(ascii: ".")
            }
        }
        if componentLength == 0 || (dotsOnly && componentLength <= 2) { throw StorageError(.invalidPath, "refusing path \(path)") }
    }
}
