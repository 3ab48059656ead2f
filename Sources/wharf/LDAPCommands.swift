import ArgumentParser
import Foundation
import Logging
import WharfAuth
import WharfServer

struct LDAPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ldap",
        abstract: "Check the LDAP directory settings.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect, bind and search with the ldap.* settings, and print what Wharf would do with a login.",
            discussion: """
                Prints the servers, whether they answer, the groups group sync sees and the teams they map to; with --user, \
                the entry of that login, whether it is an admin, its groups and the Wharf account it maps to. With \
                --password-stdin the password is checked by a bind too. Changes nothing. Exits 1 with a one-line reason \
                when the directory does not answer, the settings cannot work or the login is not found.
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(name: .long, help: "A login to look up (the value of ldap.user_attribute).")
        var user: String?

        @Flag(name: .long, help: "Read the login's password from the first line of standard input and check it with a bind.")
        var passwordStdin = false

        func run() async throws {
            try await failing {
                let configuration = try options.load()
                var logger = Logger(label: "wharf")
                logger.logLevel = .error
                var password: String?
                if passwordStdin {
                    guard user != nil else { throw ValidationError("--password-stdin needs --user") }
                    password = try PasswordOptions.readStandardInput()
                }
                do {
                    for line in try await DirectoryCheck(configuration: configuration, logger: logger).run(login: user, password: password) {
                        print(line)
                    }
                } catch let failure as DirectoryCheckFailure {
                    for line in failure.lines { print(line) }
                    throw failure
                }
            }
        }
    }
}
