/// Text for the XML 1.0 documents the gateway writes (VoiceXML documents, JUnit reports), whatever a caller or a
/// scenario put into it.
public enum XMLText {
    /// `text` as character data or as an attribute value in single or double quotes.
    ///
    /// `&`, `<`, `>`, `"` and `'` become entities, a carriage return `&#13;` (a parser would turn it into a line
    /// feed). A character XML 1.0 cannot hold at all, even as a reference — a control character other than tab,
    /// line feed and carriage return, U+FFFE, U+FFFF — becomes `invalid` (nothing by default), so the document
    /// stays well-formed. In an `attribute`, tab and line feed become references too: a parser would read them as
    /// spaces.
    ///
    /// ```swift
    /// XMLText.escape("Talk & Text <5G>")                  // Talk &amp; Text &lt;5G&gt;
    /// XMLText.escape("red\u{1B}[31m", invalid: "\u{FFFD}")  // red�[31m
    /// ```
    public static func escape(_ text: String, invalid: String = "", attribute: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            case "\n" where attribute: out += "&#10;"
            case "\t" where attribute: out += "&#9;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: out += invalid
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
