import Testing
import WharfCore

/// Runs `body`, expects it to throw a `RegistryError` with `code`, and returns the error for further checks.
@discardableResult
func expectRegistryError(
    _ code: RegistryError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> RegistryError? {
    let error = #expect(throws: RegistryError.self, sourceLocation: sourceLocation) { try body() }
    #expect(error?.code == code, "got \(error.map(String.init(describing:)) ?? "no error")", sourceLocation: sourceLocation)
    return error
}

/// Hex digits of a given length, for building digests.
func hex(_ count: Int, digit: Character = "a") -> String {
    String(repeating: digit, count: count)
}
