import HTTPTypes

extension PortalError {
    /// The sentence and status of a refusal a person can act on (a 4xx other than "sign in"), for a form that is
    /// shown again with it; anything else (a missing sign-in, a failure of the server) is rethrown for the error page.
    static func refusal(_ error: any Error) throws -> (message: String, status: HTTPResponse.Status) {
        guard let shown = from(error), (400..<500).contains(shown.status.code), shown.status != .unauthorized else { throw error }
        let message = shown.message.prefix(1).uppercased() + shown.message.dropFirst()
        return (message.hasSuffix(".") ? message : message + ".", shown.status)
    }
}
