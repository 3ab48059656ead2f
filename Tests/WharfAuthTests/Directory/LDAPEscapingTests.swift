import Testing

@testable import WharfAuth

@Suite struct LDAPEscapingTests {
    @Test(arguments: [
        ("alice", "alice"),
        ("*", "\\2a"),
        (")(uid=*", "\\29\\28uid=\\2a"),
        ("alice)(uid=*", "alice\\29\\28uid=\\2a"),
        ("*)(|(objectClass=*", "\\2a\\29\\28|\\28objectClass=\\2a"),
        ("\\00", "\\5c00"),
        ("a\u{0}b", "a\\00b"),
        ("back\\slash", "back\\5cslash"),
        ("dan, jr (*)", "dan, jr \\28\\2a\\29"),
        ("émile", "\\c3\\a9mile"),
        ("tab\there", "tab\\09here"),
    ])
    func filterValues(value: String, escaped: String) {
        #expect(LDAPEscaping.filterValue(value) == escaped)
    }

    @Test func filterValuesNeverLeaveAFilterSpecial() {
        for value in ["*", "()", "\\", "\u{0}", ")(uid=*)(|(cn=*", "😀*"] {
            let escaped = LDAPEscaping.filterValue(value)
            #expect(!escaped.contains("*") && !escaped.contains("(") && !escaped.contains(")"), "\(escaped)")
            #expect(escaped.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 }, "\(escaped)")
        }
    }

    @Test(arguments: [
        ("alice", "alice"),
        ("dan, jr", "dan\\, jr"),
        ("a+b", "a\\+b"),
        ("say \"hi\"", "say \\\"hi\\\""),
        ("back\\slash", "back\\\\slash"),
        ("<tag>;", "\\<tag\\>\\;"),
        ("uid=alice", "uid\\=alice"),
        ("alice,ou=people,dc=wharf,dc=test", "alice\\,ou\\=people\\,dc\\=wharf\\,dc\\=test"),
        ("#hash", "\\#hash"),
        ("in#side", "in#side"),
        (" leading", "\\ leading"),
        ("trailing ", "trailing\\ "),
        ("in side", "in side"),
        (" ", "\\ "),
        ("nul\u{0}", "nul\\00"),
        ("émile", "émile"),
        ("", ""),
    ])
    func dnValues(value: String, escaped: String) {
        #expect(LDAPEscaping.dnValue(value) == escaped)
    }
}
