/// Parses the byte ranges of the registry protocol.
public enum ByteRange {
    /// A `Content-Range` of a chunk upload: `start-end` (also `bytes start-end/total` and `bytes=start-end`), inclusive.
    public static func parseContentRange(_ value: String) -> ClosedRange<Int64>? {
        var text = Substring(value.trimmingSpaces())
        for prefix in ["bytes=", "bytes "] where text.hasPrefix(prefix) {
            text = text.dropFirst(prefix.count)
        }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = parseNumber(parts[0]), let end = parseNumber(parts[1]), start <= end else { return nil }
        return start...end
    }

    /// A `Range` request header against a blob of `size` bytes: returns the satisfiable range, `nil` for a header
    /// that is not a single byte range (served whole, as RFC 9110 allows), or throws `rangeInvalid` (with the content's size) when unsatisfiable.
    public static func parseRangeHeader(_ value: String, size: Int64) throws -> ClosedRange<Int64>? {
        let text = value.trimmingSpaces()
        guard text.hasPrefix("bytes=") else { return nil }
        let spec = text.dropFirst("bytes=".count)
        guard !spec.contains(",") else { return nil }
        let parts = spec.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let unsatisfiable = ContentError(.rangeInvalid, detail: "range \(OCIDigest.excerpt(text)) of \(size) bytes", contentSize: size)
        if parts[0].isEmpty {
            guard let suffix = parseNumber(parts[1]) else { return nil }
            guard suffix > 0, size > 0 else { throw unsatisfiable }
            return max(0, size - suffix)...(size - 1)
        }
        guard let start = parseNumber(parts[0]) else { return nil }
        let end: Int64
        if parts[1].isEmpty {
            end = size - 1
        } else {
            guard let parsed = parseNumber(parts[1]), parsed >= start else { return nil }
            end = min(parsed, size - 1)
        }
        guard start < size else { throw unsatisfiable }
        return start...end
    }

    static func parseNumber(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int64(text)
    }
}
