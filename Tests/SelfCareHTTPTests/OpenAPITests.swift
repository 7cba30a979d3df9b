import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SelfCareHTTP
import SelfCareTesting
import Testing

@Suite("The OpenAPI document")
struct OpenAPITests {
    static let file = Fixtures.repositoryRoot.appendingPathComponent("docs/openapi.yaml")

    /// The document served is docs/openapi.yaml, byte for byte. `SELFCARE_UPDATE_DOCS=1` writes the file's text
    /// into Sources/SelfCareHTTP/OpenAPIDocument.swift instead.
    @Test func theServedDocumentIsDocsOpenAPIYaml() async throws {
        let text = try String(contentsOf: Self.file, encoding: .utf8)
        if ProcessInfo.processInfo.environment["SELFCARE_UPDATE_DOCS"] == "1" {
            // Written as swift-format lays a multi-line string out: indented under its declaration.
            let indent = "        "
            let body = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : indent + $0 }.joined(separator: "\n")
            let swift = """
                // Generated from docs/openapi.yaml: edit that file, then `SELFCARE_UPDATE_DOCS=1 swift test --filter OpenAPI`
                // writes it here (a test fails while the two differ).

                extension Gateway {
                    /// The OpenAPI 3.1 document of the JSON routes, served at `GET /openapi.yaml` (docs/openapi.yaml).
                    public static let openAPIDocument = #\"\"\"
                \(body)
                \(indent)\"\"\"#
                }

                """
            try swift.write(
                to: Fixtures.repositoryRoot.appendingPathComponent("Sources/SelfCareHTTP/OpenAPIDocument.swift"),
                atomically: true, encoding: .utf8)
            return
        }
        #expect(Gateway.openAPIDocument == text, "run SELFCARE_UPDATE_DOCS=1 swift test --filter OpenAPI")
        let (app, _) = try await gateway()
        try await app.test(.router) { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/yaml; charset=utf-8")
                #expect(String(buffer: response.body) == text)
            }
        }
    }

    /// A value the document does not list is refused, not silently replaced by the default.
    @Test func anUnknownRecordsFormatIs400() async throws {
        let (app, _) = try await gateway(adminToken: "t")
        try await app.test(.router) { client in
            for format in ["xml", "JSONL", ""] {
                try await client.execute(
                    uri: "/v1/records?format=\(format)", method: .get, headers: [.authorization: "Bearer t"]
                ) { response in
                    #expect(response.status == .badRequest, "format=\(format)")
                    #expect(String(buffer: response.body).contains("`format` is jsonl or csv"))
                }
            }
            for format in ["jsonl", "csv"] {
                try await client.execute(
                    uri: "/v1/records?format=\(format)", method: .get, headers: [.authorization: "Bearer t"]
                ) { response in #expect(response.status == .ok, "format=\(format)") }
            }
        }
    }
}
