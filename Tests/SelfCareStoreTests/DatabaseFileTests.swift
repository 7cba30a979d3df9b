import Foundation
import GRDB
import SelfCareCore
import SelfCareStore
import SelfCareTesting
import Testing

@Suite("The database file under a running store")
struct DatabaseFileTests {
    @Test func aHealthyStoreIsReadyAndItsTrialWriteLeavesNothing() async throws {
        try await withTemporaryDatabase { store, _ in
            #expect(store.fault() == nil)
            #expect(await store.readiness() == StoreReadiness())
            let tables = try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name = 'readiness_probe'")
            }
            #expect(tables.isEmpty, "the trial write was rolled back")
        }
    }

    @Test func aRemovedOrReplacedFileStopsEveryCommitAndTheStoreIsNotReady() async throws {
        for replace in [false, true] {
            try await withTemporaryDirectory { dir in
                let path = dir.appendingPathComponent("s.sqlite").path
                let store = try SQLiteServiceStore(path: path)
                _ = try await store.write { try $0.append(draft(1)) }
                try FileManager.default.removeItem(atPath: path)
                if replace { try Data("not this one".utf8).write(to: URL(fileURLWithPath: path)) }
                await #expect(throws: StoreError.self) { _ = try await store.write { try $0.append(draft(2)) } }
                let fault = try #require(store.fault())
                #expect(fault.contains("\(path) or its write-ahead log was removed or replaced"), "\(fault)")
                #expect(
                    fault.contains(replace ? "another file is at \(path) now" : "\(path) is gone"), "\(fault)")
                let readiness = await store.readiness()
                #expect(!readiness.isReady)
                #expect(readiness.problems.first == fault)
                // Latched: a file put back later is not the one the store has open either.
                #expect(store.fault() == fault)
            }
        }
    }

    /// A commit stays in the `-wal` file until a checkpoint: a removed log loses every commit since at the next
    /// restart, so it stops the store as a removed database does (the `-shm` index likewise).
    @Test(arguments: ["-wal", "-shm"])
    func aRemovedWriteAheadLogStopsEveryCommit(suffix: String) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("s.sqlite").path
            let store = try SQLiteServiceStore(path: path)
            _ = try await store.write { try $0.append(draft(1)) }
            #expect(store.fault() == nil)
            #expect(FileManager.default.fileExists(atPath: path + suffix))
            try FileManager.default.removeItem(atPath: path + suffix)
            await #expect(throws: StoreError.self) { _ = try await store.write { try $0.append(draft(2)) } }
            let fault = try #require(store.fault())
            #expect(fault.contains("\(path + suffix) is gone"), "\(fault)")
            #expect(!(await store.readiness()).isReady)
        }
    }

    @Test func aReadOnlyStoreIsNotReady() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("ro.sqlite").path
            _ = try SQLiteServiceStore(path: path)
            var configuration = SQLiteStoreConfiguration()
            configuration.readonly = true
            let store = try SQLiteServiceStore(path: path, configuration: configuration)
            let readiness = await store.readiness()
            #expect(readiness.problems.count == 1)
            #expect(readiness.problems.first?.contains("a trial write failed") == true, "\(readiness)")
        }
    }

    @Test func aDiskWithoutRoomIsNotReady() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = SQLiteStoreConfiguration()
            configuration.readinessFreeBytes = Int64.max
            let store = try SQLiteServiceStore(
                path: dir.appendingPathComponent("full.sqlite").path, configuration: configuration)
            let readiness = await store.readiness()
            #expect(readiness.problems.first?.contains("the disk holding the database has") == true, "\(readiness)")
        }
    }
}
