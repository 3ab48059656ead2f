import Hummingbird

/// The portal's pages on the registry's port: every page route goes through ``PortalSessionMiddleware`` (the
/// session, CSRF, error pages, security headers); static files are served beside them without a session.
struct PortalController<Context: WharfContext>: Sendable {
    let portal: Portal

    func addRoutes(to router: Router<Context>) {
        StaticController<Context>(assets: portal.assets).addRoutes(to: router)
        let session = PortalSessionMiddleware<Context>(portal: portal)
        router.add(middleware: PortalFallbackMiddleware(session: session))
        let pages = router.group().add(middleware: session)
        SignInPages<Context>(portal: portal).addRoutes(to: pages)
        DashboardPage<Context>(portal: portal).addRoutes(to: pages)
        LiveEvents<Context>(portal: portal).addRoutes(to: pages)
        GettingStartedPage<Context>(portal: portal).addRoutes(to: pages)
        ActivityPage<Context>(portal: portal).addRoutes(to: pages)
        WebhookPages<Context>(portal: portal).addRoutes(to: pages)
        AdminPages<Context>(portal: portal).addRoutes(to: pages)
        GCPages<Context>(portal: portal).addRoutes(to: pages)
        MePages<Context>(portal: portal).addRoutes(to: pages)
        TeamPages<Context>(portal: portal).addRoutes(to: pages)
        ExplorePages<Context>(portal: portal).addRoutes(to: pages)
        NamespacePages<Context>(portal: portal).addRoutes(to: pages)
        RetentionPages<Context>(portal: portal).addRoutes(to: pages)
        RepositoryPages<Context>(portal: portal).addRoutes(to: pages)
    }
}
