import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address with a prefix length (`10.0.0.0/8`, `::1`, `192.168.1.7`), as `trusted_proxies`
/// and `webhooks.allowed_networks` list them. An IPv4-mapped IPv6 peer (`::ffff:127.0.0.1`) matches the IPv4 range.
public struct IPAddressRange: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes, bits past the prefix cleared.
    let bytes: [UInt8]
    let prefix: Int

    init(bytes: [UInt8], prefix: Int) {
        self.prefix = prefix
        self.bytes = Self.masked(bytes, prefix)
    }

    /// Parses `ADDRESS` or `ADDRESS/PREFIX`; nil when malformed.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.parseAddress(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else { return nil }
            prefix = value
        }
        self.init(bytes: address, prefix: prefix)
    }

    /// A comma-separated list (empty means none); nil names the first item that is not an address or a range.
    public static func parseList(_ text: String) -> Result<[IPAddressRange], ParseFailure> {
        var ranges: [IPAddressRange] = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let range = IPAddressRange(item) else { return .failure(ParseFailure(item: item)) }
            ranges.append(range)
        }
        return .success(ranges)
    }

    /// An item of a list that is not an address or a CIDR range.
    public struct ParseFailure: Error, Sendable, Equatable {
        public let item: String
    }

    /// Whether the textual address `ip` lies in the range.
    public func contains(_ ip: String) -> Bool {
        guard var address = Self.parseAddress(ip) else { return false }
        if address.count == 16, bytes.count == 4, address.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] {
            address = Array(address.suffix(4))
        }
        return address.count == bytes.count && Self.masked(address, prefix) == bytes
    }

    public var description: String {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let text = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        let address = buffer[..<length].map { UInt8(bitPattern: $0) }
        return (text != nil ? String(decoding: address, as: UTF8.self) : "?") + "/\(prefix)"
    }

    /// The 4 or 16 bytes of a textual IPv4 or IPv6 address; nil when it is not one.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return v6 }
        return nil
    }

    static func masked(_ address: [UInt8], _ prefix: Int) -> [UInt8] {
        address.enumerated().map { index, byte in
            let keep = max(0, min(8, prefix - index * 8))
            return keep == 8 ? byte : keep == 0 ? 0 : byte & UInt8(0xFF << (8 - keep) & 0xFF)
        }
    }
}
