import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The encodings a billing file may come in: UTF-8 (with or without a byte-order mark), and the Chinese national
/// encodings GBK and GB18030 that Chinese billing systems usually export. GB18030 is a superset of GBK: a GBK file
/// reads the same as GB18030.
public enum TextEncoding: String, Sendable, CaseIterable {
    /// UTF-8, with or without a byte-order mark.
    case utf8 = "utf-8"
    /// GBK (CP936), the two-byte national encoding.
    case gbk
    /// GB18030, the full national encoding (every Unicode character).
    case gb18030

    /// The name iconv knows the encoding by.
    var iconvName: String {
        switch self {
        case .utf8: "UTF-8"
        case .gbk: "GBK"
        case .gb18030: "GB18030"
        }
    }

    /// What detection found: an encoding, or not enough to tell (`detect`).
    public enum Detection: Sendable, Equatable {
        /// The file is in this encoding.
        case found(TextEncoding)
        /// The file could be read either way and holds too little to tell: the encoding must be named.
        case undecided(String)
    }

    /// The encoding of `data` when none is given, decided only on clear evidence:
    /// - UTF-8 with a byte-order mark, or plain ASCII, or valid UTF-8 with any character of three or four bytes
    ///   (every Chinese character is), is UTF-8;
    /// - valid UTF-8 made only of two-byte characters is UTF-8 when they are all Latin letters with accents
    ///   (`Müller`), else GB18030 when the file is valid GB18030: GBK Chinese often reads as valid UTF-8 Greek,
    ///   Cyrillic or Hebrew (魏伟 as `κΰ`), never as a Chinese billing file's names;
    /// - a file that is not valid UTF-8 is UTF-8 with a few stray bytes (their rows are rejected) when its valid
    ///   three- and four-byte characters outnumber its invalid sequences four to one; else GB18030 when the whole
    ///   file is valid GB18030 and holds at least four characters beyond ASCII; else, with fewer, undecided; else
    ///   UTF-8, its rows with invalid bytes rejected.
    public static func detect(_ data: Data) -> Detection {
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { return .found(.utf8) }
        var twoByte = 0
        var longer = 0
        var invalid = 0
        var latinOnly = true
        data.withUnsafeBytes { raw in
            var parser = Unicode.UTF8.ForwardParser()
            var bytes = raw.makeIterator()
            loop: while true {
                switch parser.parseScalar(from: &bytes) {
                case .valid(let encoded):
                    if encoded.count == 2 {
                        twoByte += 1
                        let scalar = Unicode.UTF8.decode(encoded)
                        if !(0xC0...0x24F).contains(scalar.value) || scalar.value == 0xD7 || scalar.value == 0xF7 {
                            latinOnly = false
                        }
                    } else if encoded.count > 2 {
                        longer += 1
                    }
                case .error: invalid += 1
                case .emptyInput: break loop
                }
            }
        }
        if invalid == 0 && (twoByte == 0 || longer > 0) { return .found(.utf8) }
        let gb18030 = convert(data, from: TextEncoding.gb18030.iconvName, to: "UTF-8")
        if invalid == 0 {
            return .found(latinOnly || gb18030 == nil ? .utf8 : .gb18030)
        }
        if longer >= 4 * invalid { return .found(.utf8) }
        guard let gb18030 else { return .found(.utf8) }
        let beyondASCII = String(decoding: gb18030, as: UTF8.self).unicodeScalars.count { !$0.isASCII }
        guard beyondASCII >= 4 else {
            return .undecided(
                "cannot tell whether the file is UTF-8 with stray bytes or GBK/GB18030: it holds only "
                    + "\(beyondASCII) character\(beyondASCII == 1 ? "" : "s") beyond ASCII; pass --encoding")
        }
        return .found(.gb18030)
    }

    /// `data` read as this encoding, line by line: a line not valid in it is read with a U+FFFD in it, so that
    /// its row is rejected (`invalid … text`) and the others are kept. A UTF-8 byte-order mark is kept as U+FEFF
    /// for the CSV reader to drop.
    public func decodeLines(_ data: Data) -> String {
        switch self {
        case .utf8:
            return String(decoding: data, as: UTF8.self)
        case .gbk, .gb18030:
            // LF (0x0A) is never a byte of a GBK or GB18030 multi-byte character: the lines split safely.
            var text = ""
            var start = data.startIndex
            while start < data.endIndex {
                let end = data[start...].firstIndex(of: 0x0A).map { data.index(after: $0) } ?? data.endIndex
                let line = data[start..<end]
                if let decoded = Self.convert(Data(line), from: iconvName, to: "UTF-8") {
                    text += String(decoding: decoded, as: UTF8.self)
                } else {
                    // Each unreadable byte becomes U+FFFD and the rest of the line is read on, so the row is
                    // rejected with every character that could be read still in it.
                    let lossy = Self.convert(Data(line), from: iconvName, to: "UTF-8", replacingInvalid: true) ?? Data()
                    text += String(decoding: lossy, as: UTF8.self)
                }
                start = end
            }
            return text
        }
    }

    /// `text` written in this encoding (a GBK file's rejects are written as GB18030, which is the same bytes for
    /// every character GBK has); nil when a character cannot be written in it.
    public func encode(_ text: String) -> Data? {
        switch self {
        case .utf8: Data(text.utf8)
        case .gbk, .gb18030: Self.convert(Data(text.utf8), from: "UTF-8", to: TextEncoding.gb18030.iconvName)
        }
    }

    /// `data` converted by iconv from the encoding `from` to `to`; nil when a byte sequence is invalid or cut
    /// short (unless `replacingInvalid`: each such byte then becomes U+FFFD, `to` being UTF-8), or the conversion
    /// is not installed.
    static func convert(_ data: Data, from: String, to: String, replacingInvalid: Bool = false) -> Data? {
        guard let converter = iconv_open(to, from), converter != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(converter) }
        var input = [CChar](repeating: 0, count: data.count)
        data.withUnsafeBytes { bytes in
            for (i, byte) in bytes.enumerated() { input[i] = CChar(bitPattern: byte) }
        }
        // Every GB18030 character is at most 4 bytes, every UTF-8 one too: 4 bytes out for each byte in suffice.
        var output = [CChar](repeating: 0, count: data.count * 4 + 4)
        let converted: Int? = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer = inBuffer.baseAddress
                var outPointer = outBuffer.baseAddress
                var inLeft = inBuffer.count
                var outLeft = outBuffer.count
                while true {
                    let result = iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
                    if result != -1 && inLeft == 0 { return outBuffer.count - outLeft }
                    // An invalid or cut-short sequence: give up, or write U+FFFD (3 bytes of UTF-8) for its first
                    // byte and go on after it. The output has room: 4 bytes for each byte in, and U+FFFD is 3.
                    guard replacingInvalid, inLeft > 0, outLeft >= 3, let at = outPointer else { return nil }
                    for (k, byte) in [0xEF, 0xBF, 0xBD].enumerated() { at[k] = CChar(bitPattern: UInt8(byte)) }
                    outPointer = at + 3
                    outLeft -= 3
                    inPointer = inPointer.map { $0 + 1 }
                    inLeft -= 1
                    if inLeft == 0 { return outBuffer.count - outLeft }
                }
            }
        }
        guard let converted else { return nil }
        return Data(output.prefix(converted).map { UInt8(bitPattern: $0) })
    }
}
