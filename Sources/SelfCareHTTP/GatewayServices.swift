import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Prometheus
import SelfCareChannels
import SelfCareCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Frees idle sessions and the adapters' caches of them every `interval`, so a flood's memory is given back even
/// when no request comes to trigger it.
struct SweepService: Service {
    let channels: GatewayChannels
    let interval: TimeInterval

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                await channels.sweep()
            }
        }
    }
}

/// Applies due pending changes every `interval` until shutdown.
struct PendingChangeService: Service {
    let engine: OperationEngine
    let interval: TimeInterval
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                do {
                    try await engine.applyDueChanges()
                } catch {
                    // The changes stay pending and the next tick tries again; the fault is said each time.
                    logger.error("applying due pending changes failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// Runs a `PeriodicJob` until shutdown: first at start, then `interval` after each run ends.
struct PeriodicJobService: Service {
    let job: PeriodicJob
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await job.run()
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("\(job.name) failed; trying again at the next turn", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .seconds(job.interval))
            }
        }
    }
}

/// Reloads grammars and prompts on SIGHUP; a broken set is refused and the old one stays.
struct ReloadService: Service {
    let reload: (@Sendable () throws -> Void)?

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                guard let reload else { continue }
                do {
                    try reload()
                    FileHandle.standardError.write(Data("selfcare: reloaded grammars and prompts\n".utf8))
                } catch {
                    FileHandle.standardError.write(
                        Data("selfcare: reload refused, the old grammars and prompts stay:\n\(error)\n".utf8))
                }
            }
        }
    }
}
