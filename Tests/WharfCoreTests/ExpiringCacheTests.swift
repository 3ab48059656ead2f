import Testing

@testable import WharfCore

@Suite struct ExpiringCacheTests {
    @Test func anEntryLivesForItsLifetimeOnly() {
        let living = ExpiringCache<String, Int>(lifetime: .seconds(3600))
        living.set(1, for: "a")
        #expect(living.value(for: "a") == 1)
        #expect(living.value(for: "b") == nil)
        // A lifetime of zero has passed as soon as the entry is written.
        let dead = ExpiringCache<String, Int>(lifetime: .zero)
        dead.set(1, for: "a")
        #expect(dead.value(for: "a") == nil)
        #expect(dead.count == 0)
    }

    @Test func theClockMovesForwardInNanoseconds() {
        let first = ExpiringCache<String, Int>.ticks()
        var later = first
        // The coarse clock ticks every few milliseconds; wait (busily, bounded) until it has moved.
        for _ in 0..<100_000_000 where later == first { later = ExpiringCache<String, Int>.ticks() }
        #expect(later > first)
        #expect(later - first < 60_000_000_000)
    }

    @Test func aFullCacheDropsExpiredEntriesThenEverything() {
        let cache = ExpiringCache<Int, Int>(lifetime: .seconds(3600), limit: 3)
        for key in 0..<3 { cache.set(key, for: key) }
        #expect(cache.count == 3)
        cache.set(3, for: 3)
        #expect(cache.count == 1)
        #expect(cache.value(for: 3) == 3)
        // Replacing a key already held never empties the map.
        cache.set(4, for: 3)
        #expect(cache.value(for: 3) == 4)
    }

    @Test func hugeLifetimesDoNotOverflow() {
        let cache = ExpiringCache<String, Int>(lifetime: .seconds(Int64.max))
        cache.set(1, for: "a")
        #expect(cache.value(for: "a") == 1)
    }
}
