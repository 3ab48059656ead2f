import Foundation
import Synchronization

@testable import WharfAuth

/// A directory whose groups and entries a test sets, for unit tests of the code around the directory (the real
/// one is tested against slapd in the e2e tests). It can be made unreachable, wholly or for entry lookups only,
/// and it notes whether two group listings ever overlapped.
final class FakeDirectory: Directory {
    enum Reachability: Sendable {
        case up
        case down
        /// Groups are listed, entry lookups fail: a directory that goes down in the middle of a pass.
        case entriesDown
    }

    private struct State {
        var groups: [DirectoryGroup] = []
        /// Lower-cased DNs of the entries that exist.
        var entries: Set<String> = []
        var reachability = Reachability.up
        var listingsInFlight = 0
        var mostListingsInFlight = 0
        var listings = 0
    }

    private let state = Mutex(State())

    /// The group `name` (created when missing) lists exactly `members`.
    func setGroup(_ name: String, members: [String]) {
        state.withLock { state in
            let group = DirectoryGroup(name: name, dn: "cn=\(name),ou=Groups,dc=wharf,dc=test", memberDNs: members)
            if let index = state.groups.firstIndex(where: { $0.name == name }) {
                state.groups[index] = group
            } else {
                state.groups.append(group)
            }
        }
    }

    func removeGroup(_ name: String) { state.withLock { $0.groups.removeAll { $0.name == name } } }
    func addEntry(_ dn: String) { _ = state.withLock { $0.entries.insert(dn.lowercased()) } }
    func removeEntry(_ dn: String) { _ = state.withLock { $0.entries.remove(dn.lowercased()) } }
    func set(_ reachability: Reachability) { state.withLock { $0.reachability = reachability } }
    var mostListingsInFlight: Int { state.withLock { $0.mostListingsInFlight } }
    var listings: Int { state.withLock { $0.listings } }

    func authenticate(login: String, password: String) async throws -> DirectoryLogin {
        .refused(reason: "the fake directory checks no passwords")
    }

    func entry(dn: String) async throws -> DirectoryEntry? {
        try state.withLock { state throws(DirectoryUnavailable) in
            guard state.reachability == .up else { throw DirectoryUnavailable("ldap://fake: connection refused") }
            guard state.entries.contains(dn.lowercased()) else { return nil }
            return DirectoryEntry(dn: dn, login: String(dn.prefix { $0 != "," }.dropFirst(4)))
        }
    }

    func groups() async throws -> [DirectoryGroup] {
        try state.withLock { state throws(DirectoryUnavailable) in
            guard state.reachability != .down else { throw DirectoryUnavailable("ldap://fake: connection refused") }
            state.listings += 1
            state.listingsInFlight += 1
            state.mostListingsInFlight = max(state.mostListingsInFlight, state.listingsInFlight)
        }
        // A listing takes a moment, as a search does, so that a second pass started meanwhile would overlap it.
        try? await Task.sleep(for: .milliseconds(20))
        return state.withLock { state in
            state.listingsInFlight -= 1
            return state.groups
        }
    }

    func status() async -> DirectoryStatus {
        DirectoryStatus(reachable: state.withLock { $0.reachability == .up }, url: "ldap://fake")
    }
}
