import Foundation
import WharfCore
import WharfDatabase

extension ActivityStore {
    /// Records that `actor` did `action` to `target`, in the caller's transaction (the activity exists exactly when
    /// the change does). `details` become the activity's JSON details, with the actor's address as `addr` when
    /// known.
    func record(_ action: ActivityAction, by actor: ActivityActor, on target: ActivityTarget, details: [String: any Sendable] = [:]) throws {
        var facts = details
        if let address = actor.address { facts["addr"] = address }
        let json = try JSONSerialization.data(withJSONObject: facts, options: [.sortedKeys, .withoutEscapingSlashes])
        try record(
            NewActivity(
                actorID: actor.id,
                actorName: actor.name,
                action: action.rawValue,
                targetKind: target.kind,
                targetID: target.id,
                targetName: target.name,
                namespaceID: target.namespaceID,
                details: String(decoding: json, as: UTF8.self)
            )
        )
    }
}
