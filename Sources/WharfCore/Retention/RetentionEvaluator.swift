import Foundation

/// Decides what a policy removes from one repository: a pure function of its tags, its manifests, the policy and
/// the time, so a dry run and a real run agree and tests need no storage.
///
/// What it guarantees:
/// - Cosign-style tags (``CosignTag``) and manifests with a `subject` are never counted as tags or untagged
///   manifests; they are removed exactly when what they describe is removed (recursively: a signature of an SBOM).
/// - A manifest goes when its last tag goes, unless a manifest that stays lists it (an index's platform image).
///   An index that goes takes its children that nothing else keeps.
/// - Protected, excluded and immutable tags, and everything they reach, stay.
/// - The removals come in a safe order: a manifest's referrers and its parents before it, a manifest's tags
///   before it, so a run interrupted half-way never leaves a signature without its subject.
public enum RetentionEvaluator {
    public static func removals(
        repository: String,
        tags: [RetentionTag],
        manifests: [RetentionManifest],
        policy: RetentionPolicy,
        now: Date
    ) throws -> [RetentionRemoval] {
        guard policy.enabled else { return [] }
        let rules = try Rules(policy)
        let manifestsByDigest = Dictionary(manifests.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        let ordered = manifests.sorted { $0.digest < $1.digest }

        var tagsOf: [String: [String]] = [:]
        var digestOfTag: [String: String] = [:]
        var cosignTags: [(name: String, subject: String)] = []
        var policyTags: [RetentionTag] = []
        for tag in tags {
            tagsOf[tag.digest, default: []].append(tag.name)
            digestOfTag[tag.name] = tag.digest
            if let subject = CosignTag.subject(of: tag.name) {
                cosignTags.append((tag.name, subject))
            } else if manifestsByDigest[tag.digest]?.subject == nil {
                policyTags.append(tag)
            }
        }
        var parents: [String: [String]] = [:]
        for manifest in ordered {
            for child in manifest.children { parents[child, default: []].append(manifest.digest) }
        }

        // Tags by the policy's rules.
        var removedTags: [String: String] = [:]
        let candidates = policyTags.filter { rules.isCandidate($0.name) }
            .sorted { ($0.pushedAt, $0.name) > ($1.pushedAt, $1.name) }
        if policy.keepLatest != nil || policy.olderThanDays != nil {
            let cutoff = policy.olderThanDays.map { now.addingTimeInterval(-Double($0) * 86_400) }
            for (rank, tag) in candidates.enumerated() {
                if let keep = policy.keepLatest, rank < keep { continue }
                if let cutoff, tag.pushedAt >= cutoff { continue }
                removedTags[tag.name] = tagReason(policy)
            }
        }

        // Manifests, until nothing more follows.
        var removedManifests: [String: String] = [:]
        let untaggedCutoff = policy.untaggedOlderThanDays.map { now.addingTimeInterval(-Double($0) * 86_400) }
        var changed = true
        while changed {
            changed = false
            for (name, subject) in cosignTags where removedTags[name] == nil && removedManifests[subject] != nil {
                removedTags[name] = "describes \(subject), which is removed"
                changed = true
            }
            for manifest in ordered where removedManifests[manifest.digest] == nil {
                let tagged = tagsOf[manifest.digest] ?? []
                let listedBy = parents[manifest.digest] ?? []
                if listedBy.contains(where: { removedManifests[$0] == nil }) { continue }
                if let subject = manifest.subject {
                    // A referrer goes with its subject, tags and all; it never goes otherwise.
                    guard removedManifests[subject] != nil else { continue }
                    for tag in tagged where removedTags[tag] == nil { removedTags[tag] = "points at a referrer of \(subject), which is removed" }
                    removedManifests[manifest.digest] = "refers to \(subject), which is removed"
                    changed = true
                    continue
                }
                if tagged.contains(where: { removedTags[$0] == nil }) { continue }
                let reason: String
                if let tag = tagged.sorted().first {
                    reason = "its last tag \(tag) is removed"
                } else if let parent = listedBy.first {
                    reason = "listed only by \(parent), which is removed"
                } else if let untaggedCutoff, manifest.storedAt < untaggedCutoff, let days = policy.untaggedOlderThanDays {
                    reason = "untagged for more than \(days) days"
                } else {
                    continue
                }
                removedManifests[manifest.digest] = reason
                changed = true
            }
        }

        // In a safe order: whatever must go before a manifest (its referrers, the manifests of its cosign tags,
        // its parents), then its tags, then the manifest.
        var referrersOf: [String: [String]] = [:]
        for manifest in ordered {
            if let subject = manifest.subject { referrersOf[subject, default: []].append(manifest.digest) }
        }
        for (name, subject) in cosignTags {
            if let digest = digestOfTag[name] { referrersOf[subject, default: []].append(digest) }
        }
        var result: [RetentionRemoval] = []
        var emittedTags: Set<String> = []
        var visited: Set<String> = []
        func emitTag(_ name: String) {
            guard let reason = removedTags[name], !emittedTags.contains(name) else { return }
            emittedTags.insert(name)
            result.append(RetentionRemoval(kind: .tag, repository: repository, tag: name, digest: digestOfTag[name] ?? "", reason: reason))
        }
        func visit(_ digest: String) {
            guard removedManifests[digest] != nil, !visited.contains(digest) else { return }
            visited.insert(digest)
            for before in (referrersOf[digest] ?? []) + (parents[digest] ?? []) { visit(before) }
            for (name, subject) in cosignTags where subject == digest { emitTag(name) }
            for name in (tagsOf[digest] ?? []).sorted() { emitTag(name) }
            result.append(RetentionRemoval(kind: .manifest, repository: repository, digest: digest, reason: removedManifests[digest] ?? ""))
        }
        // Tags whose manifest stays first (they free nothing a later step needs), then the manifests.
        for tag in tags.sorted(by: { $0.name < $1.name }) where removedManifests[tag.digest] == nil {
            emitTag(tag.name)
        }
        for manifest in ordered { visit(manifest.digest) }
        return result
    }

    static func tagReason(_ policy: RetentionPolicy) -> String {
        switch (policy.olderThanDays, policy.keepLatest) {
        case (let days?, let keep?): "older than \(days) days and not among the \(keep) most recent"
        case (let days?, nil): "older than \(days) days"
        case (nil, let keep?): "not among the \(keep) most recent"
        case (nil, nil): "removed by policy"
        }
    }

    /// The policy's patterns, compiled once per evaluation.
    struct Rules {
        let match: RetentionPattern?
        let exclude: RetentionPattern?
        let protected: RetentionPattern?
        let immutable: RetentionPattern?

        init(_ policy: RetentionPolicy) throws {
            let valid = try policy.validated()
            match = try valid.tagMatch.map(RetentionPattern.init)
            exclude = try valid.tagExclude.map(RetentionPattern.init)
            protected = try valid.protected.map(RetentionPattern.init)
            immutable = try valid.immutable.map(RetentionPattern.init)
        }

        /// Whether the policy may remove `tag` at all.
        func isCandidate(_ tag: String) -> Bool {
            if let match, !match.matches(tag) { return false }
            for never in [exclude, protected, immutable] {
                if let never, never.matches(tag) { return false }
            }
            return true
        }
    }
}
