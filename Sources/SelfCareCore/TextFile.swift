import Foundation

/// A data file (grammar, prompts) that could not be read as text; says which file and why.
public struct TextFileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file that could not be read, as it was named.
    public var path: String
    /// `not valid UTF-8 at line 3, column 7 (byte 0xB2); save the file as UTF-8`, `permission denied`, ….
    public var reason: String

    /// The error for `path`, saying `reason`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// `PATH: REASON`, one line.
    public var description: String { "\(path): \(reason)" }
}

/// Reads the UTF-8 text files the gateway is configured with.
public enum TextFile {
    /// The largest file read: grammars and prompts are a few kilobytes.
    public static let maxBytes = 4 * 1024 * 1024

    /// The text of the file at `path`, without a leading byte-order mark (editors on Windows write one).
    /// - Throws: `TextFileError` naming the file and the reason: it cannot be opened (the system's reason),
    ///   it is a folder, a FIFO or a device (never waited on), it is larger than `maxBytes`, it holds a NUL
    ///   byte, it is UTF-16, or it is not UTF-8 (where the first bad byte is; a Chinese file saved as GBK is
    ///   the usual case).
    public static func read(_ path: String) throws -> String {
        // Non-blocking, so that a FIFO put where a file belongs is refused instead of waited on.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw TextFileError(path: path, reason: "cannot read it (\(systemReason(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw TextFileError(path: path, reason: "cannot read it (\(systemReason(errno)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw TextFileError(path: path, reason: "cannot read it (it is a folder)")
        default:
            throw TextFileError(path: path, reason: "cannot read it (not a regular file: a FIFO, device or socket)")
        }
        let tooLarge = TextFileError(
            path: path, reason: "larger than \(maxBytes / 1_048_576) MiB; a grammar or prompts file is a few kilobytes")
        guard info.st_size <= maxBytes else { throw tooLarge }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TextFileError(path: path, reason: "cannot read it (\(systemReason(errno)))")
            }
            if n == 0 { break }
            bytes += buffer[0..<n]
            guard bytes.count <= maxBytes else { throw tooLarge }
        }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw TextFileError(
                path: path, reason: "UTF-16 text (it begins with a UTF-16 byte-order mark); save the file as UTF-8")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if let nul = bytes.firstIndex(of: 0) {
            let (line, column) = position(of: nul, in: bytes)
            throw TextFileError(
                path: path,
                reason: "a NUL byte at line \(line), column \(column): not a text file (UTF-16 without a byte-order "
                    + "mark reads like this); save the file as UTF-8")
        }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        throw TextFileError(path: path, reason: invalidUTF8Reason(bytes))
    }

    /// The line and column (in characters, counted from 1) of the byte at `offset`, which starts a character.
    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        let before = bytes[..<offset]
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        let line = before.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        // Columns count characters: every byte that does not continue a UTF-8 sequence starts one.
        let column = bytes[lineStart..<offset].count(where: { $0 & 0xC0 != 0x80 }) + 1
        return (line, column)
    }

    /// Where the first byte that is not UTF-8 sits, as a line and a column of characters.
    static func invalidUTF8Reason(_ bytes: [UInt8]) -> String {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var (offset, line, column) = (0, 1, 1)
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offset += encoded.count
                if encoded.count == 1 && encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .error:
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                return
                    "not valid UTF-8 at line \(line), column \(column) (byte 0x\(byte.count == 1 ? "0" : "")\(byte)); "
                    + "save the file as UTF-8 (a Chinese text saved as GBK reads like this)"
            case .emptyInput:
                return "not valid UTF-8; save the file as UTF-8"
            }
        }
    }

    static func systemReason(_ code: Int32) -> String {
        code == EISDIR ? "it is a folder" : String(cString: strerror(code)).lowercased()
    }
}

/// The lines of `text`, split at LF, CRLF or CR (Swift treats CRLF as one `Character`).
public func splitLines(_ text: String) -> [Substring] {
    text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
}
