import Foundation
import Synchronization

/// The progress of a long load on standard error: rows done of the total, the rate so far and the time left.
/// Over 5,000 rows only; on a terminal one line rewritten in place, else a line every 50,000 rows and at the end.
/// The rate counts from the first report of each name (a sync reports file after file).
final class RowProgress: Sendable {
    private let interactive = isatty(STDERR_FILENO) == 1
    private let current = Mutex<(name: String, started: ContinuousClock.Instant)?>(nil)

    /// Says that `done` of `total` rows of `name` are handled.
    func report(_ name: String, done: Int, total: Int) {
        let started = current.withLock { current in
            if current?.name != name { current = (name, ContinuousClock.now) }
            return current!.started
        }
        guard total >= 5000, done > 0 else { return }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var line = "\(name): \(done)/\(total) rows"
        if seconds >= 1 {
            let rate = Double(done) / seconds
            line += ", \(Int(rate)) rows/s"
            if done < total { line += ", about \(Int((Double(total - done) / rate).rounded(.up))) s left" }
        }
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (done == total ? "\n" : "")).utf8))
        } else if done == total || done % 50_000 == 0 {
            printError(line)
        }
    }
}
