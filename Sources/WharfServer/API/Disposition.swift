/// What becomes of what a deleted user or team leaves (`refuse`, `delete`, `transfer:TEAM`), as one query
/// parameter the document's pattern checks whole.
enum Disposition: Equatable {
    case refuse
    case delete
    case transfer(String)

    /// Reads a value that passed the document's pattern; absent is `refuse`.
    init(_ text: String?) {
        switch text {
        case "delete": self = .delete
        case let text? where text.hasPrefix("transfer:"): self = .transfer(String(text.dropFirst("transfer:".count)))
        default: self = .refuse
        }
    }
}
