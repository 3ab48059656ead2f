import Foundation
import Logging
import WharfCore
import WharfDatabase

extension AccountService {
    /// Who the directory's changes to accounts are recorded as in the activities.
    public static let directoryActor = ActivityActor(id: nil, name: "ldap")

    /// The Wharf account of a directory entry that has just authenticated: found by its DN, or created (with its
    /// private personal namespace, in one transaction) the first time. Email and display name follow the entry at
    /// every login; admin status follows the admin group when one is configured (`entry.isAdmin` non-nil: leaving
    /// the group demotes), and otherwise the first account of an installation without any user becomes admin when
    /// `firstMayBeAdmin` (a sign-in in the portal).
    ///
    /// The name is the login sanitised to the namespace grammar (`John.Smith` → `john.smith`); when that name is a
    /// user, a namespace or unowned content already, `-2`, `-3`, … is appended, and the choice is logged.
    ///
    /// The entry's email and display name are taken only in a form the database accepts (a directory may hold a
    /// display name with trailing spaces or an email that is no email): anything else is left out rather than
    /// refusing the person's every login.
    public func linkDirectoryUser(_ entry: DirectoryEntry, firstMayBeAdmin: Bool, logger: Logger) async throws -> User {
        let entry = Self.profile(of: entry)
        do {
            return try await linkOnce(entry, firstMayBeAdmin: firstMayBeAdmin, logger: logger)
        } catch let error as DatabaseError where error.code == .conflict {
            // A concurrent first login won the race (of the same entry, on another replica, or of another entry to
            // the same name): the second attempt finds its account, or the next free name.
            return try await linkOnce(entry, firstMayBeAdmin: firstMayBeAdmin, logger: logger)
        }
    }

    private func linkOnce(_ entry: DirectoryEntry, firstMayBeAdmin: Bool, logger: Logger) async throws -> User {
        if let user = try await updateDirectoryUser(entry) { return user }
        let base = Self.directoryName(entry.login)
        let names = [base] + (2...50).map { "\(String(base.prefix(240)))-\($0)" }
        // Storage is read before the transaction (a transaction never waits on storage): names over unowned
        // content are skipped, so an LDAP user never inherits a deleted user's repositories.
        var free: [String] = []
        for name in names where !reservedNames.contains(name) {
            if try await !content.holdsContent(name) { free.append(name) }
            if free.count == 3 { break }
        }
        let candidates = free
        let user = try await pool.write { transaction -> User? in
            // Another replica (or a concurrent login) may have linked the entry meanwhile.
            if let user = try transaction.users.find(ldapDN: entry.dn) { return user }
            // An account imported from Portus waits for its entry under its LDAP login.
            if var user = try transaction.users.find(ldapDN: PortusMapping.pendingDirectoryLink(login: entry.login)) {
                user.ldapDN = entry.dn
                try transaction.users.update(user)
                try transaction.activities.record(
                    .userUpdate,
                    by: Self.directoryActor,
                    on: .user(user),
                    details: ["ldap_dn": entry.dn, "from": "portus"]
                )
                return user
            }
            guard
                let name = try candidates.first(where: { name in
                    try transaction.users.find(name: name) == nil && transaction.namespaces.find(name: name) == nil
                })
            else { return nil }
            let empty = try transaction.users.count() == 0
            let isAdmin = entry.isAdmin ?? (firstMayBeAdmin && empty)
            let email = try entry.email.flatMap { email in try transaction.users.find(email: email) == nil ? email : nil }
            let user = try transaction.users.create(
                NewUser(name: name, email: email, displayName: entry.displayName, ldapDN: entry.dn, isAdmin: isAdmin)
            )
            try transaction.activities.record(
                .userCreate,
                by: Self.directoryActor,
                on: .user(user),
                details: ["admin": isAdmin, "bot": false, "ldap_dn": entry.dn]
            )
            try transaction.namespaces.create(name: name, kind: .personal, visibility: .private, ownerID: user.id)
            return user
        }
        guard let user else {
            throw AccountError(.userExists, "no free user name for the directory entry \(entry.dn) (tried \(base) and 50 more)")
        }
        if user.name != base {
            logger.notice(
                "an LDAP user got another name: the sanitised login is taken",
                metadata: ["login": "\(entry.login)", "dn": "\(entry.dn)", "wanted": "\(base)", "user": "\(user.name)"]
            )
        } else {
            logger.info("LDAP user created", metadata: ["login": "\(entry.login)", "dn": "\(entry.dn)", "user": "\(user.name)"])
        }
        return user
    }

    /// Brings an existing linked account in line with its entry; nil when no account is linked to it.
    private func updateDirectoryUser(_ entry: DirectoryEntry) async throws -> User? {
        try await pool.write { transaction -> User? in
            guard var user = try transaction.users.find(ldapDN: entry.dn) else { return nil }
            let before = user
            if let isAdmin = entry.isAdmin { user.isAdmin = isAdmin }
            if let displayName = entry.displayName { user.displayName = displayName }
            if let email = entry.email, email != user.email, try transaction.users.find(email: email) == nil { user.email = email }
            guard user != before else { return user }
            try transaction.users.update(user)
            if user.isAdmin != before.isAdmin {
                try transaction.activities.record(user.isAdmin ? .userPromote : .userDemote, by: Self.directoryActor, on: .user(user))
            }
            if user.email != before.email || user.displayName != before.displayName {
                try transaction.activities.record(.userUpdate, by: Self.directoryActor, on: .user(user), details: ["from": "ldap"])
            }
            return user
        }
    }

    /// The entry with its email and display name as Wharf stores them: trimmed, without control characters, the
    /// display name at most 100 characters (as the portal's form allows), the email only when it looks like one
    /// (one `@`, no white space, at most 254 bytes); nil when nothing usable is left.
    static func profile(of entry: DirectoryEntry) -> DirectoryEntry {
        func clean(_ value: String?) -> String? {
            let kept = String(String.UnicodeScalarView((value ?? "").unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }))
            let trimmed = kept.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? nil : trimmed
        }
        var entry = entry
        entry.displayName = clean(entry.displayName).map { String($0.prefix(100)).trimmingCharacters(in: .whitespaces) }
        entry.email = clean(entry.email).flatMap { email in
            email.utf8.count <= 254 && email.split(separator: "@", omittingEmptySubsequences: false).count == 2
                && !email.hasPrefix("@") && !email.hasSuffix("@") && !email.contains(where: \.isWhitespace) ? email : nil
        }
        return entry
    }

    /// A login as a user name: lower case, letters and digits kept, `.` `_` `-` kept between them, anything else a
    /// `-`, at most 200 characters; `user` when nothing is left.
    public static func directoryName(_ login: String) -> String {
        var name = ""
        var separator: Character?
        for character in login.lowercased() {
            if character.isASCII, character.isLetter || character.isNumber {
                if let pending = separator, !name.isEmpty { name.append(pending) }
                separator = nil
                name.append(character)
            } else if separator == nil {
                separator = "._-".contains(character) ? character : "-"
            }
            if name.count >= 200 { break }
        }
        return name.isEmpty || (try? validateName(name)) == nil ? "user" : name
    }
}
