import Foundation
import Testing

@testable import WharfServer

/// `uploads.max_open_per_account` and `uploads.max_blob_size`.
@Suite struct UploadLimitConfigurationTests {
    @Test func defaultsAreAHundredSessionsAndNoSizeLimit() throws {
        let configuration = try ConfigurationKey.load(file: nil, environment: [:], flags: [:])
        #expect(configuration.uploadMaxOpenPerAccount == 100)
        #expect(configuration.uploadMaxBlobSize == nil)
    }

    @Test func sizesTakeDecimalAndBinaryUnits() throws {
        let cases: [(String, Int64?)] = [
            ("1048576", 1_048_576),
            ("512MiB", 512 << 20),
            ("10GiB", 10 << 30),
            ("1GB", 1_000_000_000),
            ("3 KiB", 3072),
            ("2kb", 2000),
            ("7B", 7),
            ("1TiB", 1 << 40),
            ("", nil),
            ("0", nil),
        ]
        for (text, expected) in cases {
            #expect(try ConfigurationKey.parseByteSize(text) == expected, "\(text)")
        }
    }

    @Test func badSizesGiveOneLineReasons() {
        for text in ["abc", "1.5GiB", "-1", "10 GiBs", "MiB", "9999999999TiB", "1e9"] {
            #expect(throws: ConfigurationError.self, "\(text)") { try ConfigurationKey.parseByteSize(text) }
        }
        do {
            _ = try ConfigurationKey.load(file: nil, environment: ["WHARF_UPLOADS_MAX_BLOB_SIZE": "lots"], flags: [:])
            Issue.record("accepted max_blob_size lots")
        } catch {
            #expect("\(error)".hasPrefix("uploads.max_blob_size:"))
        }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationKey.load(file: nil, environment: ["WHARF_UPLOADS_MAX_OPEN_PER_ACCOUNT": "-1"], flags: [:])
        }
    }

    @Test func environmentSetsBoth() throws {
        let configuration = try ConfigurationKey.load(
            file: nil,
            environment: ["WHARF_UPLOADS_MAX_OPEN_PER_ACCOUNT": "3", "WHARF_UPLOADS_MAX_BLOB_SIZE": "1MiB"],
            flags: [:]
        )
        #expect(configuration.uploadMaxOpenPerAccount == 3)
        #expect(configuration.uploadMaxBlobSize == 1 << 20)
    }

    @Test func theKeysFollowThePurgeInterval() throws {
        let keys = ConfigurationKey.all.map(\.key)
        let interval = try #require(keys.firstIndex(of: "uploads.purge_interval"))
        #expect(Array(keys[(interval + 1)...].prefix(2)) == ["uploads.max_open_per_account", "uploads.max_blob_size"])
    }
}
