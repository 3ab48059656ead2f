/// The configuration as it may appear in logs, errors and `dump`: every setting but the bind account's password,
/// which shows as `<redacted>` (or `nil`). Interpolating a configuration, or anything that holds one such as an
/// ``LDAPDirectory``, never prints the secret.
extension LDAPConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        let fields: [(String, String)] = [
            ("urls", "\(urls)"),
            ("encryption", encryption.rawValue),
            ("caFile", caFile ?? "nil"),
            ("insecureSkipVerify", "\(insecureSkipVerify)"),
            ("baseDN", baseDN),
            ("userAttribute", userAttribute),
            ("filter", filter),
            ("bindDN", bindDN ?? "nil"),
            ("bindPassword", bindPassword == nil ? "nil" : "<redacted>"),
            ("adminGroup", adminGroup ?? "nil"),
            ("emailAttribute", emailAttribute),
            ("displayNameAttribute", displayNameAttribute),
            ("connectTimeout", "\(connectTimeout)"),
            ("operationTimeout", "\(operationTimeout)"),
            ("poolSize", "\(poolSize)"),
            ("groupBaseDN", groupBaseDN ?? "nil"),
            ("groupFilter", groupFilter),
            ("memberAttribute", memberAttribute.rawValue),
        ]
        return "LDAPConfiguration(" + fields.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "urls": urls, "encryption": encryption, "caFile": caFile as Any, "insecureSkipVerify": insecureSkipVerify,
                "baseDN": baseDN, "userAttribute": userAttribute, "filter": filter, "bindDN": bindDN as Any,
                "bindPassword": bindPassword == nil ? "nil" : "<redacted>", "adminGroup": adminGroup as Any,
                "emailAttribute": emailAttribute, "displayNameAttribute": displayNameAttribute,
                "connectTimeout": connectTimeout, "operationTimeout": operationTimeout, "poolSize": poolSize,
                "groupBaseDN": groupBaseDN as Any, "groupFilter": groupFilter, "memberAttribute": memberAttribute,
            ],
            displayStyle: .struct
        )
    }
}
