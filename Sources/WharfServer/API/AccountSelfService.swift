import Foundation
import WharfAuth
import WharfCore
import WharfDatabase

/// What a signed-in person does to their own account, with the checks `/api/v1/me` and the portal's `/me` page
/// share: the current password before a new one, and tokens revoked only by their owner.
struct AccountSelfService {
    let api: APIServices
    let caller: APICaller

    /// The current password is checked as a login is (a wrong one counts toward the lockout), so a stolen
    /// session or token alone cannot take the account over. Then every refresh token and browser session of the
    /// user ends (``AccountService/setPassword(name:password:actor:)``).
    func changePassword(current: String, new: String) async throws {
        let name = caller.subject.name
        do {
            let checked = try await api.tokens.authenticator.authenticate(username: name, password: current, client: caller.address)
            guard checked.subject.userID == caller.subject.userID, checked.credential?.hasPrefix("user:") == true else {
                throw APIError(.forbidden, "the current password is wrong")
            }
        } catch let error as AuthError where error.code == .invalidCredentials {
            throw APIError(.forbidden, "the current password is wrong")
        }
        try await api.accounts.setPassword(name: name, password: new, actor: caller.actor)
    }

    /// Revokes one of the caller's application tokens by id; another user's is "not found".
    func revokeToken(id: Int64) async throws {
        let token = try await api.pool.read { transaction in try transaction.tokens.find(id: id) }
        guard let token, token.userID == caller.subject.userID else { throw APIError(.tokenNotFound, "you have no application token \(id)") }
        try await api.accounts.revokeToken(user: caller.subject.name, label: token.application, actor: caller.actor)
    }

    /// Revokes one of the caller's refresh tokens by id.
    func revokeRefreshToken(id: Int64) async throws {
        do {
            try await api.accounts.revokeToken(user: caller.subject.name, label: CredentialID.refreshToken(id).description, actor: caller.actor)
        } catch let error as AccountError where error.code == .unknownToken {
            throw APIError(.tokenNotFound, "you have no refresh token \(id)")
        }
    }
}
