import Foundation
import SelfCareChannels
import SelfCareCore
import SelfCareGrammar

/// The shipped SMS grammar, compiled once.
let smsGrammar: CompiledGrammar = {
    let path = ProcessInfo.processInfo.environment["SELFCARE_FUZZ_GRAMMAR"] ?? "grammars/sms.grammar"
    let text = try! String(contentsOfFile: path, encoding: .utf8)
    return try! CompiledGrammar(text: text, path: path)
}()

/// SMS normalisation, matching, masking and segmenting on arbitrary texts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let normalized = TextNormalizer.normalize(text)
    _ = TextNormalizer.normalizedString(text)
    if let match = smsGrammar.match(text) {
        precondition(!match.operation.isEmpty)
    }
    _ = smsGrammar.match(normalized: normalized)
    let masked = maskDigitGroups(text) { digits, _ in digits.count >= 4 }
    precondition(masked.count == text.count, "masking keeps the length in characters")
    let segments = SMSSegmenter(partCap: 5).segments(text)
    precondition(segments.count <= 5)
    _ = normalizeNumber(text)
    return 0
}
