/// What a referrer is to a person, from its artifact type (or media type): a signature, an SBOM, an attestation
/// or another artifact. Names the badge class (`badge--signature`…) and the label the pages show.
enum ReferrerKind: String, Sendable {
    case signature, sbom, attestation, artifact

    init(artifactType: String?, mediaType: String) {
        let type = (artifactType ?? mediaType).lowercased()
        if type.contains("sbom") || type.contains("spdx") || type.contains("cyclonedx") || type.contains("syft") {
            self = .sbom
        } else if type.contains("signature") || type.contains("cosign.artifact.sig") || type.contains("notary") || type.hasSuffix(".sig") {
            self = .signature
        } else if type.contains("attestation") || type.contains("in-toto") || type.contains("cosign.artifact.att") || type.contains("provenance") {
            self = .attestation
        } else {
            self = .artifact
        }
    }

    var label: String {
        switch self {
        case .signature: "Signature"
        case .sbom: "SBOM"
        case .attestation: "Attestation"
        case .artifact: "Artifact"
        }
    }
}
