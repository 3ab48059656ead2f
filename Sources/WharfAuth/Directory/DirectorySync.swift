import Foundation
import Logging
import ServiceLifecycle
import WharfDatabase

/// LDAP group → team sync, and access removed when a directory entry is gone (issue 15).
///
/// A pass at start-up (once the database is ready), then every ``DirectorySyncSettings/interval`` until graceful
/// shutdown, and when asked (``syncAll()``); sign-ins sync their own user in between (``syncUser(id:dn:)``).
/// Each pass:
/// 1. gives every team named like a directory group the group's members that have a Wharf account (enabled or
///    not), with the default role; in mirror mode removes the memberships sync made whose user the group no
///    longer lists, and those of teams whose group is gone. Teams are never created, and a membership a person
///    made or changed is never touched, in either mode;
/// 2. disables every enabled directory user whose entry is gone, which ends their portal sessions.
///
/// Every change is recorded as an activity by `ldap-sync`. A directory that cannot be reached stops the pass:
/// nothing is removed or disabled on an error, and the error is in ``status()``.
///
/// The actor owns the bookkeeping only (the last passes' outcome, whether one runs); the work runs in
/// ``DirectorySyncPass``, off the actor. Passes never overlap: each waits for the one before it.
public actor DirectorySync: Service {
    nonisolated let pass: DirectorySyncPass
    public nonisolated let settings: DirectorySyncSettings
    nonisolated let logger: Logger

    private var running: Task<DirectorySyncReport, Never>?
    private var isRunning = false
    private var lastRunAt: Date?
    private var lastSuccessAt: Date?
    private var lastReport: DirectorySyncReport?
    private var passes = 0

    public init(
        pool: DatabasePool,
        directory: any Directory,
        accounts: AccountService,
        settings: DirectorySyncSettings = DirectorySyncSettings(),
        logger: Logger = Logger(label: "wharf.ldap.sync")
    ) {
        self.pass = DirectorySyncPass(pool: pool, directory: directory, accounts: accounts, settings: settings, logger: logger)
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.loop() }
            try? await gracefulShutdown()
            // Stops the pass at its next step (between teams, between users): what it did so far stays.
            group.cancelAll()
        }
    }

    private nonisolated func loop() async {
        // The database is migrated by its own service at start-up; a pass before that would only fail.
        while !pass.pool.health.isReady, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
        while !Task.isCancelled {
            await syncAll()
            try? await Task.sleep(for: settings.interval)
        }
    }

    /// Runs a pass now (after the one running, if any) and returns what it did. Never throws: a directory or
    /// database failure stops the pass, and is the report's and ``status()``'s error.
    @discardableResult
    public func syncAll() async -> DirectorySyncReport {
        let previous = running
        // The task runs on this actor (it inherits the isolation) but the pass itself does not: it is nonisolated.
        let task = Task { [pass] in
            _ = await previous?.value
            self.passStarting()
            let report = await pass.syncAll()
            self.passFinished(report)
            return report
        }
        running = task
        return await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// Brings one user's memberships in line with the groups as they are now: called at each sign-in of a
    /// directory user, so joining or leaving a group counts at once rather than at the next pass. Throws
    /// ``DirectoryUnavailable`` (nothing changed) when the directory cannot list its groups, and database errors;
    /// the caller decides whether that stops the sign-in. Runs outside the actor (it touches no sync state), so
    /// a sign-in never waits for a pass.
    public nonisolated func syncUser(id: Int64, dn: String) async throws {
        let (added, removed) = try await pass.syncUser(id: id, dn: dn)
        if added + removed > 0 {
            logger.info("team memberships synced at sign-in", metadata: ["user_id": "\(id)", "added": "\(added)", "removed": "\(removed)"])
        }
    }

    /// The last passes' outcome, for the admin status page, the API and `wharf ldap check`.
    public func status() -> DirectorySyncStatus {
        DirectorySyncStatus(
            mode: settings.mode,
            isRunning: isRunning,
            lastRunAt: lastRunAt,
            lastSuccessAt: lastSuccessAt,
            lastError: lastReport?.error,
            lastReport: lastReport,
            passes: passes
        )
    }

    private func passStarting() {
        isRunning = true
    }

    private func passFinished(_ report: DirectorySyncReport) {
        isRunning = false
        passes += 1
        lastRunAt = report.finishedAt
        lastReport = report
        let counts: Logger.Metadata = [
            "groups": "\(report.groups)", "teams": "\(report.teamsMatched)", "memberships_added": "\(report.membershipsAdded)",
            "memberships_removed": "\(report.membershipsRemoved)", "users_checked": "\(report.usersChecked)",
            "users_disabled": "\(report.usersDisabled)",
        ]
        if let error = report.error {
            logger.warning("directory sync pass stopped; the next pass tries again", metadata: counts.merging(["error": "\(error)"]) { $1 })
        } else {
            lastSuccessAt = report.finishedAt
            if report.changed {
                logger.notice("directory sync pass changed memberships or accounts", metadata: counts)
            } else {
                logger.debug("directory sync pass found nothing to change", metadata: counts)
            }
        }
    }
}
