import Benchmark
import Foundation
import WharfAuth
import WharfCore
import _CryptoExtras

/// The token check on the registry's hot path: signing at the token endpoint, a first RS256 verification, and the
/// cached verification every later request of a push pays.
func tokenBenchmarks() {
    let key = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    let issuer = try! TokenIssuer(privateKeyPEM: key.pemRepresentation, issuer: "wharf", lifetime: .seconds(900), cacheLimit: 1 << 20)
    let access = [AccessScope(.repository(try! RepositoryName("bench/app")), actions: [.pull, .push])]

    let single = Benchmark.Configuration(maxDuration: .seconds(5), maxIterations: 300)
    Benchmark("Token issue (RS256 sign)", configuration: single) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try issuer.issue(subject: "bench", audience: "wharf", access: access))
        }
    }
    Benchmark("Token verify, first time (RS256)", configuration: single) { benchmark in
        // Fresh tokens, so every verification checks a signature.
        let tokens = try (0..<benchmark.scaledIterations.count).map { _ in try issuer.issue(subject: "bench", audience: "wharf", access: access).token
        }
        benchmark.startMeasurement()
        for token in tokens { blackHole(try await issuer.verify(token, audience: "wharf")) }
        benchmark.stopMeasurement()
    }
    Benchmark("Token verify, cached", configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(5), maxIterations: 100)) { benchmark in
        let token = try issuer.issue(subject: "bench", audience: "wharf", access: access).token
        _ = try await issuer.verify(token, audience: "wharf")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await issuer.verify(token, audience: "wharf")) }
        benchmark.stopMeasurement()
    }
}
