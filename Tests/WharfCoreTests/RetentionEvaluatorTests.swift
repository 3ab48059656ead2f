import Foundation
import Testing
import WharfCore

/// What a policy removes from a repository, and in which order, from tags and manifests alone.
@Suite struct RetentionEvaluatorTests {
    static let now = Date(timeIntervalSince1970: 1_900_000_000)

    static func digest(_ digit: Character) -> String { "sha256:" + hex(64, digit: digit) }
    static func daysAgo(_ days: Double) -> Date { now.addingTimeInterval(-days * 86_400) }

    static func evaluate(_ tags: [RetentionTag], _ manifests: [RetentionManifest], _ policy: RetentionPolicy) throws -> [RetentionRemoval] {
        try RetentionEvaluator.removals(repository: "team/app", tags: tags, manifests: manifests, policy: policy, now: now)
    }

    @Test func olderThanAndKeepLatestCombineAsPortusDoes() throws {
        // Seven tags on seven images, pushed 10, 20, ... 70 days ago; latest and v1.2.3 are protected by default.
        let digits: [Character] = ["1", "2", "3", "4", "5", "6", "7"]
        let names = ["b10", "b20", "b30", "b40", "latest", "v1.2.3", "b70"]
        var tags: [RetentionTag] = []
        var manifests: [RetentionManifest] = []
        for (index, name) in names.enumerated() {
            let age = Double(index + 1) * 10
            tags.append(RetentionTag(name: name, digest: Self.digest(digits[index]), pushedAt: Self.daysAgo(age)))
            manifests.append(RetentionManifest(digest: Self.digest(digits[index]), storedAt: Self.daysAgo(age)))
        }
        let removals = try Self.evaluate(tags, manifests, RetentionPolicy(keepLatest: 2, olderThanDays: 25))
        // Candidates by age: b10, b20 (kept: the 2 most recent), b30, b40, b70 (older than 25 days: removed).
        #expect(removals.filter { $0.kind == .tag }.map(\.tag) == ["b30", "b40", "b70"])
        #expect(removals.filter { $0.kind == .manifest }.map(\.digest) == [Self.digest("3"), Self.digest("4"), Self.digest("7")])
        let b30 = try #require(removals.first { $0.tag == "b30" })
        #expect(b30.reason == "older than 25 days and not among the 2 most recent")
        #expect(removals.first { $0.digest == Self.digest("3") && $0.kind == .manifest }?.reason == "its last tag b30 is removed")
        // Each manifest right after its tag.
        #expect(Array(removals.map { $0.tag ?? $0.digest }.prefix(2)) == ["b30", Self.digest("3")])

        // Keep only: the 2 most recent candidates stay whatever their age.
        #expect(try Self.evaluate(tags, manifests, RetentionPolicy(keepLatest: 2)).compactMap(\.tag) == ["b30", "b40", "b70"])
        // Age only.
        #expect(try Self.evaluate(tags, manifests, RetentionPolicy(olderThanDays: 35)).compactMap(\.tag) == ["b40", "b70"])
        // Neither: nothing; disabled: nothing.
        #expect(try Self.evaluate(tags, manifests, RetentionPolicy()).isEmpty)
        #expect(try Self.evaluate(tags, manifests, RetentionPolicy(enabled: false, keepLatest: 0)).isEmpty)
        // No protection: latest and v1.2.3 are candidates too.
        #expect(
            try Self.evaluate(tags, manifests, RetentionPolicy(olderThanDays: 45, protected: nil)).compactMap(\.tag).sorted() == [
                "b70", "latest", "v1.2.3",
            ]
        )
    }

    @Test func matchExcludeAndImmutablePatternsChooseTheCandidates() throws {
        let tags = ["pr-1", "pr-2-keep", "pr-3", "main", "release-1"].enumerated().map { index, name in
            RetentionTag(name: name, digest: Self.digest(Character(String(index + 1))), pushedAt: Self.daysAgo(100))
        }
        let manifests = tags.map { RetentionManifest(digest: $0.digest, storedAt: $0.pushedAt) }
        let policy = RetentionPolicy(olderThanDays: 30, tagMatch: "^pr-", tagExclude: "-keep$", immutable: "^release-")
        #expect(try Self.evaluate(tags, manifests, policy).compactMap(\.tag) == ["pr-1", "pr-3"])
        let everything = RetentionPolicy(keepLatest: 0, immutable: "^release-")
        #expect(try Self.evaluate(tags, manifests, everything).compactMap(\.tag).sorted() == ["main", "pr-1", "pr-2-keep", "pr-3"])
    }

    @Test func aManifestWithAnotherTagStaysAndOnlyTheTagGoes() throws {
        let shared = Self.digest("a")
        let tags = [
            RetentionTag(name: "old", digest: shared, pushedAt: Self.daysAgo(60)),
            RetentionTag(name: "latest", digest: shared, pushedAt: Self.daysAgo(60)),
        ]
        let removals = try Self.evaluate(tags, [RetentionManifest(digest: shared, storedAt: Self.daysAgo(60))], RetentionPolicy(olderThanDays: 30))
        #expect(removals == [RetentionRemoval(kind: .tag, repository: "team/app", tag: "old", digest: shared, reason: "older than 30 days")])
    }

    @Test func signaturesAndReferrersGoWithTheirSubjectAndAreNeverCounted() throws {
        let image = Self.digest("1")
        let kept = Self.digest("2")
        let signature = Self.digest("3")
        let sbom = Self.digest("4")
        let sbomSignature = Self.digest("5")
        let keptSignature = Self.digest("6")
        let cosign = CosignTag.prefix(for: image) + ".sig"
        let keptCosign = CosignTag.prefix(for: kept) + ".sig"
        let tags = [
            RetentionTag(name: "old", digest: image, pushedAt: Self.daysAgo(60)),
            RetentionTag(name: "new", digest: kept, pushedAt: Self.daysAgo(1)),
            RetentionTag(name: cosign, digest: signature, pushedAt: Self.daysAgo(60)),
            RetentionTag(name: keptCosign, digest: keptSignature, pushedAt: Self.daysAgo(60)),
        ]
        let manifests = [
            RetentionManifest(digest: image, storedAt: Self.daysAgo(60)),
            RetentionManifest(digest: kept, storedAt: Self.daysAgo(1)),
            RetentionManifest(digest: signature, storedAt: Self.daysAgo(60)),
            RetentionManifest(digest: sbom, storedAt: Self.daysAgo(60), subject: image),
            RetentionManifest(digest: sbomSignature, storedAt: Self.daysAgo(60), subject: sbom),
            RetentionManifest(digest: keptSignature, storedAt: Self.daysAgo(60)),
            RetentionManifest(digest: Self.digest("7"), storedAt: Self.daysAgo(60), subject: kept),
        ]
        // keep_latest 1 counts "new" and "old" only: the cosign tags are not tags to the policy; the untagged
        // rule does not see referrers.
        let removals = try Self.evaluate(tags, manifests, RetentionPolicy(keepLatest: 1, untaggedOlderThanDays: 30))
        let order = removals.map { $0.tag ?? $0.digest }
        #expect(Set(order) == [cosign, signature, sbom, sbomSignature, "old", image])
        // Whatever describes a manifest goes before it: never a signature without its subject.
        func position(_ key: String) -> Int { order.firstIndex(of: key) ?? -1 }
        #expect(position(sbomSignature) < position(sbom) && position(sbom) < position(image))
        #expect(position(cosign) < position(signature) && position(signature) < position(image) && position("old") < position(image))
        #expect(removals.first { $0.digest == sbom }?.reason == "refers to \(image), which is removed")
        #expect(removals.first { $0.tag == cosign }?.reason == "describes \(image), which is removed")
    }

    @Test func untaggedManifestsByAgeAndIndexChildrenWithTheirIndex() throws {
        let index = Self.digest("1")
        let amd = Self.digest("2")
        let arm = Self.digest("3")
        let keptIndex = Self.digest("4")
        let keptChild = Self.digest("5")
        let young = Self.digest("6")
        let tags = [RetentionTag(name: "stable", digest: keptIndex, pushedAt: Self.daysAgo(90))]
        let manifests = [
            RetentionManifest(digest: index, storedAt: Self.daysAgo(40), children: [amd, arm]),
            RetentionManifest(digest: amd, storedAt: Self.daysAgo(40)),
            RetentionManifest(digest: arm, storedAt: Self.daysAgo(1)),
            RetentionManifest(digest: keptIndex, storedAt: Self.daysAgo(90), children: [keptChild, amd]),
            RetentionManifest(digest: keptChild, storedAt: Self.daysAgo(90)),
            RetentionManifest(digest: young, storedAt: Self.daysAgo(2)),
        ]
        let removals = try Self.evaluate(tags, manifests, RetentionPolicy(untaggedOlderThanDays: 30))
        // The untagged index goes and takes arm (nothing else lists it, young as it is); amd is listed by the
        // tagged index, keptChild too; young is too young.
        #expect(removals.map(\.digest) == [index, arm])
        #expect(removals[0].reason == "untagged for more than 30 days")
        #expect(removals[1].reason == "listed only by \(index), which is removed")
    }

    @Test func cosignTagNames() {
        let hexDigits = hex(64, digit: "b")
        #expect(CosignTag.subject(of: "sha256-\(hexDigits).sig") == "sha256:\(hexDigits)")
        #expect(CosignTag.subject(of: "sha256-\(hexDigits).att") == "sha256:\(hexDigits)")
        #expect(CosignTag.subject(of: "sha256-\(hexDigits)") == "sha256:\(hexDigits)")
        #expect(CosignTag.subject(of: "sha256-\(hexDigits).") == nil)
        #expect(CosignTag.subject(of: "sha256-\(hexDigits)x") == nil)
        #expect(CosignTag.subject(of: "sha256-\(hex(63, digit: "b")).sig") == nil)
        #expect(CosignTag.subject(of: "sha256-\(hex(64, digit: "B")).sig") == nil)
        #expect(CosignTag.subject(of: "latest") == nil)
    }

    @Test func validationNamesTheFieldAndImmutabilityMatches() throws {
        #expect(throws: RetentionError.self) { try RetentionPolicy(tagMatch: "(").validated() }
        #expect(try RetentionPolicy(immutable: "").validated().immutable == nil)
        let policy = RetentionPolicy(immutable: "^v[0-9]+$")
        #expect(policy.isImmutable("v1") && !policy.isImmutable("v1-rc") && !RetentionPolicy().isImmutable("latest"))
        // The default protection: latest and semver releases, nothing else.
        let protected = try RetentionEvaluator.removals(
            repository: "r",
            tags: ["latest", "1.2.3", "v10.0.1", "1.2", "latest-rc"].enumerated().map {
                RetentionTag(name: $1, digest: Self.digest(Character(String($0 + 1))), pushedAt: Self.daysAgo(10))
            },
            manifests: [],
            policy: RetentionPolicy(keepLatest: 0),
            now: Self.now
        )
        #expect(protected.compactMap(\.tag) == ["1.2", "latest-rc"])
    }
}
