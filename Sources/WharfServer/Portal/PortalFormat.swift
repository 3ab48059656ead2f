import Foundation

/// How pages write numbers, times and names, in one place so every page says them the same way.
enum PortalFormat {
    /// `1.4 MB`, `512 B` (SI units, as registries and `docker images` show sizes).
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        return String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    /// `3 minutes ago`, `yesterday`, or the date for anything older than a month.
    static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 0 { return "just now" }
        if seconds < 45 { return "just now" }
        if seconds < 90 { return "a minute ago" }
        if seconds < 3600 { return "\(seconds / 60) minutes ago" }
        if seconds < 5400 { return "an hour ago" }
        if seconds < 86400 { return "\(seconds / 3600) hours ago" }
        if seconds < 172_800 { return "yesterday" }
        if seconds < 30 * 86400 { return "\(seconds / 86400) days ago" }
        return day(date)
    }

    /// `in 5 minutes`, `in 3 hours`, `in 2 days`: when something scheduled happens next.
    static func relativeFuture(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(date.timeIntervalSince(now))
        if seconds < 60 { return "in less than a minute" }
        if seconds < 7200 { return "in \(seconds / 60) minutes" }
        if seconds < 172_800 { return "in \(seconds / 3600) hours" }
        return "in \(seconds / 86400) days"
    }

    /// `2026-11-30` (UTC).
    static func day(_ date: Date) -> String { String(iso(date).prefix(10)) }

    /// The machine-readable time for `<time datetime>`.
    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    /// `sha256:3f1c…9a2b` → `3f1c9a2b0c1d` (12 hex digits, as `docker images` shows ids).
    static func shortDigest(_ digest: String) -> String {
        let hex = digest.split(separator: ":", maxSplits: 1).last.map(String.init) ?? digest
        return String(hex.prefix(12))
    }

    /// The portal's URL of a namespace.
    static func namespaceURL(_ name: String) -> String { "/n/" + Portal.segment(name) }

    /// The portal's URL of a repository (its name's components escaped one by one).
    static func repositoryURL(_ name: String) -> String {
        "/r/" + name.split(separator: "/", omittingEmptySubsequences: false).map { Portal.segment(String($0)) }.joined(separator: "/")
    }

    static func tagURL(repository: String, tag: String) -> String { repositoryURL(repository) + "/-/tags/" + Portal.segment(tag) }

    static func manifestURL(repository: String, digest: String) -> String { repositoryURL(repository) + "/-/manifests/" + Portal.segment(digest) }

    static func teamURL(_ name: String) -> String { "/teams/" + Portal.segment(name) }
}
