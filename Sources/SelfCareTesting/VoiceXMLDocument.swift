import Foundation
import SelfCareCore
import SelfCareHTTP

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// One VoiceXML document as a voice browser reads it, through an XML parser (libxml2, by Foundation's
/// `XMLParser`): its elements in document order, where its submits go, the prompts a caller hears, and each
/// inline grammar re-written as the SRGS grammar a browser hands to its recogniser.
public final class VoiceXMLDocument: NSObject, XMLParserDelegate {
    /// The VoiceXML namespace.
    public static let namespace = "http://www.w3.org/2001/vxml"
    /// The SRGS namespace the grammars are re-written in.
    public static let srgsNamespace = "http://www.w3.org/2001/06/grammar"

    public struct Element: Sendable {
        /// The local name (`prompt`, `submit`).
        public var name: String
        /// The namespace it is in (nil when none is declared).
        public var namespace: String?
        /// Its attributes, `xml:lang` by that name; namespace declarations are not attributes.
        public var attributes: [String: String]
        /// The names of the elements it is in, outermost first.
        public var ancestors: [String]
        /// Its text, that of the elements inside included, entities and character references resolved.
        public var text = ""
        /// Its own text only.
        public var ownText = ""
    }

    /// The attributes VoiceXML adds to `<grammar>` (`VXMLGrammar.attribs` and `Cache.attribs` in
    /// vxml-attribs.xsd): for the browser, not part of the SRGS grammar it passes on.
    static let voiceXMLGrammarAttributes: Set<String> = [
        "scope", "weight", "src", "srcexpr", "type", "fetchhint", "fetchtimeout", "maxage", "maxstale",
    ]

    /// The document as given.
    public let raw: String
    public private(set) var elements: [Element] = []
    /// Each inline `<grammar>`, alone, in the SRGS namespace, as a document of its own.
    public private(set) var grammars: [String] = []
    private var open: [Int] = []
    private var grammar: String?
    /// The first error the parser reported, and its line.
    private var failure: (error: any Error, line: Int)?

    /// Parses `raw`; throws `AdapterReplyError` naming the line when it is not well-formed XML.
    public init(_ raw: String) throws {
        self.raw = raw
        super.init()
        let parser = XMLParser(data: Data(raw.utf8))
        parser.delegate = self
        parser.shouldProcessNamespaces = true
        // Foundation's parser on Linux may report an error and still return true: both are looked at.
        let parsed = parser.parse()
        if let failure = failure ?? parser.parserError.map({ ($0, parser.lineNumber) }) {
            let code = (failure.error as NSError).code
            let name = XMLParser.ErrorCode(rawValue: code).map { "\($0)" } ?? "error \(code)"
            throw AdapterReplyError("not well-formed XML (line \(failure.line): \(name))")
        }
        guard parsed else { throw AdapterReplyError("not well-formed XML") }
    }

    public func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if failure == nil { failure = (parseError, parser.lineNumber) }
    }

    public func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        self.parser(parser, foundCharacters: String(decoding: CDATABlock, as: UTF8.self))
    }

    public func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String]
    ) {
        elements.append(
            Element(
                name: name, namespace: namespaceURI.flatMap { $0.isEmpty ? nil : $0 }, attributes: attributes,
                ancestors: open.map { elements[$0].name }))
        open.append(elements.count - 1)
        if name == "grammar" {
            let kept = attributes.filter { !Self.voiceXMLGrammarAttributes.contains($0.key) }
            grammar =
                #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n<grammar xmlns=\"\(Self.srgsNamespace)\""
                + Self.attributes(kept) + ">"
        } else if grammar != nil {
            grammar! += "<\(name)" + Self.attributes(attributes) + ">"
        }
    }

    public func parser(_ parser: XMLParser, foundCharacters string: String) {
        for i in open { elements[i].text += string }
        if let innermost = open.last { elements[innermost].ownText += string }
        if grammar != nil { grammar! += XMLText.escape(string) }
    }

    public func parser(
        _ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?
    ) {
        open.removeLast()
        guard let text = grammar else { return }
        grammar = text + "</\(name)>"
        if name == "grammar" {
            grammars.append(grammar! + "\n")
            grammar = nil
        }
    }

    static func attributes(_ attributes: [String: String]) -> String {
        attributes.keys.sorted().map { " \($0)=\"\(XMLText.escape(attributes[$0]!, attribute: true))\"" }.joined()
    }

    /// Every element named `name`, in document order.
    public func all(_ name: String) -> [Element] { elements.filter { $0.name == name } }
    /// The first element named `name`.
    public func first(_ name: String) -> Element? { elements.first { $0.name == name } }

    /// Where the `<submit>` directly inside `handler` (`filled`, `noinput`, `nomatch`, `catch`, `block`) goes.
    public func submit(in handler: String) -> String? {
        elements.first { $0.name == "submit" && $0.ancestors.last == handler }?.attributes["next"]
    }

    /// The prompts' texts, in order: what the caller hears (an `<audio>`'s text is its fallback, heard when the
    /// recording cannot be played).
    public var prompts: [String] { all("prompt").map(\.text) }
}
