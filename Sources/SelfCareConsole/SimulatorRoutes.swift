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
        var reason: String?
        var text: String
    }

    /// A USSD step. The session is the console session's own (`console-ID`): a new dial replaces it.
    struct USSDBody: Decodable {
        var from: String
        var reason: String?
        var code: String?
        var input: String?
    }

    /// An IVR step. The call is the console session's own (`console-ID`): a new call replaces it.
    struct IVRBody: Decodable {
        var from: String
        var reason: String?
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
                guard body.text.utf8.count <= 1_000 else { return problem(.badRequest, "`text` is over 1000 bytes") }
                let from: String
                switch await simulatedNumber(visit, body.from, body.reason) {
                case .success(let number): from = number
                case .failure(let refusal): return refusal.response
                }
                let before = (try? engine.recordChainHead())?.id ?? 0
                let reply = await channels.sms.handle(
                    InboundSMS(
                        from: from, text: body.text,
                        id: "console-\(visit.session.id)-" + (try LibCrypto.randomBytes(6)).hexString))
                if let refusal = await otherNumbers(visit, from: from, reason: body.reason, after: before) {
                    return refusal.response
                }
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
                let from: String
                switch await simulatedNumber(visit, body.from, body.reason) {
                case .success(let number): from = number
                case .failure(let refusal): return refusal.response
                }
                let code = body.code ?? "*100#"
                guard code.count <= 40, (body.input ?? "").count <= 40 else {
                    return problem(.badRequest, "`code` and `input` are at most 40 characters")
                }
                let before = (try? engine.recordChainHead())?.id ?? 0
                let screen = await channels.ussd.handle(
                    sessionID: "console-" + visit.session.id, caller: from, serviceCode: code, input: body.input,
                    source: visit.address)
                if let refusal = await otherNumbers(visit, from: from, reason: body.reason, after: before) {
                    return refusal.response
                }
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
                let from: String
                switch await simulatedNumber(visit, body.from, body.reason) {
                case .success(let number): from = number
                case .failure(let refusal): return refusal.response
                }
                let digits = body.digits ?? ""
                guard digits.count <= 32, digits.allSatisfy({ "0123456789*#".contains($0) }) else {
                    return problem(.badRequest, "`digits` are keys of a phone: 0-9, * and #")
                }
                let call = "console-" + visit.session.id
                let before = (try? engine.recordChainHead())?.id ?? 0
                let actions =
                    body.start == true
                    ? await channels.ivr.start(callID: call, caller: from, source: visit.address)
                    : await channels.ivr.input(callID: call, digits: digits.isEmpty ? nil : digits)
                if let refusal = await otherNumbers(visit, from: from, reason: body.reason, after: before) {
                    return refusal.response
                }
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
                let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard (1...1_000).contains(text.count), !text.unicodeScalars.contains(where: { $0.value == 0 }) else {
                    return problem(.badRequest, "`text` is 1 to 1000 characters")
                }
                // The prompt's own language: Chinese text in the Mandarin voice, whatever the page's language.
                let chinese = text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
                let voice = chinese ? "cmn" : "en"
                do {
                    let audio = try await console.pool.run { try speech.render(text, voice: voice) }
                    return Response(
                        status: .ok,
                        headers: [.contentType: "audio/wav", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: audio)))
                } catch {
                    console.logger.error("console: espeak-ng failed", metadata: ["error": "\(error)"])
                    return problem(.internalServerError, "the prompt could not be spoken")
                }
            }
        }
    }

    /// The access records of the numbers other than `from` a simulator request reached (a customer may act on
    /// another number: `GS NUMBER PASSWORD`, a recharge), from its channel records written after record `after`.
    /// Each gets its access record; one that is not a test number, reached without a reason, gets it with that said,
    /// and the request's answer is withheld: a refusal naming the number, masked.
    func otherNumbers(_ visit: Visit, from: String, reason: String?, after: Int64) async -> Refusal? {
        var filter = RecordFilter()
        filter.afterID = after
        filter.limit = 50
        let prefix = "console-" + visit.session.id
        let reached = Set(
            ((try? await engine.records(matching: filter)) ?? []).filter {
                ($0.session ?? "").hasPrefix(prefix) && $0.subject != from && normalizeNumber($0.subject) != nil
                    && $0.operation != OperationName.consoleView.rawValue
            }.map(\.subject))
        var withheld: String?
        for number in reached.sorted() {
            let test = console.configuration.simulatorNumbers.contains { $0.number == number }
            let given = Self.reason(reason)
            let why = given ?? (test ? "test number" : "no reason given: reached from \(from) in the simulator")
            if given == nil && !test { withheld = number }
            guard console.simulated.firstUse(session: visit.session.id, number: number, reason: why) else { continue }
            if await engine.recordAccess(
                account: visit.session.account, role: visit.session.role.rawValue, subject: number, view: "simulator",
                reason: why, session: visit.session.id) == nil
            {
                withheld = number
            }
        }
        guard let withheld else { return nil }
        console.logger.warning(
            "console: the simulator reached a number without a reason",
            metadata: ["account": "\(visit.session.account)", "number": "\(maskNumber(withheld))"])
        return Refusal(
            response: problem(
                .forbidden, pages.text("sim_reached_other", visit.language) + " " + maskNumber(withheld)))
    }

    /// A refusal of a simulator request, as its answer.
    struct Refusal: Error {
        let response: Response
    }

    /// The number a simulator request acts as, once its access record is written: a test number (the demo's) needs
    /// no reason, any other one needs the reason the operator gave. Each number gets one access record a console
    /// session and reason, naming the session whose channel records (`console-ID`) follow it.
    func simulatedNumber(_ visit: Visit, _ typed: String, _ reason: String?) async -> Result<String, Refusal> {
        guard let number = normalizeNumber(typed) else {
            return .failure(Refusal(response: problem(.badRequest, "`from` is not a number")))
        }
        let test = console.configuration.simulatorNumbers.contains { $0.number == number }
        guard let why = Self.reason(reason) ?? (test ? "test number" : nil) else {
            return .failure(
                Refusal(
                    response: problem(
                        .badRequest, pages.text("sim_reason_needed", visit.language))))
        }
        guard console.simulated.firstUse(session: visit.session.id, number: number, reason: why) else {
            return .success(number)
        }
        guard
            await engine.recordAccess(
                account: visit.session.account, role: visit.session.role.rawValue, subject: number, view: "simulator",
                reason: why, session: visit.session.id) != nil
        else {
            console.simulated.forget(session: visit.session.id, number: number, reason: why)
            return .failure(
                Refusal(response: problem(.serviceUnavailable, pages.text("access_not_recorded", visit.language))))
        }
        return .success(number)
    }
}
