import Foundation
import NIOPosix
import WharfCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The SSRF guard: with `webhooks.allowed_networks` set, a webhook may only target hosts whose every address lies
/// in one of those ranges. The URL is checked when the webhook is made (so a mistake is told at once) and again
/// before each delivery, after resolving the host, since a name may point elsewhere later. A plain-HTTP delivery
/// then connects to the very address that was checked (the `Host` header keeps the name), so a second lookup
/// cannot swap it; HTTPS connects by name, and the certificate must match that name. Redirects are never followed.
public struct WebhookTargetGuard: Sendable {
    /// Where to send one delivery, once checked.
    public struct Target: Sendable, Equatable {
        /// The URL to connect to: the webhook's, or with the checked address in place of the host name.
        public var url: String
        /// The `Host` header to send when ``url`` names an address instead of the webhook's host.
        public var hostHeader: String?
    }

    /// nil: any address.
    public let allowedNetworks: [IPAddressRange]?

    public init(allowedNetworks: [IPAddressRange]?) {
        self.allowedNetworks = allowedNetworks.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The URL's parts, when it is an `http` or `https` URL with a host and without credentials (Basic
    /// credentials are a webhook setting, kept out of URLs that get logged).
    public static func parse(_ text: String) throws -> (scheme: String, host: String, port: Int?, components: URLComponents) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            var host = components.host, !host.isEmpty
        else {
            throw WebhookError(.invalidValue, "webhook URL \(text) is not an http:// or https:// URL with a host")
        }
        guard components.user == nil, components.password == nil else {
            throw WebhookError(.invalidValue, "webhook URL \(text) must not hold credentials: give --username and --password instead")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (scheme, host, components.port, components)
    }

    /// Checks `url` and says where to connect: throws ``WebhookError/Code/targetNotAllowed`` when its host does
    /// not resolve or resolves to an address outside the allowed networks.
    public func check(_ url: String) async throws -> Target {
        let (scheme, host, port, components) = try Self.parse(url)
        guard let allowedNetworks else { return Target(url: url, hostHeader: nil) }
        let addresses = try await Self.resolve(host)
        guard !addresses.isEmpty else {
            throw WebhookError(.targetNotAllowed, "webhook host \(host) does not resolve, so it cannot be checked against webhooks.allowed_networks")
        }
        let ranges = allowedNetworks.map(\.description).joined(separator: ", ")
        for address in addresses where !allowedNetworks.contains(where: { $0.contains(address) }) {
            throw WebhookError(
                .targetNotAllowed,
                "webhook URL \(url) resolves to \(address), outside webhooks.allowed_networks (\(ranges))"
            )
        }
        guard scheme == "http", IPAddressRange.parseAddress(host) == nil else { return Target(url: url, hostHeader: nil) }
        var pinned = components
        let address = addresses[0]
        pinned.percentEncodedHost = address.contains(":") ? "[\(address)]" : address
        guard let pinnedURL = pinned.string else { return Target(url: url, hostHeader: nil) }
        return Target(url: pinnedURL, hostHeader: port.map { "\(host):\($0)" } ?? host)
    }

    /// The addresses of `host` (an address is its own), as text, from the system resolver, on a thread pool of
    /// the lookups' own: `getaddrinfo` blocks, and a name whose DNS does not answer must never hold the threads
    /// that storage's fsyncs run on.
    static func resolve(_ host: String) async throws -> [String] {
        try await lookups.runIfActive {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            #if canImport(Darwin)
            hints.ai_socktype = SOCK_STREAM
            #else
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            #endif
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
            defer { freeaddrinfo(first) }
            var addresses: [String] = []
            var node: UnsafeMutablePointer<addrinfo>? = first
            while let entry = node {
                if let text = Self.text(of: entry.pointee), !addresses.contains(text) { addresses.append(text) }
                node = entry.pointee.ai_next
            }
            return addresses
        }
    }

    static let lookups: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    private static func text(of entry: addrinfo) -> String? {
        guard let address = entry.ai_addr else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch entry.ai_family {
        case AF_INET:
            var value = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            guard inet_ntop(AF_INET, &value, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        case AF_INET6:
            var value = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            guard inet_ntop(AF_INET6, &value, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        default:
            return nil
        }
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
