/// One page of a listing and where the next one starts.
public struct CatalogPage<Item: Sendable>: Sendable {
    public var items: [Item]
    /// The `after` of the next page, nil on the last one. Opaque to callers (the API wraps it in its own cursor);
    /// a page is read after the key of the last item shown, never at an offset, so items added or removed
    /// between two pages neither repeat nor hide those whose key did not change.
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }
}

extension CatalogPage: Equatable where Item: Equatable {}

/// Page sizes: what a caller asks for, within 1...500 (the API's `page_size` limits).
public enum CatalogPaging {
    public static let defaultSize = 50
    public static let maxSize = 500

    static func clamp(_ limit: Int) -> Int { min(max(limit, 1), maxSize) }

    /// `rows` read with a limit of `limit + 1`, as a page of `limit` and the key of its last item when more follow.
    static func page<Item: Sendable>(_ rows: [Item], limit: Int, key: (Item) -> String) -> CatalogPage<Item> {
        guard rows.count > limit else { return CatalogPage(items: rows, next: nil) }
        let items = Array(rows.prefix(limit))
        return CatalogPage(items: items, next: items.last.map(key))
    }
}
