import SelfCareCore

/// A lexical token of the grammar language.
struct Token: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// `$name` or a built-in such as `$PASSWORD`.
        case ruleName(String)
        /// A bare word: `CXYE`, `查余额`, `query.balance`, `1`, `*`.
        case word(String)
        /// A double-quoted literal, escapes resolved.
        case quoted(String)
        /// One of `= | ( ) [ ] < > { } ; : , -`, and `=>` as `"=>"`.
        case punct(String)
        /// `#SELFCARE` at the start of the file.
        case header
        case end
    }

    var kind: Kind
    var location: SourceLocation
    /// How many scalars the token covers, for the end of a diagnostic's range.
    var length: Int
}

/// Splits grammar text into tokens; comments (`//` to the end of the line, `/* … */`) are skipped.
struct Lexer {
    static let punctuation: Set<Unicode.Scalar> = ["=", "|", "(", ")", "[", "]", "<", ">", "{", "}", ";", ":", ","]

    /// What a Chinese input method types for the grammar's punctuation, and the ASCII meant. Outside quotes
    /// such a character is refused: it would silently become part of a keyword (`查余额｜余额` one word).
    static let fullWidth: [Unicode.Scalar: String] = [
        "｜": "`|`", "；": "`;`", "（": "`(`", "）": "`)`", "［": "`[`", "］": "`]`", "【": "`[`", "】": "`]`",
        "｛": "`{`", "｝": "`}`", "＜": "`<`", "＞": "`>`", "《": "`<`", "》": "`>`", "＝": "`=`", "：": "`:`",
        "，": "`,`", "＄": "`$`", "￥": "`$`", "＂": "`\"`", "“": "`\"`", "”": "`\"`", "。": "`.`", "．": "`.`",
        "、": "`|` or `,`",
    ]

    let scalars: [Unicode.Scalar]
    let lines: [String]
    let path: String
    var index = 0
    var line = 1
    var column = 1

    init(text: String, path: String) {
        scalars = Array(text.unicodeScalars)
        lines = splitLines(text).map(String.init)
        self.path = path
    }

    func sourceLine(_ n: Int) -> String { n >= 1 && n <= lines.count ? lines[n - 1] : "" }

    func diagnostic(_ message: String, at location: SourceLocation) -> Diagnostic {
        Diagnostic(path: path, location: location, message: message, sourceLine: sourceLine(location.line))
    }

    private mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else if scalars[index] == "\r" {
            if index + 1 < scalars.count && scalars[index + 1] == "\n" {
                index += 1
            }
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{3000}"
    }

    static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        !isSpace(c) && !punctuation.contains(c) && c != "\"" && c != "$"
    }

    static func isNameScalar(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "."
    }

    func fullWidthDiagnostic(_ found: Unicode.Scalar, _ ascii: String, at location: SourceLocation) -> Diagnostic {
        let code = "U+" + String(found.value, radix: 16, uppercase: true)
        return diagnostic(
            "full-width `\(found)` (\(code)) where the grammar expects \(ascii): type it with the input method in "
                + "English mode; a keyword that really contains `\(found)` goes in double quotes",
            at: location)
    }

    /// All tokens, ending with `.end`.
    mutating func tokenize() throws -> [Token] {
        var tokens: [Token] = []
        while true {
            // White space and comments.
            while let c = peek() {
                if Lexer.isSpace(c) {
                    advance()
                } else if c == "/" && peek(1) == "/" {
                    while let d = peek(), d != "\n", d != "\r" { advance() }
                } else if c == "/" && peek(1) == "*" {
                    let start = SourceLocation(line: line, column: column)
                    advance()
                    advance()
                    var closed = false
                    while let d = peek() {
                        if d == "*" && peek(1) == "/" {
                            advance()
                            advance()
                            closed = true
                            break
                        }
                        advance()
                    }
                    if !closed { throw diagnostic("unterminated comment: `/*` is never closed by `*/`", at: start) }
                } else {
                    break
                }
            }
            let start = SourceLocation(line: line, column: column)
            guard let c = peek() else {
                tokens.append(Token(kind: .end, location: start, length: 0))
                return tokens
            }
            let begin = index
            if let ascii = Lexer.fullWidth[c] { throw fullWidthDiagnostic(c, ascii, at: start) }
            if c == "#" && tokens.isEmpty && peek(1) == "S" {
                var word = ""
                while let d = peek(), Lexer.isWordScalar(d) {
                    word.unicodeScalars.append(d)
                    advance()
                }
                if word == "#SELFCARE" {
                    tokens.append(Token(kind: .header, location: start, length: index - begin))
                } else {
                    tokens.append(Token(kind: .word(word), location: start, length: index - begin))
                }
            } else if c == "=" && peek(1) == ">" {
                advance()
                advance()
                tokens.append(Token(kind: .punct("=>"), location: start, length: 2))
            } else if Lexer.punctuation.contains(c) {
                advance()
                tokens.append(Token(kind: .punct(String(c)), location: start, length: 1))
            } else if c == "$" {
                advance()
                var name = ""
                while let d = peek(), Lexer.isNameScalar(d) {
                    name.unicodeScalars.append(d)
                    advance()
                }
                if name.isEmpty { throw diagnostic("expected a rule name after `$`", at: start) }
                tokens.append(Token(kind: .ruleName(name), location: start, length: index - begin))
            } else if c == "\"" {
                advance()
                var text = ""
                var closed = false
                while let d = peek() {
                    if d == "\n" || d == "\r" { break }
                    advance()
                    if d == "\"" {
                        closed = true
                        break
                    }
                    if d == "\\", let e = peek() {
                        advance()
                        text.unicodeScalars.append(e == "n" ? "\n" : e == "t" ? "\t" : e)
                    } else {
                        text.unicodeScalars.append(d)
                    }
                }
                if !closed {
                    throw diagnostic("unterminated string: expected a closing `\"` on the same line", at: start)
                }
                tokens.append(Token(kind: .quoted(text), location: start, length: index - begin))
            } else {
                var word = ""
                while let d = peek(), Lexer.isWordScalar(d) {
                    // A comment ends a word even without white space before it: `查余额// 注释`.
                    if d == "/" && (peek(1) == "/" || peek(1) == "*") { break }
                    if let ascii = Lexer.fullWidth[d] {
                        throw fullWidthDiagnostic(d, ascii, at: SourceLocation(line: line, column: column))
                    }
                    // `-` ends a word only inside `<m-n>`; the parser splits numbers itself.
                    word.unicodeScalars.append(d)
                    advance()
                }
                tokens.append(Token(kind: .word(word), location: start, length: index - begin))
            }
        }
    }
}
