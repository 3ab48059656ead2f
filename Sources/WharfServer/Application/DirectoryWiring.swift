import Logging
import ServiceLifecycle
import WharfAuth
import WharfDatabase
import WharfStorage

/// With `ldap.enabled`: the directory logins go to (LDAP over libldap), the group sync that runs beside the
/// server, and the check that runs at each sign-in. Settings that cannot work are refused here, with the key to
/// fix; weak ones are logged as warnings.
func makeDirectoryLogins(
    configuration: ServerConfiguration,
    database: DatabasePool,
    secrets: ServerSecrets,
    passwords: PasswordHasher,
    logger: Logger
) throws -> DirectoryLogins? {
    let settings = configuration.ldap
    guard settings.enabled else { return nil }
    try settings.validate()
    for warning in settings.warnings { logger.warning("\(warning)") }
    let directory = LDAPDirectory(configuration: settings.directory, logger: logger)
    let accounts = AccountService(
        pool: database,
        storage: FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync),
        secrets: secrets,
        passwords: passwords,
        reservedNames: [configuration.serviceAccount]
    )
    // Without a group base there are no groups: mirror mode would read that as "every group is gone" and remove
    // every membership sync made before. Sync then only disables accounts whose entry is gone.
    let mirror = settings.mirror && settings.directory.groupBaseDN != nil
    let sync = DirectorySync(
        pool: database,
        directory: directory,
        accounts: accounts,
        settings: DirectorySyncSettings(
            mode: mirror ? .mirror : .addOnly,
            defaultRole: settings.defaultRole,
            interval: settings.syncInterval,
            checkEntries: settings.directory.bindDN != nil
        ),
        logger: logger
    )
    logger.info(
        "LDAP logins on",
        metadata: [
            "url": "\(settings.directory.urls.joined(separator: ","))", "encryption": "\(settings.directory.encryption.rawValue)",
            "base_dn": "\(settings.directory.baseDN)", "bind": "\(settings.directory.bindDN == nil ? "direct" : "search then bind")",
            "group_sync": "\(settings.directory.groupBaseDN == nil ? "off" : (mirror ? "mirror" : "add-only"))",
        ]
    )
    return DirectoryLogins(
        directory: directory,
        accounts: accounts,
        pool: database,
        cacheTTL: settings.cacheTTL,
        checkEntries: settings.directory.bindDN != nil,
        logger: logger,
        sync: sync,
        afterLogin: { user in
            guard let dn = user.ldapDN else { return }
            do {
                try await sync.syncUser(id: user.id, dn: dn)
            } catch {
                // The login stands: its memberships catch up at the next pass.
                logger.notice("group sync at sign-in failed", metadata: ["user": "\(user.name)", "error": "\(error)"])
            }
        }
    )
}

/// Asks the directory once at start-up (so the status page knows, and an unreachable directory is in the log
/// before the first login gets 503), and closes its connections at graceful shutdown.
struct DirectoryLifecycle: Service {
    let directory: any Directory
    let logger: Logger

    func run() async throws {
        do {
            try await directory.probe()
        } catch {
            logger.warning("the LDAP directory does not answer: directory logins get 503 until it does", metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
        await directory.shutdown()
    }
}
