import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import SelfCareCore

/// The console's pages: mustache templates from the assets folder, and their text from the prompts (`console.*`
/// keys in every language's file), so the console speaks Chinese and English as the gateway does.
struct ConsolePages: Sendable {
    let library: MustacheLibrary
    let assets: [String: [UInt8]]
    let prompts: PromptCatalog
    /// Every `console.*` text by language, keyed as the templates read them (`nav_records` for
    /// `console.nav.records`).
    let texts: [Language: [String: String]]

    init(assetsDirectory: String, promptsDirectory: String) async throws {
        let templates = (assetsDirectory as NSString).appendingPathComponent("templates")
        library = try await MustacheLibrary(directory: templates)
        var assets: [String: [UInt8]] = [:]
        for name in ["console.css", "console.js"] {
            let path = ((assetsDirectory as NSString).appendingPathComponent("static") as NSString)
                .appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConsoleAssetsError(
                    message: "\(path): missing; the console's static files are in the repository's console/static")
            }
            assets[name] = Array(data)
        }
        for name in ["layout", "login", "simulator", "subscriber", "records", "grammars", "health", "admin", "error"]
        where library.getTemplate(named: name) == nil {
            throw ConsoleAssetsError(message: "\(templates)/\(name).mustache: missing or unreadable")
        }
        self.assets = assets
        prompts = try PromptCatalog.load(directory: promptsDirectory)
        var texts: [Language: [String: String]] = [:]
        for (language, templates) in prompts.templates {
            var table: [String: String] = [:]
            for (key, text) in templates where key.hasPrefix("console.") {
                table[key.dropFirst("console.".count).replacingOccurrences(of: ".", with: "_")] = text
            }
            texts[language] = table
        }
        self.texts = texts
    }

    /// The text `console.KEY` (dots as underscores) in `language`.
    func text(_ key: String, _ language: Language) -> String {
        texts[language]?[key] ?? texts[prompts.defaultLanguage]?[key] ?? key
    }

    func asset(_ name: String, type: String) throws -> Response {
        guard let bytes = assets[name] else { throw HTTPError(.notFound) }
        return Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The pages of the navigation, and the roles that see each.
    static let navigation: [(page: String, roles: [ConsoleRole])] = [
        ("simulator", [.operator_, .admin]), ("subscriber", [.operator_, .admin]), ("records", [.auditor, .admin]),
        ("grammars", [.operator_, .admin]), ("health", ConsoleRole.allCases), ("admin", [.admin]),
    ]

    /// Renders page `name` for `visit` (nil: signed out) as HTML.
    func render(
        _ name: String, _ visit: Visit?, console: Console, title: String, language: Language? = nil,
        _ values: [String: Any], status: HTTPResponse.Status = .ok
    ) -> Response {
        let language = visit?.language ?? language ?? .chinese
        let t = texts[language] ?? [:]
        var context = values
        context["t"] = t
        context["lang"] = language.rawValue
        context["other_lang"] = language == .chinese ? "en" : "zh-CN"
        context["other_lang_label"] = language == .chinese ? "English" : "中文"
        context["other_lang_link"] =
            visit?.otherLanguageLink ?? (values["other_lang_link"] as? String) ?? "?lang=\(context["other_lang"]!)"
        context["title"] = text("title_" + title, language)
        context["demo"] = console.configuration.demo
        if let visit {
            context["signed_in"] = true
            context["account"] = visit.session.account
            context["role"] = text("role_" + visit.session.role.rawValue, language)
            context["role_name"] = visit.session.role.rawValue
            context["csrf"] = visit.session.csrf
            context["nav"] = Self.navigation.filter { $0.roles.contains(visit.session.role) }.map { item in
                [
                    "href": "/console/\(item.page)", "label": text("nav_" + item.page, language),
                    "current": item.page == title,
                ] as [String: Any]
            }
        }
        let html =
            library.render(context, withTemplate: name)
            ?? "<!doctype html><title>console</title>template \(name) failed"
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

struct ConsoleAssetsError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
