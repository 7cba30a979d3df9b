import Foundation
import SelfCareCrypto

/// IVR prompts spoken by `espeak-ng` on the server, cached per voice and text.
struct Speech: Sendable {
    let program: String
    let cache: String
    /// Files the cache keeps at most, and bytes; the oldest go first.
    static let cacheLimit = 500
    static let cacheBytes = 200 * 1024 * 1024

    /// A new folder only this process's user can enter (mkdtemp, 0700): nobody else can plant audio in it, or have
    /// its eviction remove their files.
    static func privateFolder() throws -> String {
        var template = Array(
            (NSTemporaryDirectory() as NSString).appendingPathComponent("selfcare-speech-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SpeechError(message: "cannot make the speech cache (errno \(errno))")
        }
        return String(cString: made)
    }

    /// The WAV audio of `text` in `voice` (`cmn`, `en`), from the cache or rendered now. Blocking: run it off the
    /// cooperative pool.
    func render(_ text: String, voice: String) throws -> [UInt8] {
        let key = LibCrypto.sha256(Array((voice + "\u{0}" + text).utf8)).hexString
        let path = (cache as NSString).appendingPathComponent(key + ".wav")
        if let data = FileManager.default.contents(atPath: path), !data.isEmpty { return Array(data) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        // The text goes in on standard input, never as an argument.
        process.arguments = ["-v", voice, "-s", "160", "--stdin", "-w", path + ".tmp"]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SpeechError(message: "espeak-ng exited with \(process.terminationStatus)")
        }
        guard rename(path + ".tmp", path) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw SpeechError(message: "espeak-ng wrote no audio")
        }
        trim()
        return Array(data)
    }

    private func trim() {
        let manager = FileManager.default
        // Only the cache's own files: 64 hex digits and `.wav`.
        let names = ((try? manager.contentsOfDirectory(atPath: cache)) ?? []).filter {
            $0.hasSuffix(".wav") && $0.count == 68 && $0.prefix(64).allSatisfy(\.isHexDigit)
        }
        var files = names.map { name -> (path: String, date: Date, size: Int) in
            let path = (cache as NSString).appendingPathComponent(name)
            let attributes = (try? manager.attributesOfItem(atPath: path)) ?? [:]
            return (
                path, attributes[.modificationDate] as? Date ?? .distantPast,
                (attributes[.size] as? NSNumber)?.intValue ?? 0
            )
        }.sorted { $0.date < $1.date }
        var bytes = files.reduce(0) { $0 + $1.size }
        while let oldest = files.first, files.count > Self.cacheLimit || bytes > Self.cacheBytes {
            try? manager.removeItem(atPath: oldest.path)
            bytes -= oldest.size
            files.removeFirst()
        }
    }
}

struct SpeechError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
