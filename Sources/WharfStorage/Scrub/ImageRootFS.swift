import Foundation

/// An image config's `rootfs`: the digests of its layers uncompressed, in order.
struct ImageRootFS: Decodable {
    struct RootFS: Decodable {
        var diffIDs: [String]

        enum CodingKeys: String, CodingKey {
            case diffIDs = "diff_ids"
        }
    }

    var rootfs: RootFS

    init(parsing bytes: [UInt8]) throws {
        self = try JSONDecoder().decode(ImageRootFS.self, from: Data(bytes))
    }
}
