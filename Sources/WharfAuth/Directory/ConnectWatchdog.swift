import Foundation
import Synchronization

/// Bounds a connection's set-up (TCP, then the TLS handshake of `ldaps://` or StartTLS) by shutting its socket down
/// when it takes too long.
///
/// libldap 2.5 (Debian 12) never gives up a TLS handshake with a server that accepts the connection and then says
/// nothing: with a network timeout set it spins on the non-blocking socket at full CPU, without one it waits
/// forever; measured with `ldapsearch -H ldaps://… -o nettimeout=1` against a silent listener. The call cannot be
/// cancelled from Swift, so the watchdog makes the socket fail under it: `shutdown(2)` turns the handshake's next
/// read into end of file, and libldap returns a connect error.
///
/// libldap reports the socket through its connect callback (``connected(fd:)``); the connecting thread calls
/// ``finish()`` once set-up returned. Both, and the timer's ``fire()``, take the same lock, so the socket is never
/// shut down after set-up finished (when it may already be closed and its number reused).
final class ConnectWatchdog: Sendable {
    private struct State {
        var fd: Int32 = -1
        var finished = false
        var fired = false
    }

    private let state = Mutex(State())

    /// Starts the timer: after `deadline` the socket is shut down unless ``finish()`` came first.
    init(deadline: Duration) {
        let (seconds, attoseconds) = deadline.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in self?.fire() }
    }

    /// libldap connected the socket `fd` (called on the connecting thread, from its connect callback).
    func connected(fd: Int32) {
        state.withLock { state in
            state.fd = fd
            if state.fired && !state.finished { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Set-up returned; says whether the watchdog had cut it short.
    func finish() -> Bool {
        state.withLock { state in
            state.finished = true
            return state.fired
        }
    }

    private func fire() {
        state.withLock { state in
            guard !state.finished else { return }
            state.fired = true
            if state.fd >= 0 { shutdown(state.fd, Int32(SHUT_RDWR)) }
        }
    }
}
