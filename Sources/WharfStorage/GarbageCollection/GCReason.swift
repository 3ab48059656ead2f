/// Why garbage collection keeps a blob or a manifest: the first, strongest, thing found to need it.
public struct GCReason: Sendable, Codable, Equatable {
    /// Strongest first: a blob several things need is reported under the strongest.
    public enum Kind: String, Sendable, Codable, CaseIterable, Comparable {
        /// A tag's current manifest needs it (`repo:tag`).
        case tagged
        /// A child manifest of a kept index needs it (`repo@child, child of repo@index`).
        case child
        /// A referrer (signature, SBOM, attestation) of a kept manifest needs it.
        case referrer
        /// A manifest revision no tag reaches, kept because `--untagged` was not given.
        case untagged
        /// Written more recently than `gc.min_age`: possibly a push in progress.
        case tooYoung = "too_young"

        public static func < (a: Kind, b: Kind) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public var kind: Kind
    /// Who needs it, in words (`team/app:v1`, `team/app@sha256:… (untagged)`).
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }
}
