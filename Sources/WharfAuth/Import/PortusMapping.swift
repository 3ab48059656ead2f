import WharfCore

/// How Portus's values become Wharf's: Rails' enum integers, bcrypt hash variants and team names. Pure, so each
/// rule is unit-tested apart from any database.
public enum PortusMapping {
    /// Portus's service account: Portus resets its password at every start and Wharf has its own.
    public static let serviceAccount = "portus"

    /// `team_users.role`: `enum role: [:viewer, :contributor, :owner]` in Portus's `TeamUser`.
    public static func role(_ value: Int) -> TeamRole? {
        switch value {
        case 0: .viewer
        case 1: .contributor
        case 2: .owner
        default: nil
        }
    }

    /// `namespaces.visibility`: `visibility_private` 0, `visibility_protected` 1, `visibility_public` 2.
    public static func visibility(_ value: Int) -> Visibility? {
        switch value {
        case 0: .private
        case 1: .protected
        case 2: .public
        default: nil
        }
    }

    /// The hash to keep for a Portus password: Devise's bcrypt as it is (`$2a$`, `$2b$`); `$2y$` (PHP's name for
    /// the same algorithm) becomes `$2b$`, which Wharf's bcrypt reads. Nil for anything that is not a bcrypt hash
    /// of the standard shape (60 characters, cost 4 to 31), so no account gets a password nothing can match.
    public static func passwordHash(_ encrypted: String) -> String? {
        let bytes = Array(encrypted.utf8)
        guard bytes.count == 60, encrypted.hasPrefix("$2"), bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$") else { return nil }
        guard let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost) else { return nil }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        guard bytes[7...].allSatisfy({ alphabet.contains($0) }) else { return nil }
        switch bytes[2] {
        case UInt8(ascii: "a"), UInt8(ascii: "b"): return encrypted
        case UInt8(ascii: "y"): return "$2b" + encrypted.dropFirst(3)
        default: return nil
        }
    }

    /// A Portus team name as a Wharf team name, which must be a namespace name: lower case, runs of anything but
    /// letters and digits become one `-` (`.` and `_` kept between letters), at most 255 characters. Nil when
    /// nothing is left. Portus allowed names such as `QA Team`; Wharf's teams name namespaces' owners in the
    /// same grammar as users.
    public static func teamName(_ name: String) -> String? {
        var result = ""
        var separator: Character?
        for character in name.lowercased() {
            if character.isASCII, character.isLetter || character.isNumber {
                if let pending = separator, !result.isEmpty { result.append(pending) }
                separator = nil
                result.append(character)
            } else if separator == nil {
                separator = "._".contains(character) ? character : "-"
            } else if separator != "-" {
                separator = "-"
            }
        }
        let trimmed = String(result.prefix(255))
        guard !trimmed.isEmpty, (try? AccountService.validateName(trimmed, what: "team")) != nil else { return nil }
        return trimmed
    }

    /// Portus's activity keys (PublicActivity's `trackable.action`) as Wharf's actions; a key without an
    /// equivalent is kept as `portus.<key>`.
    public static func activityAction(_ key: String) -> String {
        let known: [String: String] = [
            "namespace.create": "namespace.create", "namespace.change_visibility": "namespace.visibility.change",
            "namespace.change_team": "namespace.team.change", "namespace.change_namespace_description": "namespace.description.change",
            "namespace.delete": "namespace.delete", "repository.push": "repository.push", "repository.delete": "repository.delete",
            "team.create": "team.create", "team.add_member": "team.member.add", "team.remove_member": "team.member.remove",
            "team.change_member_role": "team.member.role.change", "team.change_team_name": "team.rename",
            "team.change_team_description": "team.description.change", "team.delete": "team.delete",
            "webhook.create": "webhook.create", "webhook.update": "webhook.update", "webhook.destroy": "webhook.delete",
            "webhook.enabled": "webhook.enable", "webhook.disabled": "webhook.disable", "application_token.created": "token.create",
            "application_token.destroy": "token.revoke", "user.delete": "user.delete",
        ]
        return known[key] ?? "portus." + key
    }

    /// What an LDAP user imported from Portus is linked by until their first LDAP login: Portus kept only the
    /// login (`ldap_name`), not the entry's DN. Not a DN (no `=`), so no directory entry ever has it; the first
    /// login with that login replaces it with the entry's DN (``AccountService/linkDirectoryUser``).
    public static func pendingDirectoryLink(login: String) -> String { pendingDirectoryPrefix + login }

    /// The start of ``pendingDirectoryLink(login:)``.
    public static let pendingDirectoryPrefix = "portus-ldap-login:"
}
