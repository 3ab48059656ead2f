import WharfAuth
import WharfDatabase
import WharfStorage

// How every Wharf process on a data folder builds the domain services (WharfAuth): storage answers what a
// namespace holds, and application tokens are keyed by the folder's `secrets`.

extension AccountService {
    public init(
        pool: DatabasePool,
        storage: any StorageDriver,
        secrets: ServerSecrets,
        passwords: PasswordHasher = PasswordHasher(),
        reservedNames: Set<String> = []
    ) {
        self.init(
            pool: pool,
            content: NamespaceContent(driver: storage),
            passwords: passwords,
            tokens: ApplicationTokenHasher(secret: secrets.applicationTokenKey),
            reservedNames: reservedNames
        )
    }
}

extension OrganizationService {
    public init(pool: DatabasePool, storage: any StorageDriver) {
        self.init(pool: pool, content: NamespaceContent(driver: storage))
    }
}

extension ScopedTokenService {
    /// Scoped tokens are hashed with the folder's application-token key, like application tokens, so the
    /// authenticator finds them by the same keyed hash.
    public init(pool: DatabasePool, secrets: ServerSecrets, rules: PermissionRules = PermissionRules()) {
        self.init(pool: pool, tokens: ApplicationTokenHasher(secret: secrets.applicationTokenKey), rules: rules)
    }
}
