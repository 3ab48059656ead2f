import ArgumentParser
import Foundation
import WharfServer

/// A time given on the command line: a duration from now (`90s`, `15m`, `12h`, `30d`), a day (`2027-01-31`, at
/// midnight UTC) or an ISO 8601 time (`2027-01-31T12:00:00Z`, fractions of a second and offsets allowed, as the
/// JSON output of `wharf activity list` prints them). A duration counts forward for an expiry and back for the
/// start or end of a listing.
enum TimeArgument {
    enum Direction {
        case ahead
        case back
    }

    static func parse(_ text: String, option: String, durations direction: Direction, now: Date = Date()) throws -> Date {
        if let duration = try? ConfigurationKey.parseDuration(text) {
            let seconds = Double(duration.components.seconds)
            return now.addingTimeInterval(direction == .ahead ? seconds : -seconds)
        }
        if let time = try? Date(text, strategy: .iso8601) { return time }
        if let time = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return time }
        if let day = try? Date(text + "T00:00:00Z", strategy: .iso8601) { return day }
        throw ValidationError("\(option): expected a duration like 30d or a date like 2027-01-31, got \(text)")
    }
}
