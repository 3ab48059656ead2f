import Testing
import WharfCore

/// Runs `body`, expects it to throw a `ContentError` with `code`, and returns the error for further checks.
@discardableResult
func expectContentError(
    _ code: ContentError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> ContentError? {
    let error = #expect(throws: ContentError.self, sourceLocation: sourceLocation) { try body() }
    #expect(error?.code == code, "got \(error.map(String.init(describing:)) ?? "no error")", sourceLocation: sourceLocation)
    return error
}

/// Hex digits of a given length, for building digests.
func hex(_ count: Int, digit: Character = "a") -> String {
    String(repeating: digit, count: count)
}
