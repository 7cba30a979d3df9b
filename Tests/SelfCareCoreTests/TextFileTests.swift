import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Grammar and prompt files are read as UTF-8 text, and anything else is named with the reason, never waited on.
@Suite("Reading data files")
struct TextFileTests {
    private func reason(_ bytes: [UInt8]) throws -> String? {
        try withTemporaryDirectoryNow { dir in
            let path = dir.appendingPathComponent("f.prompts").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try TextFile.read(path)
                return nil
            } catch let error as TextFileError {
                #expect(error.path == path)
                return error.reason
            }
        }
    }

    @Test func utf8IsReadAndAByteOrderMarkDropped() throws {
        #expect(try reason(Array("a = 余额\n".utf8)) == nil)
        try withTemporaryDirectoryNow { dir in
            let path = dir.appendingPathComponent("bom.grammar").path
            try Data([0xEF, 0xBB, 0xBF] + Array("#SELFCARE".utf8)).write(to: URL(fileURLWithPath: path))
            #expect(try TextFile.read(path) == "#SELFCARE")
        }
    }

    @Test func whatIsNotUTF8TextIsNamed() throws {
        #expect(
            try reason(Array("a = 1\nb = 余".utf8) + [0xB6, 0xEE])
                == "not valid UTF-8 at line 2, column 6 (byte 0xB6); save the file as UTF-8 (a Chinese text saved as GBK reads like this)"
        )
        #expect(
            try reason([0xFF, 0xFE, 0x61, 0x00])
                == "UTF-16 text (it begins with a UTF-16 byte-order mark); save the file as UTF-8")
        #expect(
            try reason(Array("a = 1\nb".utf8) + [0x00] + Array("c".utf8))
                == "a NUL byte at line 2, column 2: not a text file (UTF-16 without a byte-order mark reads like this); save the file as UTF-8"
        )
        // The end of the file cuts a character in two.
        #expect(
            try reason(Array("余".utf8).dropLast())
                == "not valid UTF-8 at line 1, column 1 (byte 0xE4); save the file as UTF-8 (a Chinese text saved as GBK reads like this)"
        )
    }

    /// A FIFO, a folder, a device or a huge file is refused at once: none is read, none blocks.
    @Test func whatIsNotAFileIsRefusedWithoutWaiting() throws {
        try withTemporaryDirectoryNow { dir in
            let fifo = dir.appendingPathComponent("fifo.grammar").path
            #expect(mkfifo(fifo, 0o600) == 0)
            #expect(
                throws: TextFileError(
                    path: fifo, reason: "cannot read it (not a regular file: a FIFO, device or socket)")
            ) {
                try TextFile.read(fifo)
            }
            let device = dir.appendingPathComponent("zero.grammar").path
            try FileManager.default.createSymbolicLink(atPath: device, withDestinationPath: "/dev/zero")
            #expect(throws: TextFileError.self) { try TextFile.read(device) }
            #expect(throws: TextFileError(path: dir.path, reason: "cannot read it (it is a folder)")) {
                try TextFile.read(dir.path)
            }
            let huge = dir.appendingPathComponent("huge.prompts").path
            #expect(FileManager.default.createFile(atPath: huge, contents: nil))
            #expect(truncate(huge, off_t(TextFile.maxBytes + 1)) == 0)
            #expect(
                throws: TextFileError(
                    path: huge, reason: "larger than 4 MiB; a grammar or prompts file is a few kilobytes")
            ) {
                try TextFile.read(huge)
            }
            let missing = dir.appendingPathComponent("none.prompts").path
            #expect(throws: TextFileError(path: missing, reason: "cannot read it (no such file or directory)")) {
                try TextFile.read(missing)
            }
        }
    }

    private func withTemporaryDirectoryNow<T>(_ body: (URL) throws -> T) throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("selfcare-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        return try body(dir)
    }
}
