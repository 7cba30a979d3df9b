import Foundation
import Hummingbird
import SelfCareCore

/// The grammar workbench's page, its drafts and the admins' reload.
extension ConsoleRoutes {
    static let workbenchRoles: [ConsoleRole] = [.operator_, .admin]

    func addWorkbench(to router: RouterGroup<BasicRequestContext>) {
        router.get("grammars") { request, _ in
            try await page(request, roles: Self.workbenchRoles) { visit in workbenchPage(visit, notice: nil) }
        }
        router.post("api/grammars/try") { request, _ in
            try await api(request, roles: Self.workbenchRoles, GrammarWorkbench.Draft.self) { _, draft in
                let workbench = console.workbench
                let now = console.configuration.workbenchClock?() ?? engine.now()
                guard console.trials.enter() else {
                    var response = problem(.tooManyRequests, "another draft is being tried; try again in a moment")
                    response.headers[.retryAfter] = "2"
                    return response
                }
                defer { console.trials.leave() }
                do {
                    guard let executable = console.configuration.workbenchExecutable else {
                        return problem(.notFound, "this server cannot try drafts (no selfcare executable configured)")
                    }
                    return json(
                        try await workbench.tryDraft(
                            draft, now: now, executable: executable, timeLimit: console.configuration.workbenchTimeLimit
                        ))
                } catch let refusal as GrammarWorkbench.Refusal {
                    return problem(.badRequest, refusal.description)
                } catch {
                    console.logger.error("console: a draft could not be tried", metadata: ["error": "\(error)"])
                    return problem(.unprocessableContent, "the draft could not be tried: \(error)")
                }
            }
        }
        router.post("grammars/reload") { request, _ in
            try await form(request, roles: [.admin]) { visit, _ in
                guard let reload = gateway.reload else {
                    return workbenchPage(visit, notice: pages.text("reload_off", visit.language))
                }
                do {
                    try reload()
                    console.logger.notice(
                        "console: grammars and prompts reloaded", metadata: ["by": "\(visit.session.account)"])
                    return workbenchPage(visit, notice: pages.text("reloaded", visit.language))
                } catch {
                    return workbenchPage(
                        visit, notice: pages.text("reload_refused", visit.language) + "\n\(error)",
                        status: .unprocessableContent)
                }
            }
        }
    }

    func workbenchPage(_ visit: Visit, notice: String?, status: HTTPResponse.Status = .ok) -> Response {
        let workbench = console.workbench
        let findings = workbench.check()
        let prompts = engine.prompts
        let languages = prompts.templates.keys.sorted { $0.rawValue < $1.rawValue }
        let keys = Set(prompts.templates.values.flatMap(\.keys)).filter { !$0.hasPrefix("console.") }.sorted()
        let rows: [[String: Any]] = keys.map { key in
            ["key": key, "texts": languages.map { ["text": prompts.templates[$0]?[key] ?? ""] }]
        }
        return pages.render(
            "grammars", visit, console: console, title: "grammars",
            [
                "files": workbench.grammarFiles().map { ["name": $0.name, "text": $0.text] },
                "findings": findings.map {
                    [
                        "file": $0.file, "line": $0.line, "column": $0.column, "severity": $0.severity,
                        "message": $0.message, "text": $0.text,
                    ]
                },
                "has_findings": !findings.isEmpty, "findings_count": findings.count,
                "languages": languages.map { ["name": $0.rawValue] }, "prompts": rows, "prompt_count": keys.count,
                "can_reload": visit.session.role == .admin, "notice": notice ?? "", "has_notice": notice != nil,
            ], status: status)
    }
}
