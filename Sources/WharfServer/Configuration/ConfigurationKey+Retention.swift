extension ConfigurationKey {
    /// Keys of retention policies (the policies themselves live in the database: `wharf retention`, the API, the
    /// portal).
    static let retentionKeys: [ConfigurationKey] = [
        .init(
            key: "retention.schedule",
            flag: nil,
            defaultValue: "off",
            summary: "How often `wharf serve` applies every retention policy (`24h`, `6h`); `off`: only `wharf retention run`, "
                + "the API or the portal apply them."
        ) {
            $0.retentionSchedule = $1 == "off" || $1.isEmpty ? nil : try duration($1, "retention.schedule")
        }
    ]
}
