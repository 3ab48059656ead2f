import CLDAP
import Foundation

/// One connection to one LDAP server: a `LDAP*` with Wharf's options set, connected (and TLS negotiated) when
/// created, unbound when released.
///
/// Every method blocks until the server answers or a timeout passes: ``LDAPPool`` calls them only on its own
/// threads, one borrower at a time (libldap allows a handle to move between threads, not to be used by two at
/// once). Not `Sendable` for that reason; the pool moves it in a ``PooledLDAPConnection``.
final class LDAPConnection {
    /// The server this connection reached.
    let url: String
    /// The DN the connection is bound as (nil: anonymous). The pool takes a connection back only when it is bound
    /// as the pool's identity again, so that one login's bind never lends its rights to the next borrower.
    private(set) var boundDN: String?
    /// Set when a call failed in a way that leaves the connection unusable (server gone, timeout, TLS failure).
    private(set) var isBroken = false

    private var handle: OpaquePointer?
    private let operationTimeout: Duration
    /// libldap's connect callbacks for this handle (they report the socket to the watchdog); freed after unbind.
    private var callbacks: UnsafeMutablePointer<ldap_conncb>?

    /// Process-wide set-up, once: libldap writes to sockets with `write(2)`, so a server that closed the
    /// connection would kill the process with SIGPIPE instead of failing the call with `LDAP_SERVER_DOWN`.
    private static let initializeLibrary: Void = {
        signal(SIGPIPE, SIG_IGN)
        var version = LDAP_VERSION3
        ldap_set_option(nil, LDAP_OPT_PROTOCOL_VERSION, &version)
    }()

    /// Connects to `url` with the options of `configuration`: protocol 3, the connect and operation timeouts, no
    /// referrals, and TLS per `configuration` (its CA file, certificate checked unless `insecureSkipVerify`);
    /// `ldaps://` negotiates TLS while connecting, `encryption: .starttls` right after. Not bound yet.
    init(url: String, configuration: LDAPConfiguration) throws(LDAPError) {
        _ = Self.initializeLibrary
        self.url = url
        operationTimeout = configuration.operationTimeout
        var handle: OpaquePointer?
        let initialized = ldap_initialize(&handle, url)
        guard initialized == LDAP_SUCCESS, let handle else {
            throw LDAPError(.unavailable, resultCode: initialized, "\(url): not a usable LDAP URL (\(String(cString: ldap_err2string(initialized))))")
        }
        self.handle = handle
        let deadline = configuration.connectTimeout * 2 + configuration.operationTimeout
        let watchdog = ConnectWatchdog(deadline: deadline)
        do throws(LDAPError) {
            try setOptions(configuration)
            try watch(with: watchdog)
            let connected = ldap_connect(handle)
            var started = LDAP_SUCCESS
            if connected == LDAP_SUCCESS && configuration.encryption == .starttls { started = ldap_start_tls_s(handle, nil, nil) }
            if watchdog.finish() {
                isBroken = true
                throw LDAPError(.unavailable, resultCode: LDAP_TIMEOUT, "\(url): no connection (and TLS handshake) within \(deadline)")
            }
            guard connected == LDAP_SUCCESS else { throw failure(connected, "connect to \(url)") }
            guard started == LDAP_SUCCESS else { throw failure(started, "StartTLS with \(url)") }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Unbinds and closes the socket; the connection is unusable afterwards.
    func close() {
        if let handle { ldap_unbind_ext_s(handle, nil, nil) }
        handle = nil
        isBroken = true
        if let callbacks {
            if let watchdog = callbacks.pointee.lc_arg { Unmanaged<ConnectWatchdog>.fromOpaque(watchdog).release() }
            callbacks.deallocate()
        }
        callbacks = nil
    }

    /// Registers the connect callback that reports the socket to `watchdog`.
    private func watch(with watchdog: ConnectWatchdog) throws(LDAPError) {
        let callbacks = UnsafeMutablePointer<ldap_conncb>.allocate(capacity: 1)
        callbacks.initialize(
            to: ldap_conncb(
                lc_add: { _, sockbuf, _, _, context in
                    var fd: Int32 = -1
                    if let context, let watchdog = context.pointee.lc_arg,
                        ber_sockbuf_ctrl(sockbuf, LBER_SB_OPT_GET_FD, &fd) == 1
                    {
                        Unmanaged<ConnectWatchdog>.fromOpaque(watchdog).takeUnretainedValue().connected(fd: fd)
                    }
                    return 0
                },
                lc_del: { _, _, _ in },
                lc_arg: Unmanaged.passRetained(watchdog).toOpaque()
            )
        )
        self.callbacks = callbacks
        let result = ldap_set_option(handle, LDAP_OPT_CONNECT_CB, callbacks)
        guard result == LDAP_OPT_SUCCESS else { throw LDAPError(resultCode: result, context: "\(url): cannot set the connect callback") }
    }

    private func setOptions(_ configuration: LDAPConfiguration) throws(LDAPError) {
        var version = LDAP_VERSION3
        try set(LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version")
        var connectTimeout = Self.timeval(configuration.connectTimeout)
        try set(LDAP_OPT_NETWORK_TIMEOUT, &connectTimeout, "network timeout")
        var operationTimeout = Self.timeval(configuration.operationTimeout)
        try set(LDAP_OPT_TIMEOUT, &operationTimeout, "timeout")
        var timeLimit = Int32(clamping: max(1, configuration.operationTimeout.components.seconds))
        try set(LDAP_OPT_TIMELIMIT, &timeLimit, "time limit")
        // LDAP_OPT_OFF is a null pointer: referrals would send the bind (and its password) to another server.
        let referrals = ldap_set_option(handle, LDAP_OPT_REFERRALS, nil)
        guard referrals == LDAP_OPT_SUCCESS else { throw LDAPError(resultCode: referrals, context: "\(url): cannot turn referrals off") }
        guard configuration.encryption != .plain || url.lowercased().hasPrefix("ldaps:") else { return }
        if let caFile = configuration.caFile {
            let result = caFile.withCString { ldap_set_option(handle, LDAP_OPT_X_TLS_CACERTFILE, $0) }
            guard result == LDAP_OPT_SUCCESS else { throw LDAPError(resultCode: result, context: "\(url): cannot use the CA file \(caFile)") }
        }
        var requireCertificate = configuration.insecureSkipVerify ? LDAP_OPT_X_TLS_NEVER : LDAP_OPT_X_TLS_DEMAND
        try set(LDAP_OPT_X_TLS_REQUIRE_CERT, &requireCertificate, "certificate checking")
        // The TLS options above belong to this handle only once it has a TLS context of its own (0: a client one).
        var newContext: Int32 = 0
        try set(LDAP_OPT_X_TLS_NEWCTX, &newContext, "TLS context (CA file \(configuration.caFile ?? "system trust store"))")
    }

    private func set<Value>(_ option: Int32, _ value: inout Value, _ what: String) throws(LDAPError) {
        let result = withUnsafeMutablePointer(to: &value) { ldap_set_option(handle, option, $0) }
        guard result == LDAP_OPT_SUCCESS else {
            throw LDAPError(.unavailable, resultCode: result, "\(url): cannot set the \(what)\(diagnostic().map { ": \($0)" } ?? "")")
        }
    }

    // MARK: Operations

    /// A simple bind as `dn` with `password`; `dn` nil (and an empty password) binds anonymously. Callers refuse
    /// an empty password for a named DN before coming here: LDAP treats that as an unauthenticated bind, which
    /// succeeds without checking anything.
    func bind(dn: String?, password: String) throws(LDAPError) {
        guard let handle else { throw LDAPError(.unavailable, resultCode: LDAP_SERVER_DOWN, "\(url): the connection is closed") }
        var secret = Array(password.utf8).map { CChar(bitPattern: $0) }
        let result = secret.withUnsafeMutableBufferPointer { buffer in
            var credentials = berval(bv_len: ber_len_t(buffer.count), bv_val: buffer.baseAddress)
            // mechanism nil is LDAP_SASL_SIMPLE.
            return ldap_sasl_bind_s(handle, dn, nil, &credentials, nil, nil, nil)
        }
        for index in secret.indices { secret[index] = 0 }
        guard result == LDAP_SUCCESS else {
            // A failed bind leaves the connection anonymous.
            boundDN = nil
            throw failure(result, "bind as \(dn ?? "anonymous") to \(url)")
        }
        boundDN = dn
    }

    /// Searches `base` for entries matching `filter` (already escaped) and reads `attributes` of each (none when
    /// empty). At most `sizeLimit` entries (0: the server's limit); `truncated` says that more matched. Fails with
    /// `.noSuchObject` when `base` does not exist.
    func search(
        base: String,
        scope: LDAPSearchScope,
        filter: String,
        attributes: [String],
        sizeLimit: Int = 0
    ) throws(LDAPError) -> (entries: [LDAPEntry], truncated: Bool) {
        guard let handle else { throw LDAPError(.unavailable, resultCode: LDAP_SERVER_DOWN, "\(url): the connection is closed") }
        // "1.1" asks for no attributes at all (RFC 4511, 4.5.1.8).
        let requested = attributes.isEmpty ? ["1.1"] : attributes
        var names: [UnsafeMutablePointer<CChar>?] = requested.map { strdup($0) } + [nil]
        defer { for name in names { free(name) } }
        var timeout = Self.timeval(operationTimeout)
        var message: OpaquePointer?
        let result = ldap_search_ext_s(
            handle,
            base,
            scope.value,
            filter,
            &names,
            0,
            nil,
            nil,
            &timeout,
            Int32(clamping: sizeLimit),
            &message
        )
        defer { if let message { ldap_msgfree(message) } }
        guard result == LDAP_SUCCESS || result == LDAP_SIZELIMIT_EXCEEDED else {
            throw failure(result, "search of \(base) for \(filter) on \(url)")
        }
        var entries: [LDAPEntry] = []
        var entry = ldap_first_entry(handle, message)
        while let current = entry {
            var dn = ""
            if let raw = ldap_get_dn(handle, current) {
                dn = String(cString: raw)
                ldap_memfree(raw)
            }
            var values: [String: [String]] = [:]
            for name in attributes {
                guard let list = ldap_get_values_len(handle, current, name) else { continue }
                var strings: [String] = []
                var index = 0
                while let value = list[index] {
                    let bytes = UnsafeRawBufferPointer(start: value.pointee.bv_val, count: Int(value.pointee.bv_len))
                    strings.append(String(decoding: bytes, as: UTF8.self))
                    index += 1
                }
                ldap_value_free_len(list)
                values[name] = strings
            }
            entries.append(LDAPEntry(dn: dn, attributes: values))
            entry = ldap_next_entry(handle, current)
        }
        return (entries, result == LDAP_SIZELIMIT_EXCEEDED)
    }

    // MARK: Errors

    /// The error for `result` of `what`; marks the connection broken when the error says so.
    private func failure(_ result: Int32, _ what: String) -> LDAPError {
        let error = LDAPError(resultCode: result, context: what, diagnostic: diagnostic())
        if error.connectionIsBroken { isBroken = true }
        return error
    }

    /// The server's (or libldap's) explanation of the last failure, e.g. the TLS library's reason.
    private func diagnostic() -> String? {
        guard let handle else { return nil }
        var text: UnsafeMutablePointer<CChar>?
        guard ldap_get_option(handle, LDAP_OPT_DIAGNOSTIC_MESSAGE, &text) == LDAP_OPT_SUCCESS, let text else { return nil }
        defer { ldap_memfree(text) }
        return String(cString: text)
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
