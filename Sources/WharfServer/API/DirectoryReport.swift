import Foundation
import WharfAuth

/// The LDAP directory's state as administrators read it: in `GET /api/v1/ldap`, on the portal's status page and in
/// `wharf ldap check`. Built from the settings, the directory's last contact and the group sync's last pass.
struct DirectoryReport: Encodable, Sendable {
    struct Sync: Encodable, Sendable {
        var mode: String
        var running: Bool
        var lastRunAt: Date?
        var lastSuccessAt: Date?
        var lastError: String?
        var passes: Int
        var groups: Int
        var teamsMatched: Int
        var membershipsAdded: Int
        var membershipsRemoved: Int
        var usersChecked: Int
        var usersDisabled: Int

        enum CodingKeys: String, CodingKey {
            case mode, running, passes, groups
            case lastRunAt = "last_run_at"
            case lastSuccessAt = "last_success_at"
            case lastError = "last_error"
            case teamsMatched = "teams_matched"
            case membershipsAdded = "memberships_added"
            case membershipsRemoved = "memberships_removed"
            case usersChecked = "users_checked"
            case usersDisabled = "users_disabled"
        }
    }

    var enabled: Bool
    var urls: [String]
    var encryption: String?
    var baseDN: String?
    /// `search` (as `ldap.bind_dn`, then as the entry) or `direct` (as `USER_ATTRIBUTE=LOGIN,BASE_DN`).
    var bind: String?
    /// `off`, `mirror` or `add-only`.
    var groupSync: String?
    var reachable: Bool?
    var url: String?
    var lastError: String?
    var lastErrorAt: Date?
    var sync: Sync?

    enum CodingKeys: String, CodingKey {
        case enabled, urls, encryption, bind, reachable, url, sync
        case baseDN = "base_dn"
        case groupSync = "group_sync"
        case lastError = "last_error"
        case lastErrorAt = "last_error_at"
    }

    static func current(settings: LDAPSettings, logins: DirectoryLogins?) async -> DirectoryReport {
        guard settings.enabled, let logins else {
            return DirectoryReport(enabled: false, urls: [])
        }
        let directory = settings.directory
        let status = await logins.directory.status()
        var report = DirectoryReport(
            enabled: true,
            urls: directory.urls,
            encryption: directory.encryption.rawValue,
            baseDN: directory.baseDN,
            bind: directory.bindDN == nil ? "direct" : "search",
            groupSync: directory.groupBaseDN == nil ? "off" : nil,
            reachable: status.reachable,
            url: status.url,
            lastError: status.lastError,
            lastErrorAt: status.lastErrorAt
        )
        if let sync = logins.sync {
            let state = await sync.status()
            if report.groupSync == nil { report.groupSync = state.mode.rawValue }
            let last = state.lastReport
            report.sync = Sync(
                mode: state.mode.rawValue,
                running: state.isRunning,
                lastRunAt: state.lastRunAt,
                lastSuccessAt: state.lastSuccessAt,
                lastError: state.lastError,
                passes: state.passes,
                groups: last?.groups ?? 0,
                teamsMatched: last?.teamsMatched ?? 0,
                membershipsAdded: last?.membershipsAdded ?? 0,
                membershipsRemoved: last?.membershipsRemoved ?? 0,
                usersChecked: last?.usersChecked ?? 0,
                usersDisabled: last?.usersDisabled ?? 0
            )
        }
        return report
    }
}
