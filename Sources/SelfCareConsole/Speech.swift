import Foundation
import SelfCareCrypto

/// IVR prompts spoken by `espeak-ng` on the server, cached per voice and text.
struct Speech: Sendable {
    let program: String
    let cache: String
    /// Files the cache keeps at most; the oldest go first.
    static let cacheLimit = 500

    /// The WAV audio of `text` in `voice` (`cmn`, `en`), from the cache or rendered now. Blocking: run it off the
    /// cooperative pool.
    func render(_ text: String, voice: String) throws -> [UInt8] {
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let key = hex(LibCrypto.sha256(Array((voice + "\u{0}" + text).utf8)))
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
        guard let names = try? manager.contentsOfDirectory(atPath: cache), names.count > Self.cacheLimit else { return }
        let dated = names.map { name -> (String, Date) in
            let path = (cache as NSString).appendingPathComponent(name)
            let date = (try? manager.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
            return (path, date)
        }.sorted { $0.1 < $1.1 }
        for (path, _) in dated.prefix(names.count - Self.cacheLimit) { try? manager.removeItem(atPath: path) }
    }
}

struct SpeechError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
