/// One entry of a search result: its DN as the server wrote it and the values of the attributes asked for, keyed
/// by the name the search asked with (so a lookup never depends on the server's spelling of the name).
struct LDAPEntry: Sendable, Equatable {
    var dn: String
    var attributes: [String: [String]]

    /// The first value of `attribute`, nil when the entry has none (or the attribute was not asked for).
    func first(_ attribute: String) -> String? { attributes[attribute]?.first }
}
