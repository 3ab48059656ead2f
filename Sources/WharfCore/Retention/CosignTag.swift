/// Tags that cosign and its kin use to attach signatures, attestations and SBOMs to an image before registries had
/// referrers: `sha256-<hex>.sig`, `.att`, `.sbom` (any suffix), or the bare `sha256-<hex>` of the referrers tag
/// schema. Such a tag names its subject; retention never counts it as a tag and removes it with its subject.
public enum CosignTag {
    /// The subject's digest (`sha256:<hex>`) a tag of that shape names, or nil for any other tag.
    public static func subject(of tag: String) -> String? {
        let prefix = "sha256-"
        guard tag.hasPrefix(prefix) else { return nil }
        let rest = tag.utf8.dropFirst(prefix.utf8.count)
        let hex = rest.prefix(64)
        guard hex.count == 64, hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        let suffix = rest.dropFirst(64)
        if let first = suffix.first {
            guard first == UInt8(ascii: "."), suffix.count > 1 else { return nil }
        }
        return "sha256:" + String(decoding: hex, as: UTF8.self)
    }

    /// The tag prefix under which cosign stores what describes `digest` (`sha256-<hex>`).
    public static func prefix(for digest: String) -> String {
        digest.replacingOccurrences(of: ":", with: "-")
    }
}
