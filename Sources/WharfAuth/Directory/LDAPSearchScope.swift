import CLDAP

/// How deep a search looks below its base.
enum LDAPSearchScope: Sendable {
    /// The base entry only: "does this entry exist (and match the filter)?"
    case base
    /// The base and everything below it.
    case subtree

    var value: Int32 {
        switch self {
        case .base: wharf_ldap_scope_base
        case .subtree: wharf_ldap_scope_subtree
        }
    }
}
