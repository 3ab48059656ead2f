import NIOSSL

/// `tls.min_version`: the oldest TLS version the server negotiates. TLS 1.2 stays the default because some
/// registry clients still in use (older Docker engines, Java and Go runtimes behind corporate proxies) stop there;
/// `1.3` is for operators who know their clients.
public enum TLSMinimumVersion: String, Sendable, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"

    var nioVersion: TLSVersion {
        switch self {
        case .tls12: return .tlsv12
        case .tls13: return .tlsv13
        }
    }
}
