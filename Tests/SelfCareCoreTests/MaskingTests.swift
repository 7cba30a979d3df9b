import SelfCareCore
import Testing

@Suite("Masking digits")
struct MaskingTests {
    private func masked(_ text: String) -> String {
        maskDigitGroups(text) { digits, groups in
            groups == 1
                ? digits.count >= 4 && !(digits.count == 11 && digits.hasPrefix("1")) : (4...8).contains(digits.count)
        }
    }

    @Test(arguments: [
        ("CXPUK 258036", "CXPUK ******"), ("CXPUK 258 036", "CXPUK *** ***"), ("GS 258-036", "GS ***-***"),
        ("CXZD 25 80 36", "CXZD ** ** **"), ("２５８ ０３６", "*** ***"), ("GS 18612345678", "GS 18612345678"),
        ("CXYE", "CXYE"), ("1 2", "1 2"), ("258036258036", "************"), ("a12b34c", "a12b34c"),
        ("MMXG 258036 147 036 147 036", "MMXG ****** *** *** *** ***"),
    ])
    func groupsAreMaskedLikeRuns(_ text: String, _ expected: String) {
        #expect(masked(text) == expected)
    }

    /// Ten thousand groups of one digit are masked in linear time, not by trying every stretch.
    @Test func manyGroupsStayCheap() {
        let text = Array(repeating: "1", count: 10_000).joined(separator: " ")
        let result = masked(text)
        #expect(result.count == text.count && !result.contains("1"))
    }
}
