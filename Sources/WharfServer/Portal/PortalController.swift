import Hummingbird

/// The portal's pages on the registry's port: every page route goes through ``PortalSessionMiddleware`` (the
/// session, CSRF, error pages, security headers); static files are served beside them without a session.
struct PortalController<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: Router<Context>) {
        let pages = router.group().add(middleware: PortalSessionMiddleware<Context>(portal: portal))
        SignInPages<Context>(portal: portal).addRoutes(to: pages)
        DashboardPage<Context>(portal: portal).addRoutes(to: pages)
        RepositoryPages<Context>(portal: portal).addRoutes(to: pages)
    }
}
