import SelfCareCore
import Testing

@Suite("XML text")
struct XMLTextTests {
    @Test(arguments: [
        ("Talk & Text <5G> \"x\" 'y'", "Talk &amp; Text &lt;5G&gt; &quot;x&quot; &apos;y&apos;", "", false),
        ("a\u{1}b\u{1B}c\u{7F}", "abc\u{7F}", "", false),
        ("a\u{1}b\u{FFFE}c\u{FFFF}", "a�b�c�", "\u{FFFD}", false),
        ("line\r\nnext\ttab", "line&#13;\nnext\ttab", "", false),
        ("line\r\nnext\ttab", "line&#13;&#10;next&#9;tab", "", true),
        ("中文 😀", "中文 😀", "", false),
    ])
    func escapesMarkupAndWhatXMLCannotHold(_ text: String, _ escaped: String, _ invalid: String, _ attribute: Bool) {
        #expect(XMLText.escape(text, invalid: invalid, attribute: attribute) == escaped)
    }
}
