import HTTPTypes
import Hummingbird
import WharfAuth
import WharfDatabase

/// What every page under `/admin` shares: who may see it, and the layout with the admin tabs.
extension Portal {
    /// The signed-in administrator; anyone else is refused the same way on every admin page.
    @discardableResult
    func requireAdmin(_ context: some WharfContext) throws -> User {
        guard let user = context.portal.user else { throw PortalError.signInRequired }
        guard user.isAdmin else { throw PortalError.forbidden("Only administrators see this page.") }
        return user
    }

    /// An admin page: `template` in the layout, the admin navigation's `section` tab marked as the current one.
    func adminPage(
        _ template: String,
        title: String,
        section: String,
        request: Request,
        context: some WharfContext,
        status: HTTPResponse.Status = .ok,
        values: [String: Any]
    ) async -> Response {
        var values = values
        values["section"] = [section: true]
        return await page(
            template,
            title: title,
            visit: context.portal,
            request: request,
            context: context,
            nav: "admin",
            status: status,
            values: values
        )
    }
}
