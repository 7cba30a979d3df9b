import Foundation
import SelfCareCore

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers service orders to billing as files in an outbox folder (docs/orders.md): JSON Lines named and
/// sequenced like the inbound feed files (`ORDER_SELFCARE_YYYYMMDD_NNNNNN.jsonl`), each with a `.chk` sidecar
/// written after it, so billing never reads half a file.
public struct OrderOutbox: Sendable {
    /// The engine the orders are read from and their delivery recorded through.
    public let engine: OperationEngine
    /// The folder billing collects from.
    public let folder: String
    /// Orders a file at most.
    public var batch = 1000
    /// Tries and waits.
    public var policy = OrderDeliveryPolicy()

    /// An outbox in `folder`.
    public init(engine: OperationEngine, folder: String) {
        self.engine = engine
        self.folder = folder
    }

    /// A file written, or one that failed.
    public struct Written: Sendable, Equatable {
        /// The file's name.
        public var name: String
        /// How many orders it holds.
        public var orders: Int
        /// Why it could not be written, when it could not (its orders are tried again later).
        public var failure: String?
    }

    /// Writes every due order into files, a batch a file, until none is due; returns the files.
    public func drain() async throws -> [Written] {
        var written: [Written] = []
        while let (sequence, orders) = try await engine.claimOutboxFile(limit: batch) {
            // Named by the day of its first order: a file written again after a failure keeps its name.
            let name = Self.name(sequence: sequence, date: ISOTime.parse(orders[0].created) ?? engine.now())
            do {
                try write(orders, name: name)
                try await engine.recordDelivery(orders.map(\.id), via: name, result: .delivered, policy: policy)
                written.append(Written(name: name, orders: orders.count))
            } catch {
                let why = "\(name): \(error is ImportFileError ? "\(error)" : (error as NSError).localizedDescription)"
                try await engine.recordDelivery(orders.map(\.id), via: name, result: .failed(why), policy: policy)
                written.append(Written(name: name, orders: orders.count, failure: why))
                break
            }
        }
        return written
    }

    /// `ORDER_SELFCARE_20261206_000007.jsonl`: the date is the UTC day of the file's first order.
    public static func name(sequence: Int, date: Date) -> String {
        let day = ISOTime.format(date).prefix(10).replacingOccurrences(of: "-", with: "")
        return "ORDER_SELFCARE_\(day)_\(FeedFileName.format(sequence)).jsonl"
    }

    /// Writes the file through a temporary name, then its sidecar: a file billing sees is complete. A file of the
    /// same sequence written before (by a pass that stopped before recording it) is replaced by the same bytes.
    private func write(_ orders: [ServiceOrder], name: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let text = orders.map { $0.payload + "\n" }.joined()
        let data = Data(text.utf8)
        let stem = String(name.dropLast(".jsonl".count))
        let sidecar = "file=\(name)\nrows=\(orders.count)\nbytes=\(data.count)\nsha256=\(sha256Hex(data))\n"
        for (target, bytes) in [(name, data), (stem + ".chk", Data(sidecar.utf8))] {
            let url = URL(fileURLWithPath: folder).appendingPathComponent(target)
            // A temporary name of this writer's own: two deliveries at once never write into each other's file.
            let temporary = URL(fileURLWithPath: folder).appendingPathComponent(
                ".\(target).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
            // Whatever stands at the temporary name (a link someone put there) is removed, not followed, and the
            // file is created new: the orders are never written through a link to another file.
            if (try? fm.attributesOfItem(atPath: temporary.path)) != nil { try fm.removeItem(at: temporary) }
            try bytes.write(to: temporary, options: .withoutOverwriting)
            // rename(2) replaces whatever has the final name (a link included) in one step.
            guard rename(temporary.path, url.path) == 0 else {
                let why = String(cString: strerror(errno))
                try? fm.removeItem(at: temporary)
                throw ImportFileError(path: url.path, message: why)
            }
        }
    }
}
