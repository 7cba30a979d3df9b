import Foundation
import SelfCareTesting
import Testing

@Suite("Bad input on the command line", .serialized)
struct BadInputCLITests {
    @Test func hostileTextsAndNumbersGetRepliesOrOneLineMessagesAndTheRecordsStayIntact() throws {
        try withDemoAndGrammars { dir in
            let texts = [
                "", String(repeating: "查", count: 10 * 1024), "😀😀😀 CXYE", "'; DROP TABLE records; --",
                "CXZD " + String(repeating: "9", count: 10 * 1024), "\u{7}\u{1B}[2J CXYE",
            ]
            for text in texts {
                let r = try run(["sms", "--from", "18612345678", text], in: dir)
                #expect(r.status == 0, "\(text.prefix(20)): \(r.stderr)")
                #expect(!r.stdout.isEmpty, "a reply for \(text.prefix(20))")
                #expect(!r.stdout.contains(String(repeating: "9", count: 32)), "digits are not echoed")
            }
            for number in ["999999999999999999999999999999", "'; DROP TABLE subscribers; --", "", "13900000000"] {
                let r = try run(["sms", "--from", number, "CXYE"], in: dir)
                #expect(r.status == 0 || r.stderr.hasPrefix("selfcare: "), "\(number): \(r.stderr)")
                #expect(r.stderr.split(separator: "\n").count <= 1, "one line at most: \(r.stderr)")
            }
            // Invalid UTF-8 and control bytes on standard input, as a gateway's pipe could deliver them.
            let bytes: [UInt8] =
                Array("18612345678 10010 ".utf8) + [0xFF, 0xFE, 0xC3, 0x28, 0x00] + Array("\n".utf8)
                + Array("18612345678 10010 CXYE\n".utf8)
            let piped = try run(["sms", "--interactive"], in: dir, stdinBytes: bytes)
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout.contains("余额为123.45元"), "the good line after the bad one is answered")
            // Malformed CSV imports: binary garbage and a wrong header are refused whole with one line.
            let garbage = dir.appendingPathComponent("garbage.csv")
            try Data([0x00, 0xFF, 0x13, 0x37, 0x0A, 0x01]).write(to: garbage)
            let g = try run(["import", "subscribers", garbage.path], in: dir)
            #expect(g.status != 0)
            #expect(g.stderr.hasPrefix("selfcare: ") || g.stdout.contains("rejected"), "\(g.stderr)")
            let header = dir.appendingPathComponent("header.csv")
            try "who,what\n1,2\n".write(to: header, atomically: true, encoding: .utf8)
            let h = try run(["import", "subscribers", header.path], in: dir)
            #expect(h.status == 1)
            #expect(h.stderr.split(separator: "\n").count == 1, "\(h.stderr)")
            let verify = try run(["records", "verify"], in: dir)
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }
}
