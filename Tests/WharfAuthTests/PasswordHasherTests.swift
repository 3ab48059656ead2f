import Crypto
import NIOPosix
import Testing

@testable import WharfAuth

@Suite struct PasswordHasherTests {
    // Cost 4 keeps the tests fast; the default is 12.
    let hasher = PasswordHasher(cost: 4)

    @Test func hashAndVerify() async throws {
        let hash = try await hasher.hash("correct horse")
        #expect(hash.hasPrefix("$2b$04$"))
        #expect(try await hasher.verify("correct horse", against: hash))
        #expect(try await !hasher.verify("correct horsf", against: hash))
        #expect(try await !hasher.verify("", against: hash))
    }

    @Test func hashesAreSalted() async throws {
        let first = try await hasher.hash("same password")
        let second = try await hasher.hash("same password")
        #expect(first != second)
    }

    @Test func defaultCostIs12() {
        #expect(PasswordHasher().cost == 12)
    }

    @Test(arguments: [("", AuthError.Code.passwordTooShort), ("1234567", .passwordTooShort), ("ééééééé", .passwordTooShort)])
    func tooShort(password: String, code: AuthError.Code) async {
        let error = await #expect(throws: AuthError.self) { try await hasher.hash(password) }
        #expect(error?.code == code)
    }

    @Test func minimumLengthIsInCharacters() async throws {
        _ = try await hasher.hash("12345678")
        _ = try await hasher.hash("éééééééé")
    }

    @Test func tooLongForBcrypt() async throws {
        _ = try await hasher.hash(String(repeating: "a", count: 72))
        let error = await #expect(throws: AuthError.self) { try await hasher.hash(String(repeating: "a", count: 73)) }
        #expect(error?.code == .passwordTooLong)
        // 72 bytes, not 72 characters.
        #expect(throws: AuthError.self) { try PasswordHasher.validate(String(repeating: "é", count: 37)) }
    }

    @Test func nulIsRefused() async throws {
        let error = await #expect(throws: AuthError.self) { try await hasher.hash("password\0suffix") }
        #expect(error?.code == .passwordInvalid)
        // bcrypt's C code would stop at NUL and accept the prefix; the Swift side never lets it.
        let hash = try await hasher.hash("password")
        #expect(try await !hasher.verify("password\0anything", against: hash))
    }

    @Test func unknownAccountNeverMatches() async throws {
        #expect(try await !hasher.verify("anything at all", against: nil))
        #expect(try await !hasher.verify("", against: nil))
    }

    @Test func malformedHashNeverMatches() async throws {
        for hash in ["", "plain", "$2b$04$", "$2b$04$tooshort", "$1$md5$hash"] {
            #expect(try await !hasher.verify("password", against: hash))
        }
    }

    @Test func hashingRunsOnItsOwnPool() async throws {
        // A full pool refuses at once: the hasher must use the pool it was given, not the caller's executor.
        let pool = PasswordCheckPool(numberOfThreads: 1, maximumQueued: 1, maximumQueuedPerClient: 1)
        let hasher = PasswordHasher(cost: 10, pool: pool)
        let refused = await withTaskGroup(of: Bool.self) { group in
            for client in ["a", "b", "c", "d"] {
                group.addTask {
                    do {
                        _ = try await hasher.hash("long enough", client: client)
                        return false
                    } catch {
                        return (error as? AuthError)?.code == .passwordChecksBusy
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        // One runs, one waits, and of four submitted together at least one finds the queue full.
        #expect(refused >= 1)
    }
}

@Suite struct ApplicationTokenHasherTests {
    let hasher = ApplicationTokenHasher(secret: SymmetricKey(data: Array(repeating: UInt8(7), count: 32)))

    @Test func tokenFormat() {
        let token = ApplicationTokenHasher.generate()
        #expect(token.hasPrefix("wharf_"))
        #expect(token.count == 6 + 43)
        #expect(token.dropFirst(6).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        #expect(ApplicationTokenHasher.isWellFormed(token))
    }

    @Test func tokensAreRandom() {
        let tokens = (0..<100).map { _ in ApplicationTokenHasher.generate() }
        #expect(Set(tokens).count == 100)
    }

    @Test func wellFormedness() {
        let token = ApplicationTokenHasher.generate()
        #expect(!ApplicationTokenHasher.isWellFormed(""))
        #expect(!ApplicationTokenHasher.isWellFormed("wharf_"))
        #expect(!ApplicationTokenHasher.isWellFormed(String(token.dropLast())))
        #expect(!ApplicationTokenHasher.isWellFormed(token + "A"))
        #expect(!ApplicationTokenHasher.isWellFormed("portus" + token.dropFirst(5)))
        #expect(!ApplicationTokenHasher.isWellFormed(String(token.dropLast()) + "="))
        #expect(!ApplicationTokenHasher.isWellFormed("correct horse battery staple"))
    }

    @Test func hashIsKeyedAndDeterministic() {
        let token = ApplicationTokenHasher.generate()
        let hash = hasher.hash(token)
        #expect(hash.count == 64)
        #expect(hash.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(hasher.hash(token) == hash)
        #expect(hash != SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined())
        let other = ApplicationTokenHasher(secret: SymmetricKey(data: Array(repeating: UInt8(8), count: 32)))
        #expect(other.hash(token) != hash)
        #expect(hasher.hash(ApplicationTokenHasher.generate()) != hash)
    }

    @Test func knownValue() {
        // HMAC-SHA256 with a key of 32 bytes of 7, computed independently.
        let expected = HMAC<SHA256>.authenticationCode(
            for: Array("wharf_x".utf8),
            using: SymmetricKey(data: Array(repeating: UInt8(7), count: 32))
        ).map { String(format: "%02x", $0) }.joined()
        #expect(hasher.hash("wharf_x") == expected)
    }

    @Test func matching() {
        let token = ApplicationTokenHasher.generate()
        let hash = hasher.hash(token)
        #expect(hasher.matches(token, storedHash: hash))
        #expect(!hasher.matches(ApplicationTokenHasher.generate(), storedHash: hash))
        #expect(!hasher.matches(String(token.dropLast()), storedHash: hash))
        #expect(!hasher.matches(token, storedHash: ""))
        #expect(!hasher.matches(token, storedHash: String(hash.dropLast(2))))
        #expect(!hasher.matches(token, storedHash: hash + "00"))
        #expect(!hasher.matches(token, storedHash: "zz" + hash.dropFirst(2)))
    }
}
