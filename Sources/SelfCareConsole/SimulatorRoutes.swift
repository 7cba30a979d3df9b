import Foundation
import Hummingbird
import SelfCareChannels
import SelfCareCore
import SelfCareCrypto
import SelfCareHTTP

/// The phone simulator: SMS, USSD and IVR through the same channels the gateways use.
extension ConsoleRoutes {
    struct SMSBody: Decodable {
        var from: String
        var text: String
    }

    struct USSDBody: Decodable {
        var from: String
        var session: String
        var code: String?
        var input: String?
    }

    struct IVRBody: Decodable {
        var from: String
        var call: String
        var start: Bool?
        var digits: String?
    }

    struct SpeechBody: Decodable {
        var text: String
        var language: String
    }

    /// One SMS part of a reply, as the simulator shows it.
    struct Part: Encodable {
        var text: String
        var length: Int
    }

    struct SMSAnswer: Encodable {
        var reply: String
        var parts: [Part]
        var encoding: String
        /// Characters a single message of this encoding holds, and a part of a longer one.
        var single: Int
        var partLimit: Int
        var result: String
        var reason: String
        var record: Int64?
    }

    struct USSDAnswer: Encodable {
        var screen: String
        var ends: Bool
        var encoding: String
        var length: Int
        var limit: Int
    }

    struct IVRActionAnswer: Encodable {
        var type: String
        var text: String?
        var maxDigits: Int?
        var noInputTimeout: Int?
        var keys: [String]?
        var queue: String?
    }

    static let simulatorRoles: [ConsoleRole] = [.operator_, .admin]

    func addSimulator(to router: RouterGroup<BasicRequestContext>) {
        router.get("simulator") { request, _ in
            try await page(request, roles: Self.simulatorRoles) { visit in
                let numbers: [[String: Any]] = console.configuration.simulatorNumbers.map {
                    ["number": $0.number, "label": maskNumber($0.number) + " · " + $0.label]
                }
                return pages.render(
                    "simulator", visit, console: console, title: "simulator",
                    [
                        "numbers": numbers, "first_number": console.configuration.simulatorNumbers.first?.number ?? "",
                        "speech": console.speech != nil,
                        "ussd_gsm": channels.ussd.configuration.gsmScreen,
                        "ussd_ucs2": channels.ussd.configuration.ucs2Screen,
                    ])
            }
        }
        router.post("api/sms") { request, _ in
            try await api(request, roles: Self.simulatorRoles, SMSBody.self) { visit, body in
                guard gateway.channels.contains(.sms) else { return problem(.notFound, "the sms channel is off") }
                guard let from = normalizeNumber(body.from) else {
                    return problem(.badRequest, "`from` is not a number")
                }
                guard body.text.utf8.count <= 1_000 else { return problem(.badRequest, "`text` is over 1000 bytes") }
                let reply = await channels.sms.handle(
                    InboundSMS(from: from, text: body.text, id: "console-" + hex(try LibCrypto.randomBytes(8))))
                let gsm = reply.encoding == .gsm7
                return json(
                    SMSAnswer(
                        reply: reply.text,
                        parts: reply.segments.map { Part(text: $0, length: SMSSegmenter.length(of: $0)) },
                        encoding: gsm ? "GSM 7-bit" : "UCS-2", single: gsm ? 160 : 70, partLimit: gsm ? 153 : 67,
                        result: reply.outcome.result.rawValue, reason: reply.outcome.reason.rawValue,
                        record: reply.outcome.record?.id))
            }
        }
        router.post("api/ussd") { request, _ in
            try await api(request, roles: Self.simulatorRoles, USSDBody.self) { visit, body in
                guard gateway.channels.contains(.ussd) else { return problem(.notFound, "the ussd channel is off") }
                guard let from = normalizeNumber(body.from) else {
                    return problem(.badRequest, "`from` is not a number")
                }
                guard Self.isIdentifier(body.session) else { return problem(.badRequest, "`session` is not an id") }
                let code = body.code ?? "*100#"
                guard code.count <= 40, (body.input ?? "").count <= 40 else {
                    return problem(.badRequest, "`code` and `input` are at most 40 characters")
                }
                let screen = await channels.ussd.handle(
                    sessionID: "console-" + body.session, caller: from, serviceCode: code, input: body.input,
                    source: visit.address)
                let gsm = SMSSegmenter.encoding(of: screen.text) == .gsm7
                return json(
                    USSDAnswer(
                        screen: screen.text, ends: screen.ends, encoding: gsm ? "GSM 7-bit" : "UCS-2",
                        length: gsm ? SMSSegmenter.length(of: screen.text) : screen.text.utf16.count,
                        limit: gsm ? channels.ussd.configuration.gsmScreen : channels.ussd.configuration.ucs2Screen))
            }
        }
        router.post("api/ivr") { request, _ in
            try await api(request, roles: Self.simulatorRoles, IVRBody.self) { visit, body in
                guard gateway.channels.contains(.ivr) else { return problem(.notFound, "the ivr channel is off") }
                guard let from = normalizeNumber(body.from) else {
                    return problem(.badRequest, "`from` is not a number")
                }
                guard Self.isIdentifier(body.call) else { return problem(.badRequest, "`call` is not an id") }
                let digits = body.digits ?? ""
                guard digits.count <= 32, digits.allSatisfy({ "0123456789*#".contains($0) }) else {
                    return problem(.badRequest, "`digits` are keys of a phone: 0-9, * and #")
                }
                let call = "console-" + body.call
                let actions =
                    body.start == true
                    ? await channels.ivr.start(callID: call, caller: from, source: visit.address)
                    : await channels.ivr.input(callID: call, digits: digits.isEmpty ? nil : digits)
                return json([
                    "actions": actions.map {
                        IVRActionAnswer(
                            type: $0.kind.rawValue, text: $0.text, maxDigits: $0.maxDigits,
                            noInputTimeout: $0.noInputTimeout, keys: $0.keys, queue: $0.queue)
                    }
                ])
            }
        }
        router.post("api/speech") { request, _ in
            try await api(request, roles: Self.simulatorRoles, SpeechBody.self) { _, body in
                guard let speech = console.speech else {
                    return problem(.notFound, "espeak-ng is not installed on the server")
                }
                guard body.text.count <= 1_000, !body.text.unicodeScalars.contains(where: { $0.value == 0 }) else {
                    return problem(.badRequest, "`text` is at most 1000 characters")
                }
                let voice = body.language.hasPrefix("zh") ? "cmn" : "en"
                do {
                    let audio = try await console.pool.run { try speech.render(body.text, voice: voice) }
                    return Response(
                        status: .ok,
                        headers: [.contentType: "audio/wav", .cacheControl: "private, max-age=3600"],
                        body: .init(byteBuffer: ByteBuffer(bytes: audio)))
                } catch {
                    console.logger.error("console: espeak-ng failed", metadata: ["error": "\(error)"])
                    return problem(.internalServerError, "the prompt could not be spoken")
                }
            }
        }
    }

    /// A session or call id of the simulator: 1 to 40 of `A-Z a-z 0-9 - _`.
    static func isIdentifier(_ text: String) -> Bool {
        (1...40).contains(text.count)
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_")
            }
    }
}
