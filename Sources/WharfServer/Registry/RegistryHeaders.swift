import HTTPTypes

extension HTTPField.Name {
    static let dockerDistributionAPIVersion = HTTPField.Name("Docker-Distribution-API-Version")!
    static let dockerContentDigest = HTTPField.Name("Docker-Content-Digest")!
    static let dockerUploadUUID = HTTPField.Name("Docker-Upload-UUID")!
    static let ociSubject = HTTPField.Name("OCI-Subject")!
    static let link = HTTPField.Name("Link")!
    static let ociFiltersApplied = HTTPField.Name("OCI-Filters-Applied")!
}
