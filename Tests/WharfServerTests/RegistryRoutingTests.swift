import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WharfCore
import WharfStorage

@testable import WharfServer

/// `/v2` through the router: the group reaches the registry for every path and method below it, paths are rendered
/// by the route that parses them, and whatever the router itself would answer under `/v2` is OCI JSON.
@Suite struct RegistryRoutingTests {
    static let id = "0b5e8f4a-1c2d-4e3f-8a9b-0c1d2e3f4a5b"

    @Test func everyRoutesPathParsesBackToIt() throws {
        let name = try RepositoryName("team/sub/app")
        let digest = OCIDigest.of(Array("content".utf8))
        let routes: [RegistryRoute] = [
            .base, .catalog, .tags(name), .manifest(name, try Reference("v1.0")), .manifest(name, .digest(digest)),
            .blob(name, digest), .startUpload(name), .upload(name, try UploadID(Self.id)), .referrers(name, digest),
        ]
        for route in routes {
            #expect(try RegistryRoute(path: route.path) == route, "\(route.path)")
        }
        #expect(RegistryRoute.upload(name, try UploadID(Self.id)).path == "/v2/team/sub/app/blobs/uploads/\(Self.id)")
        #expect(RegistryRoute.manifest(name, .digest(digest)).path == "/v2/team/sub/app/manifests/\(digest)")
    }

    @Test func unknownPathsUnderV2AreOCIErrorsAndOthersAreNot() async throws {
        try await withRegistry { client, _ in
            for uri in ["/v2", "/v2/"] {
                let base = try await client.execute(uri: uri, method: .get)
                #expect(base.status == .ok && String(buffer: base.body) == "{}", "\(uri)")
                #expect(base.headers[.dockerDistributionAPIVersion] == "registry/2.0")
            }
            // No token endpoint with auth off: /v2/token names nothing, like any one-component path.
            for uri in ["/v2/token", "/v2/app", "/v2/a/b/c/unknown/x"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .notFound, "\(uri)")
                #expect(errorCode(response) == "NOT_FOUND", "\(uri)")
                #expect(response.headers[.dockerDistributionAPIVersion] == "registry/2.0", "\(uri)")
            }
            let elsewhere = try await client.execute(uri: "/v3/app/tags/list", method: .get)
            #expect(elsewhere.status == .notFound)
            #expect(elsewhere.headers[.dockerDistributionAPIVersion] == nil)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    @Test func methodsNoEndpointTakesAreUnsupported() async throws {
        try await withRegistry { client, _ in
            // PROPFIND is no route's method: the router's not-found becomes the registry's answer too.
            for method in [HTTPRequest.Method.options, .trace, .patch, HTTPRequest.Method("PROPFIND")!] {
                let response = try await client.execute(uri: "/v2/app/manifests/latest", method: method)
                #expect(response.status == .methodNotAllowed, "\(method)")
                #expect(errorCode(response) == "UNSUPPORTED", "\(method)")
                #expect(response.headers[.dockerDistributionAPIVersion] == "registry/2.0")
            }
        }
    }

    @Test func locationsAreTheRoutesPaths() async throws {
        try await withRegistry { client, _ in
            let name = try RepositoryName("team/app")
            let started = try await client.execute(uri: "/v2/team/app/blobs/uploads/", method: .post)
            #expect(started.status == .accepted)
            let location = try #require(started.headers[.location])
            let id = try #require(started.headers[.dockerUploadUUID])
            #expect(location == RegistryRoute.upload(name, try UploadID(id)).path)

            let content = bytes("a blob")
            let finished = try await client.execute(uri: "\(location)?digest=\(digest(content))", method: .put, body: buffer(content))
            #expect(finished.status == .created)
            #expect(finished.headers[.location] == RegistryRoute.blob(name, OCIDigest.of(content)).path)
        }
    }

    @Test func theTokenEndpointTakesOnlyGetAndPost() async throws {
        try await withAuthServer { fixture in
            for method in [HTTPRequest.Method.put, .delete, .patch] {
                let response = try await fixture.client.execute(uri: "/v2/token", method: method)
                #expect(response.status == .methodNotAllowed, "\(method)")
                #expect(response.headers[.allow] == "GET, POST")
                #expect(response.headers[.dockerDistributionAPIVersion] == nil)
            }
            // A repository called token is behind the door like any other.
            let manifest = try await fixture.client.execute(uri: "/v2/token/manifests/latest", method: .get)
            #expect(manifest.status == .unauthorized)
            #expect(manifest.headers[.wwwAuthenticate]?.contains(#"scope="repository:token:pull""#) == true)
            #expect(errorCode(manifest) == "UNAUTHORIZED")
        }
    }
}
