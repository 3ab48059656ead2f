import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import WharfAuth
import WharfCore
import WharfDatabase
import WharfStorage
import WharfSync

/// The subsystems one Wharf process runs, built from its configuration.
public struct WharfServices: Sendable {
    public let configuration: ServerConfiguration
    public let driver: FilesystemDriver
    public let blobs: BlobStore
    public let manifests: ManifestIndex
    public let purger: UploadPurger
    /// Open upload sessions per account (`uploads.max_open_per_account`), shared by the registry and the purger.
    public let uploadQuota: UploadQuota
    /// Connects lazily: nothing touches the database until the first statement.
    public let database: DatabasePool
    /// Registry events (push, delete, pull, mount) for whoever listens: pull times, webhooks.
    public let events: EventBus
    /// The database's view of storage, written by each push and delete and repaired by ``sync``.
    public let catalog: CatalogMirror
    public let sync: SyncScheduler
    public let pulls: PullRecorder
    /// Who sends webhooks, as their envelope's `source` says.
    public let webhookSource: WebhookEnvelope.Source
    /// What immutable tags refuse, asked on every manifest push by tag and every delete.
    public let immutability: TagImmutability
    /// Retention policies and their runs.
    public let retention: RetentionService
    /// Garbage collection: `gc.schedule`, and the runs the portal and the API start.
    public let gc: GCService

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        database = DatabasePool(location: configuration.databaseLocation, logger: logger)
        driver = FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync)
        events = EventBus(logger: logger)
        let port = (try? configuration.listenAddress().1).map { ":\($0)" } ?? ""
        webhookSource = WebhookEnvelope.Source(addr: ProcessInfo.processInfo.hostName + port)
        catalog = CatalogMirror(pool: database, driver: driver, webhookSource: webhookSource, logger: logger)
        sync = SyncScheduler(mirror: catalog, interval: configuration.syncInterval, logger: logger)
        pulls = PullRecorder(pool: database, bus: events, logger: logger)
        gc = GCService(
            runner: GCRunner(catalog: catalog, events: events, logger: logger),
            schedule: configuration.gcSchedule,
            untagged: configuration.gcUntagged,
            minAge: Double(configuration.gcMinAge.components.seconds),
            logger: logger
        )
        blobs = BlobStore(driver: driver)
        manifests = ManifestIndex(driver: driver)
        immutability = TagImmutability(pool: database, manifests: manifests)
        retention = RetentionService(
            pool: database,
            driver: driver,
            manifests: manifests,
            catalog: catalog,
            events: events,
            immutability: immutability,
            logger: logger
        )
        uploadQuota = UploadQuota(limit: configuration.uploadMaxOpenPerAccount, maxAge: configuration.uploadPurgeAfter)
        purger = UploadPurger(
            blobs: blobs,
            maxAge: configuration.uploadPurgeAfter,
            interval: configuration.uploadPurgeInterval,
            logger: logger,
            quota: uploadQuota
        )
    }
}

/// The router with every surface Wharf serves. Tests call it to exercise routes in-process. Without `tokens`
/// (`auth.enabled: off`) there is no token endpoint and `/v2` is open; with them every request in the `/v2` group
/// passes ``RegistryAuthorization`` first, and `/v2/token` is a route of its own outside the group.
func buildRouter(
    services: WharfServices,
    tokens: TokenService? = nil,
    passwords: PasswordHasher = PasswordHasher(),
    logger: Logger = Logger(label: "wharf")
) throws -> Router<WharfRequestContext> {
    let configuration = services.configuration
    let router = Router(context: WharfRequestContext.self)
    let resolver = ExternalURLResolver(externalURL: configuration.externalURL, trustedProxies: configuration.trustedProxies, tls: configuration.tls)
    router.add(middleware: ExternalURLMiddleware(resolver: resolver))
    router.add(middleware: RegistryFallbackMiddleware<WharfRequestContext>())
    if let tokens { TokenController<WharfRequestContext>(service: tokens, resolver: resolver).addRoutes(to: router) }
    let registry = router.group("v2").add(middleware: RegistryResponseMiddleware<WharfRequestContext>())
    if let tokens { registry.add(middleware: RegistryAuthorization<WharfRequestContext>(service: tokens, resolver: resolver, blobs: services.blobs)) }
    RegistryController<WharfRequestContext>(
        blobs: services.blobs,
        manifests: services.manifests,
        walker: RepositoryWalker(driver: services.driver),
        catalog: services.catalog,
        events: services.events,
        quota: services.uploadQuota,
        maxBlobSize: configuration.uploadMaxBlobSize,
        immutability: services.immutability
    ).addRoutes(to: registry)
    router.get("/health") { _, _ in "ok" }
    if let tokens {
        let secrets = try ServerSecrets.load(dataDirectory: configuration.dataDirectory)
        let domain = makeAPIServices(services: services, tokens: tokens, secrets: secrets, passwords: passwords, logger: logger)
        let portal = configuration.portal
        let browser = BrowserSession(
            sessions: SessionService(pool: services.database, idleTimeout: portal.sessionIdle, lifetime: portal.sessionLifetime),
            csrf: CSRFGuard(key: secrets.csrfKey)
        )
        try makeAPIController(api: domain, tokens: tokens, browser: browser, resolver: resolver, logger: logger).addRoutes(to: router)
        try makePortal(api: domain, browser: browser, resolver: resolver, logger: logger).addRoutes(to: router)
    }
    return router
}

/// The portal's pages, over the same domain services as `/api/v1`.
func makePortal(
    api: APIServices,
    browser: BrowserSession,
    resolver: ExternalURLResolver,
    logger: Logger
) throws -> PortalController<WharfRequestContext> {
    let configuration = api.services.configuration
    let assets: StaticAssets
    do {
        assets = try StaticAssets.load()
    } catch {
        throw ConfigurationError("\(error)")
    }
    let portal = Portal(
        services: api,
        sessions: browser.sessions,
        renderer: try PageRenderer.shipped(),
        assets: assets,
        csrf: browser.csrf,
        settings: PortalSettings(configured: configuration.portal, pool: api.pool),
        resolver: resolver,
        logger: logger
    )
    return PortalController(portal: portal)
}

/// `/api/v1` over the same domain services as the CLI, routed and validated by the shipped OpenAPI document.
func makeAPIController(
    api: APIServices,
    tokens: TokenService,
    browser: BrowserSession,
    resolver: ExternalURLResolver,
    logger: Logger
) throws
    -> APIController<WharfRequestContext>
{
    let document: APIDocument
    do {
        document = try APIDocument.shipped.get()
    } catch {
        throw ConfigurationError("\(error)")
    }
    do {
        return try APIController(
            document: document,
            handlers: api.handlers,
            authenticator: tokens.authenticator,
            browserSession: browser,
            resolver: resolver,
            logger: logger
        )
    } catch {
        throw ConfigurationError("\(error)")
    }
}

/// The domain services behind `/api/v1` and the portal.
func makeAPIServices(services: WharfServices, tokens: TokenService, secrets: ServerSecrets, passwords: PasswordHasher, logger: Logger) -> APIServices
{
    let configuration = services.configuration
    return APIServices(
        accounts: AccountService(
            pool: services.database,
            storage: services.driver,
            secrets: secrets,
            passwords: passwords,
            reservedNames: [configuration.serviceAccount]
        ),
        organizations: OrganizationService(pool: services.database, storage: services.driver),
        tokens: tokens,
        webhooks: WebhookService(
            pool: services.database,
            targets: WebhookTargetGuard(allowedNetworks: configuration.webhookAllowedNetworks),
            timeout: configuration.webhookTimeout,
            source: services.webhookSource
        ),
        scopedTokens: ScopedTokenService(pool: services.database, secrets: secrets, rules: tokens.authorizer.rules),
        reader: CatalogReader(pool: services.database, driver: services.driver, authorizer: tokens.authorizer, logger: logger),
        stars: StarService(pool: services.database, rules: tokens.authorizer.rules),
        comments: CommentService(pool: services.database, rules: tokens.authorizer.rules),
        services: services,
        startedAt: Date()
    )
}

/// Builds the whole application: storage, database, TLS (generating the certificate when missing) and routes.
///
/// Fails with a one-line reason (`ConfigurationError`, `TLSError`, `StorageError`) when it cannot start.
public func buildApplication(configuration: ServerConfiguration, logger: Logger) throws -> some ApplicationProtocol {
    try assembleApplication(configuration: configuration, logger: logger).application
}

/// ``buildApplication(configuration:logger:)`` together with the services behind its routes, so that tests run
/// the very wiring `wharf serve` runs and still reach the database or the token issuer to arrange and check
/// state. `passwords` lets them hash at bcrypt's lowest cost.
func assembleApplication(
    configuration: ServerConfiguration,
    logger: Logger,
    passwords: PasswordHasher = PasswordHasher()
) throws -> AssembledApplication<some ApplicationProtocol> {
    let (host, port) = try configuration.listenAddress()
    try prepareDataDirectory(configuration)
    for warning in DataFolderPermissions.warnings(for: configuration) { logger.warning("\(warning)") }
    let services = WharfServices(configuration: configuration, logger: logger)
    // The key signs tokens too, so the pair is made (or checked) even when TLS is terminated by a proxy.
    let info = try CertificateBootstrap.ensure(
        certsDirectory: configuration.certsDirectory,
        extraHostnames: configuration.externalHostname.map { [$0] } ?? [],
        logger: logger
    )
    logger.info("TLS certificate", metadata: ["subject": "\(info.subject)", "sha256": "\(info.sha256Fingerprint)"])
    let tokens =
        configuration.authEnabled
        ? try makeTokenService(configuration: configuration, database: services.database, passwords: passwords, logger: logger) : nil
    if tokens == nil { logger.warning("auth.enabled is off: /v2 is open to anyone who can reach it") }
    let router = try buildRouter(services: services, tokens: tokens, passwords: passwords, logger: logger)
    let table = try makeConnectionTable(limits: configuration.connectionLimits, logger: logger)
    var tlsConfiguration: TLSConfiguration?
    if configuration.tls {
        var tls = try CertificateBootstrap.serverTLSConfiguration(
            certsDirectory: configuration.certsDirectory,
            alpn: ["h2", "http/1.1"],
            minimumVersion: configuration.tlsMinimumVersion
        )
        // NIOSSL waits 5 s by default for the peer's close_notify; idle keep-alive clients rarely send one,
        // and that wait would hold up every graceful shutdown.
        tls.shutdownTimeout = .milliseconds(500)
        tlsConfiguration = tls
    }
    let server = HTTPServerBuilder.guarded(tlsConfiguration: tlsConfiguration, limits: configuration.connectionLimits, table: table)
    // Until the database answers, every request but /health gets 503 with the reason.
    let gated = DatabaseGate(next: router.buildResponder(), health: services.database.health)
    let database = DatabaseService(pool: services.database, logger: logger)
    var app = Application(
        responder: gated,
        server: server,
        configuration: .init(address: .hostname(host, port: port), serverName: "wharf"),
        logger: logger
    )
    // The sync pass and pull times need the database: they start once it answers (they retry on their own).
    app.addServices(services.purger, database, services.sync, services.pulls, services.gc)
    app.addServices(
        WebhookDispatcher(
            pool: services.database,
            bus: services.events,
            targets: WebhookTargetGuard(allowedNetworks: configuration.webhookAllowedNetworks),
            timeout: configuration.webhookTimeout,
            source: services.webhookSource,
            logger: logger
        )
    )
    if let schedule = configuration.retentionSchedule {
        app.addServices(RetentionScheduler(service: services.retention, interval: schedule, logger: logger))
    }
    if let tokens { app.addServices(tokens.authenticator.recorder) }
    if let directory = tokens?.authenticator.directory {
        if let sync = directory.sync { app.addServices(sync) }
        app.addServices(DirectoryLifecycle(directory: directory.directory, logger: logger))
    }
    app.beforeServerStarts { await database.waitForFirstAttempt() }
    return AssembledApplication(application: app, services: services, tokens: tokens)
}

/// Raises the descriptor limit to the hard limit and sizes the connection table below it (`http.max_connections`).
func makeConnectionTable(limits: ConnectionLimits, logger: Logger) throws -> ConnectionTable {
    let raised = DescriptorLimit.raiseToHard()
    let descriptors = raised?.after ?? DescriptorLimit(soft: 1024, hard: 1024)
    if let raised {
        logger.info(
            "file-descriptor limit",
            metadata: ["soft": "\(raised.after.soft)", "hard": "\(raised.after.hard)", "soft_at_start": "\(raised.before.soft)"]
        )
    } else {
        logger.warning("cannot read the file-descriptor limit; assuming 1024")
    }
    let cap = try descriptors.connectionCap(configured: limits.maxConnections)
    logger.info(
        "connection limits",
        metadata: [
            "max_connections": "\(cap)", "tls_handshake_timeout": "\(limits.handshakeTimeout.components.seconds)s",
            "request_head_timeout": "\(limits.requestHeadTimeout.components.seconds)s",
            "idle_timeout": "\(limits.idleTimeout.components.seconds)s", "body_idle_timeout": "\(limits.bodyIdleTimeout.components.seconds)s",
        ]
    )
    return ConnectionTable(capacity: cap)
}

/// The token endpoint's service: tokens signed with `certs/server.key` (which must exist), application tokens
/// keyed by `DATA/secrets` (created when missing), and the storage folder, asked whether a namespace without a
/// row holds content without an owner.
func makeTokenService(
    configuration: ServerConfiguration,
    database: DatabasePool,
    passwords: PasswordHasher = PasswordHasher(),
    logger: Logger = Logger(label: "wharf.auth")
) throws -> TokenService {
    let keyPath = CertificateBootstrap.keyPath(certsDirectory: configuration.certsDirectory)
    let issuer: TokenIssuer
    do {
        let pem = String(decoding: try CertificateBootstrap.readFile(at: keyPath), as: UTF8.self)
        issuer = try TokenIssuer(privateKeyPEM: pem, issuer: configuration.tokenIssuer, lifetime: configuration.tokenExpiry)
    } catch let error as AuthError {
        throw ConfigurationError("\(keyPath): \(error.message)")
    }
    let secrets = try ServerSecrets.load(dataDirectory: configuration.dataDirectory)
    var serviceAccount: ServiceAccount? = nil
    if let password = configuration.servicePassword {
        do throws(AuthError) {
            serviceAccount = try ServiceAccount(name: configuration.serviceAccount, password: password, hasher: passwords)
        } catch {
            throw ConfigurationError("auth.service_password: \(error.message)")
        }
    }
    let authenticator = Authenticator(
        pool: database,
        passwords: passwords,
        applicationTokens: ApplicationTokenHasher(secret: secrets.applicationTokenKey),
        lockout: LockoutPolicy(
            attempts: configuration.lockoutAttempts,
            window: configuration.lockoutWindow,
            duration: configuration.lockoutDuration
        ),
        failures: FailureLimiter(limit: configuration.failuresPerAddress, window: configuration.failuresWindow),
        serviceAccount: serviceAccount,
        directory: try makeDirectoryLogins(
            configuration: configuration,
            database: database,
            secrets: secrets,
            passwords: passwords,
            logger: logger
        ),
        logger: logger
    )
    // The folder WharfServices serves from; the rules only list namespace folders in it.
    let content = NamespaceContent(driver: FilesystemDriver(root: configuration.registryDirectory, durable: configuration.storageFsync))
    let authorizer = Authorizer(pool: database, rules: PermissionRules(policy: configuration.permissions), content: content, logger: logger)
    return TokenService(authenticator: authenticator, authorizer: authorizer, issuer: issuer, defaultService: configuration.tokenService)
}

/// Creates the data folder (0700: it holds secrets) and the storage root, and proves they are writable before
/// serving anything.
func prepareDataDirectory(_ configuration: ServerConfiguration) throws {
    let fileManager = FileManager.default
    try DataFolderPermissions.createPrivateFolder(configuration.dataDirectory)
    do {
        try fileManager.createDirectory(atPath: configuration.registryDirectory, withIntermediateDirectories: true)
    } catch {
        throw ConfigurationError("data: cannot create \(configuration.registryDirectory)")
    }
    guard fileManager.isWritableFile(atPath: configuration.registryDirectory) else {
        throw ConfigurationError("data: \(configuration.registryDirectory) is not writable")
    }
}
