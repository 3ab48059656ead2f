#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's file-descriptor limit (`RLIMIT_NOFILE`), which bounds how many connections Wharf can hold.
///
/// Many systems start services with a soft limit of 1024 and a much higher hard limit; an unprivileged process
/// may raise its soft limit up to the hard one, so Wharf does that at start-up instead of asking every operator
/// to remember `ulimit -n`.
public struct DescriptorLimit: Sendable, Equatable {
    /// The limit in force (the soft limit).
    public var soft: Int
    /// The ceiling the soft limit may be raised to without privileges.
    public var hard: Int

    /// Descriptors kept back from connections for storage files (one per blob being read or written), database
    /// connections, the log and the listening socket.
    public var reserve: Int { max(32, soft / 8) }

    /// `http.max_connections: auto`: the limit less ``reserve``, at least 1.
    public var automaticConnectionCap: Int { max(1, soft - reserve) }

    /// The current limits, or nil when the system will not say.
    public static func current() -> DescriptorLimit? {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        return DescriptorLimit(soft: clamp(limit.rlim_cur), hard: clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit and returns the limits before and after (equal when nothing changed
    /// or the system refused).
    public static func raiseToHard() -> (before: DescriptorLimit, after: DescriptorLimit)? {
        guard let before = current() else { return nil }
        guard before.soft < before.hard else { return (before, before) }
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (before, before) }
        limit.rlim_cur = limit.rlim_max
        #if canImport(Darwin)
        // Darwin reports an unlimited hard limit but refuses a soft limit above OPEN_MAX.
        limit.rlim_cur = min(limit.rlim_max, rlim_t(OPEN_MAX))
        #endif
        guard setrlimit(resource, &limit) == 0, let after = current() else { return (before, before) }
        return (before, after)
    }

    /// The connection cap for `configured` (`http.max_connections`, nil for auto): auto is
    /// ``automaticConnectionCap``; a number must stay below the limit, or accepting would fail with EMFILE
    /// before the cap is reached and nothing could be closed to make room.
    public func connectionCap(configured: Int?) throws -> Int {
        guard let configured else { return automaticConnectionCap }
        guard configured < soft else {
            throw ConfigurationError(
                "http.max_connections: \(configured) must stay below the file-descriptor limit \(soft) (raise ulimit -n or use auto)"
            )
        }
        return configured
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif

    /// `RLIM_INFINITY` and other huge values as a usable count.
    private static func clamp(_ value: rlim_t) -> Int {
        value >= rlim_t(Int32.max) ? Int(Int32.max) : Int(value)
    }
}
