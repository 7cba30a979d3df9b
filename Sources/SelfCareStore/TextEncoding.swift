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

    /// The encoding of `data` when none is given. UTF-8 when the file is UTF-8 (ASCII included), even with a few
    /// stray bytes that are not (fewer than one for every ten characters beyond ASCII: those rows are then
    /// rejected, not the whole file misread); else GB18030 when the whole file is valid GB18030 (every GBK file
    /// is); else UTF-8, its rows with invalid bytes rejected. In GBK or GB18030 text most characters are invalid
    /// UTF-8, so the first test never takes a Chinese export for UTF-8.
    public static func detect(_ data: Data) -> TextEncoding {
        var valid = 0
        var invalid = 0
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = data.makeIterator()
        loop: while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let scalar): if scalar.count > 1 { valid += 1 }
            case .error: invalid += 1
            case .emptyInput: break loop
            }
        }
        if invalid == 0 || invalid * 10 < valid { return .utf8 }
        if convert(data, from: TextEncoding.gb18030.iconvName, to: "UTF-8") != nil { return .gb18030 }
        return .utf8
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
                    // Read as UTF-8, its unreadable bytes as U+FFFD; a line that happens to be valid UTF-8 gets one
                    // at its end (before its line end), so that its row is rejected all the same.
                    var lossy = String(decoding: line, as: UTF8.self)
                    if !lossy.unicodeScalars.contains("\u{FFFD}") {
                        let body = lossy.hasSuffix("\n") ? String(lossy.dropLast()) : lossy
                        lossy = body + "\u{FFFD}" + (lossy.hasSuffix("\n") ? "\n" : "")
                    }
                    text += lossy
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
    /// short, or the conversion is not installed.
    static func convert(_ data: Data, from: String, to: String) -> Data? {
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
                let result = iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
                guard result != -1, inLeft == 0 else { return nil }
                return outBuffer.count - outLeft
            }
        }
        guard let converted else { return nil }
        return Data(output.prefix(converted).map { UInt8(bitPattern: $0) })
    }
}
