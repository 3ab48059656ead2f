import WharfCore

extension IPAddressRange {
    /// A comma-separated list of a configuration key; empty means none.
    static func parseList(_ text: String, key: String) throws -> [IPAddressRange] {
        switch parseList(text) {
        case .success(let ranges): return ranges
        case .failure(let failure): throw ConfigurationError("\(key): not an address or CIDR range: \(failure.item)")
        }
    }
}
