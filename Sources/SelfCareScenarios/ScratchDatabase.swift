import Foundation
import SelfCareStore

/// Runs `body` with a fresh SQLite store in a new temporary folder, removed afterwards: where each scenario and
/// each flood runs, so neither ever touches the operator's database.
func withScratchDatabase<T>(_ body: (SQLiteServiceStore) async throws -> T) async throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let store = try SQLiteServiceStore(path: folder.appendingPathComponent("scratch.sqlite").path)
    do {
        let result = try await body(store)
        try? await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}
