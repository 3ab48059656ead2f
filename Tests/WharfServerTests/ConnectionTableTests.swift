import Foundation
import Synchronization
import Testing

@testable import WharfServer

@Suite struct ConnectionTableTests {
    /// Records which connections were asked to close.
    final class Evictions: Sendable {
        let closed = Mutex<[Int]>([])
        func closer(_ number: Int) -> @Sendable () -> Void { { self.closed.withLock { $0.append(number) } } }
        var list: [Int] { closed.withLock { $0 } }
    }

    @Test func atTheCapTheLongestIdleConnectionIsClosed() throws {
        let table = ConnectionTable(capacity: 3)
        let evictions = Evictions()
        var ids: [Int] = []
        for number in 0..<3 {
            let admission = table.admit(evict: evictions.closer(number))
            #expect(admission.victim == nil)
            ids.append(try #require(admission.id))
        }
        // 0 is busy, 1 becomes idle after 2: the longest idle is 2.
        table.markBusy(ids[0])
        table.markBusy(ids[1])
        table.markIdle(ids[1])
        let fourth = table.admit(evict: evictions.closer(3))
        #expect(fourth.id != nil)
        #expect(fourth.shouldWarn)
        fourth.victim?()
        #expect(evictions.list == [2])
        // The victim counts until it is closed; then the next idle one (1) goes, never the busy 0.
        table.remove(ids[2])
        let fifth = table.admit(evict: evictions.closer(4))
        fifth.victim?()
        #expect(evictions.list == [2, 1])
        #expect(!fifth.shouldWarn)
        table.remove(ids[1])
        #expect(table.count == 3)
    }

    @Test func whenEveryConnectionIsBusyTheNewOneIsRefused() throws {
        let table = ConnectionTable(capacity: 2)
        let evictions = Evictions()
        for number in 0..<2 {
            table.markBusy(try #require(table.admit(evict: evictions.closer(number)).id))
        }
        let refused = table.admit(evict: evictions.closer(9))
        #expect(refused.id == nil)
        #expect(refused.victim == nil)
        #expect(table.count == 2)
        #expect(evictions.list.isEmpty)
    }

    @Test func removingAndMarkingUnknownIdsIsHarmless() throws {
        let table = ConnectionTable(capacity: 2)
        let id = try #require(table.admit {}.id)
        table.remove(id)
        table.remove(id)
        table.markIdle(id)
        table.markBusy(id)
        #expect(table.count == 0)
    }

    /// The per-request cost (busy, then idle again) with many connections open: well under a microsecond, against
    /// tens of microseconds for the cheapest request.
    @Test func perRequestBookkeepingIsCheap() throws {
        let table = ConnectionTable(capacity: 20_000)
        var ids: [Int] = []
        for _ in 0..<10_000 { ids.append(try #require(table.admit {}.id)) }
        let rounds = 200_000
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for round in 0..<rounds {
                let id = ids[round % ids.count]
                table.markBusy(id)
                table.markIdle(id)
            }
        }
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        let perRequest = nanoseconds / Double(rounds)
        print("ConnectionTable: \(Int(perRequest)) ns per request (busy + idle) with \(ids.count) connections open")
        // A debug build on a busy 2-core machine: a generous bound that still catches an O(n) walk.
        #expect(perRequest < 20_000)
    }
}
