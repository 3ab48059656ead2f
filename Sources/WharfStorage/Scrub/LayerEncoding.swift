import WharfCore

/// How a layer's bytes are stored, from its media type: what `--deep` can check about it.
enum LayerEncoding: Equatable {
    /// gzip (`…tar+gzip`, `…tar.gzip`, Docker's `…rootfs.diff.tar.gzip`): decompress and hash.
    case gzip
    /// An uncompressed tar: its digest is its `diff_id`.
    case tar
    /// Skipped, with the reason.
    case unchecked(String)

    init(_ descriptor: Descriptor) {
        let type = MediaType.essence(descriptor.mediaType)
        if ScrubManifest.isForeign(descriptor) {
            self = .unchecked("foreign or non-distributable layer")
        } else if type.hasSuffix("+gzip") || type.hasSuffix(".tar.gzip") {
            self = .gzip
        } else if type.hasSuffix("+zstd") || type.hasSuffix(".tar.zstd") {
            self = .unchecked("zstd layer (not checked)")
        } else if type.hasSuffix(".tar") || type.hasSuffix("rootfs.diff.tar") {
            self = .tar
        } else {
            self = .unchecked("layer media type \(type) is not a known layer encoding")
        }
    }
}
