/// Escaping of the values Wharf puts into LDAP search filters and distinguished names. A login comes from whoever
/// types it: unescaped, `*` would match every entry and `)(uid=*` would rewrite the filter; every value that goes
/// into a filter or a DN passes through here.
public enum LDAPEscaping {
    /// `value` as an assertion value of a search filter (RFC 4515, section 3): `*`, `(`, `)`, `\` and NUL become
    /// `\2a`, `\28`, `\29`, `\5c`, `\00`. Control characters and every byte of a non-ASCII character are escaped
    /// as `\XX` too, which the RFC allows for any octet: the filter stays plain ASCII whatever the value holds.
    public static func filterValue(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0..<0x20, 0x7F...:
                escaped += "\\" + hex(byte)
            default:
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return escaped
    }

    /// `value` as an attribute value in a distinguished name (RFC 4514, section 2.4): `,`, `+`, `"`, `\`, `<`,
    /// `>`, `;` and `=` get a backslash, as do a leading `#` or space and a trailing space; NUL becomes `\00`.
    /// Non-ASCII characters stay as they are (UTF-8, which the RFC allows).
    public static func dnValue(_ value: String) -> String {
        let bytes = Array(value.utf8)
        var escaped: [UInt8] = []
        escaped.reserveCapacity(bytes.count + 8)
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case 0:
                escaped += Array("\\00".utf8)
            case UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "<"),
                UInt8(ascii: ">"), UInt8(ascii: ";"), UInt8(ascii: "="):
                escaped += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "#") where index == 0:
                escaped += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: " ") where index == 0 || index == bytes.count - 1:
                escaped += [UInt8(ascii: "\\"), byte]
            default:
                escaped.append(byte)
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
    }
}
