import SelfCareGrammar

/// The grammar language's lexer, parser, compiler and diagnostics on arbitrary bytes: a grammar either
/// compiles or is refused with diagnostics; it never crashes, hangs or loops.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGrammar(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let grammar = try CompiledGrammar(text: text, path: "fuzz.grammar")
        // A grammar that compiles must also match without trouble.
        _ = grammar.match(text)
        _ = grammar.match("CXYE 258036")
    } catch {
        _ = "\(error)"  // rendering the diagnostics must not crash either
    }
    return 0
}
