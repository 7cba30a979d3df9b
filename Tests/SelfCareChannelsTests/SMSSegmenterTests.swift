import SelfCareChannels
import Testing

@Suite("SMS segmentation")
struct SMSSegmenterTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let label: String
        let text: String
        let encoding: SMSEncoding
        let parts: [Int]
        var testDescription: String { label }
    }

    static let a = "a"
    static let cases: [Case] = [
        Case(label: "GSM 160 fits one", text: String(repeating: "a", count: 160), encoding: .gsm7, parts: [160]),
        Case(label: "GSM 161 needs two", text: String(repeating: "a", count: 161), encoding: .gsm7, parts: [153, 8]),
        Case(label: "GSM 306 fills two", text: String(repeating: "a", count: 306), encoding: .gsm7, parts: [153, 153]),
        Case(
            label: "GSM 307 needs three", text: String(repeating: "a", count: 307), encoding: .gsm7,
            parts: [153, 153, 1]),
        Case(
            label: "80 extension characters fill one", text: String(repeating: "{", count: 80), encoding: .gsm7,
            parts: [80]),
        Case(
            label: "81 extension characters need two", text: String(repeating: "€", count: 81), encoding: .gsm7,
            parts: [76, 5]),
        Case(
            label: "an extension pair is never split",
            text: String(repeating: "a", count: 152) + "[" + String(repeating: "a", count: 10),
            encoding: .gsm7, parts: [152, 11]),
        Case(label: "UCS-2 70 fits one", text: String(repeating: "字", count: 70), encoding: .ucs2, parts: [70]),
        Case(label: "UCS-2 71 needs two", text: String(repeating: "字", count: 71), encoding: .ucs2, parts: [67, 4]),
        Case(label: "UCS-2 134 fills two", text: String(repeating: "字", count: 134), encoding: .ucs2, parts: [67, 67]),
        Case(
            label: "UCS-2 135 needs three", text: String(repeating: "字", count: 135), encoding: .ucs2,
            parts: [67, 67, 1]),
        Case(
            label: "one Chinese character makes it UCS-2", text: String(repeating: "a", count: 70) + "字",
            encoding: .ucs2, parts: [67, 4]),
        Case(
            label: "an emoji counts two and fits", text: String(repeating: "字", count: 68) + "😀", encoding: .ucs2,
            parts: [69]),
        Case(
            label: "an emoji is never split",
            text: String(repeating: "字", count: 66) + "😀" + String(repeating: "字", count: 4),
            encoding: .ucs2, parts: [66, 5]),
    ]

    @Test(arguments: cases)
    func boundaries(_ c: Case) {
        #expect(SMSSegmenter.encoding(of: c.text) == c.encoding)
        let parts = SMSSegmenter(partCap: 10).segments(c.text)
        #expect(parts.map { $0.unicodeScalars.count } == c.parts)
        #expect(parts.joined() == c.text)
    }

    @Test func lengthsCountExtensionsTwiceAndSurrogatesTwice() {
        #expect(SMSSegmenter.length(of: "a{b") == 4)
        #expect(SMSSegmenter.length(of: "字😀") == 3)
        #expect(SMSSegmenter.length(of: "£1.00") == 5, "£ is in the basic GSM alphabet")
    }

    @Test func theCapCutsAndSaysSo() {
        let gsm = SMSSegmenter(partCap: 3).segments(String(repeating: "b", count: 1000))
        #expect(gsm.count == 3)
        #expect(gsm[2].hasSuffix("..."))
        #expect(gsm[2].unicodeScalars.count == 153)
        let ucs = SMSSegmenter(partCap: 2).segments(String(repeating: "字", count: 500))
        #expect(ucs.count == 2)
        #expect(ucs[1].hasSuffix("…"))
        #expect(ucs[1].unicodeScalars.count == 67)
    }
}
