import SelfCareCore
import Testing

@Suite("Prompt catalog")
struct PromptCatalogTests {
    @Test func parsesKeysCommentsAndLineBreaks() throws {
        let parsed = try PromptCatalog.parse(
            "# comment\n\nreply.a = Hello {name}\\nbye\r\nreply.b=x = y\n", path: "en.prompts")
        #expect(parsed == ["reply.a": "Hello {name}\nbye", "reply.b": "x = y"])
    }

    @Test(arguments: [
        ("no equals sign\n", "en.prompts:1:1: error: expected `key = text`\nno equals sign\n^"),
        ("a = 1\nbad key = 2\n", "en.prompts:2:1: error: a key is letters, digits, `.` and `_`\nbad key = 2\n^"),
        ("a = 1\n\na = 2\n", "en.prompts:3:1: error: duplicate key `a`\na = 2\n^"),
    ])
    func mistakesReadLikeCompilerErrors(_ text: String, _ message: String) {
        #expect(throws: PromptFileError.self) { try PromptCatalog.parse(text, path: "en.prompts") }
        do {
            _ = try PromptCatalog.parse(text, path: "en.prompts")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func fillsPlaceholdersAndFallsBack() {
        let catalog = PromptCatalog(
            templates: [.chinese: ["k": "余额{balance}元", "only.zh": "中文"], .english: ["k": "Balance {balance} {x}"]])
        #expect(catalog.render("k", in: .english, ["balance": "1.00"]) == "Balance 1.00 {x}")
        #expect(catalog.render("k", in: .chinese, ["balance": "1.00"]) == "余额1.00元")
        #expect(catalog.render("only.zh", in: .english) == "中文")
        #expect(catalog.render("missing", in: .english) == "missing")
        #expect(catalog.language(for: Language(rawValue: "fr")) == .chinese)
        #expect(PromptCatalog.fill("{a}{b} {", ["a": "1"]) == "1{b} {")
        #expect(PromptCatalog.placeholders(in: "{a} and {b}{a}") == ["a", "b"])
    }
}
