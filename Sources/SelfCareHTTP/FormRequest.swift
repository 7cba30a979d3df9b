import Foundation
import HTTPTypes
import Hummingbird

/// The fields of a form route (`/sms/kannel`, `/ussd/at`, `/ivr/vxml`): the query string and, for a POST, an
/// `application/x-www-form-urlencoded` body (or, where a route takes one, a `text/plain` body standing for one
/// field), decoded by Hummingbird's `URLEncodedFormDecoder` into the route's `Decodable` type.
///
/// Percent-encoded bytes that are not UTF-8 become U+FFFD (the decoder's own behaviour), so a message in a
/// stray encoding still gets its polite reply. What the decoder cannot read is refused with 400 and a reason
/// that never repeats a value (it may hold password digits) and names a field only when its name is letters: a
/// `%` without two hex digits, a field given twice (also once in the query and once in the body), a field the
/// route reads given as a list (`text[]=…`).
enum FormRequest {
    /// A route handler that decodes the request's fields first: a body over the limit gets 413, a body of
    /// another type 415 and an unreadable form 400, as plain text, before `body` runs.
    /// - Parameter plainText: the field a `text/plain` body stands for; nil when the route takes only forms.
    static func handler<Fields: Decodable & SendableMetatype, Context: RequestContext>(
        _ type: Fields.Type, _ configuration: GatewayConfiguration, plainText: String? = nil,
        _ body: @escaping @Sendable (Fields) async throws -> Response
    ) -> @Sendable (Request, Context) async throws -> Response {
        { request, _ in
            var request = request
            let fields: Fields
            do {
                fields = try await decode(
                    Fields.self, &request, maxBodyBytes: configuration.maxBodyBytes, plainText: plainText)
            } catch let error as HTTPError {
                return Gateway.plain(error.status, "\(error.body ?? "bad request")\n")
            }
            return try await body(fields)
        }
    }

    /// The request's fields as `T`; throws the `HTTPError` that refuses the request.
    static func decode<T: Decodable>(
        _ type: T.Type, _ request: inout Request, maxBodyBytes: Int, plainText: String? = nil
    ) async throws -> T {
        var form = request.uri.query ?? ""
        if request.method == .post {
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maxBodyBytes)
            } catch  where isOverLimit(error) {
                throw HTTPError(.contentTooLarge, message: "the body is over \(maxBodyBytes) bytes")
            } catch {
                // The connection's failure (a body cut off, or framing the decoder could not read, already
                // answered 400 below the router): never acted on, and counted as the client's mistake, not a 500.
                throw HTTPError(.badRequest, message: "the body could not be read")
            }
            let contentType = (request.headers[.contentType] ?? "").lowercased()
            let part: String
            if contentType.isEmpty || contentType.hasPrefix("application/x-www-form-urlencoded") {
                part = String(buffer: body)
            } else if let plainText, contentType.hasPrefix("text/plain") {
                // An empty body is no text, as an empty form is no field.
                part = body.readableBytes == 0 ? "" : plainText + "=" + URLForm.escape(String(buffer: body))
            } else {
                throw HTTPError(
                    .unsupportedMediaType,
                    message: plainText == nil
                        ? "send application/x-www-form-urlencoded"
                        : "send application/x-www-form-urlencoded or text/plain")
            }
            if !part.isEmpty { form += form.isEmpty ? part : "&" + part }
        }
        return try decode(type, form: form)
    }

    /// `form` (x-www-form-urlencoded) as `T`; throws a 400 `HTTPError` with a reason that never repeats a value.
    static func decode<T: Decodable>(_ type: T.Type, form: String) throws -> T {
        do {
            return try URLEncodedFormDecoder().decode(type, from: form)
        } catch let error as URLEncodedFormError {
            throw HTTPError(.badRequest, message: reason(error))
        } catch DecodingError.typeMismatch {
            // The decoder does not say which field: one named with brackets (`text[]`), a list.
            throw HTTPError(
                .badRequest, message: "a field holds a list (its name has brackets); each is a single value")
        } catch let DecodingError.dataCorrupted(context) {
            throw HTTPError(.badRequest, message: "\(field(context.codingPath)) is not a value it can take")
        } catch {
            throw HTTPError(.badRequest, message: "the form could not be read")
        }
    }

    private static func reason(_ error: URLEncodedFormError) -> String {
        switch error.code {
        case .duplicateKeys: "\(field(error.value)) is given twice"
        case .failedToPercentDecode: "the form holds a `%` not followed by two hex digits"
        default: "the form could not be read: a field name holds brackets"
        }
    }

    /// A field's name for a message when it is a short name of ASCII letters, as every field a route reads is;
    /// anything else a client made up (a name of password digits) is not repeated.
    private static func field(_ name: String) -> String {
        (1...32).contains(name.count) && name.allSatisfy({ $0.isASCII && $0.isLetter }) ? "`\(name)`" : "a field"
    }

    private static func field(_ path: [any CodingKey]) -> String {
        path.first.map { field($0.stringValue) } ?? "a field"
    }
}

/// Percent-encoding for query strings and form bodies: the one encoder of the HTTP layer (submit URLs in
/// VoiceXML documents, the records' next-page link) and of tools that build requests.
public enum URLForm {
    /// `a=1&b=x%20y`, every reserved character percent-encoded.
    public static func encode(_ fields: [(String, String)]) -> String {
        fields.map { escape($0) + "=" + escape($1) }.joined(separator: "&")
    }

    /// `text` with everything but letters, digits and `-._~` percent-encoded (as UTF-8).
    public static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
