import Testing

@testable import WharfAuth

@Suite struct LDAPConfigurationRedactionTests {
    @Test func theBindPasswordIsNeverPrinted() {
        var configuration = LDAPConfiguration()
        configuration.urls = ["ldap://directory.example:389"]
        configuration.bindDN = "cn=reader,dc=example"
        configuration.bindPassword = "s3cret-bind-password"
        let directory = LDAPDirectory(configuration: configuration)
        var dumped = ""
        dump(directory, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), "\(directory)", String(reflecting: directory), dumped] {
            #expect(!text.contains("s3cret-bind-password"), "\(text)")
            #expect(text.contains("cn=reader,dc=example"), "\(text)")
        }
    }
}
