import Foundation
import SelfCareTesting
import Testing

@Suite("The catalogue on the command line")
struct CatalogueCLITests {
    /// A voucher file imported by `selfcare import cards` (with the pepper beside the database), a card recharged by
    /// `selfcare op` with its PIN on standard input, and the survey's ratings reported by `selfcare survey report`.
    @Test func importCardsRechargeAndReportTheSurvey() throws {
        try withDemo { dir in
            let cards = """
                serial,pin,value_fen,validity_days,expires,state
                2000000000000001,111122223333444455,2000,30,2099-12-31,unused
                2000000000000002,12345,2000,30,2099-12-31,unused
                """
            try cards.write(to: dir.appendingPathComponent("cards.csv"), atomically: true, encoding: .utf8)
            let imported = try run(["import", "cards", "cards.csv"], in: dir)
            #expect(imported.status == 2, "one bad row: \(imported.stderr)")
            #expect(imported.stdout.contains("applied 1"), "\(imported.stdout)")
            let rejects = try String(contentsOf: dir.appendingPathComponent("cards.rejects.csv"), encoding: .utf8)
            #expect(rejects.contains("pin: expected 6 to 20 digits") && !rejects.contains("12345,"))
            let recharge = try run(
                ["op", "recharge.card", "--from", "18612345678", "--arg", "card=2000000000000001"], in: dir,
                stdin: "111122223333444455\n")
            #expect(recharge.status == 0, "\(recharge.stdout)\(recharge.stderr)")
            #expect(recharge.stdout.contains("************0001") && recharge.stdout.contains("143.45"))
            #expect(!recharge.stdout.contains("111122223333444455"))
            let again = try run(
                ["op", "recharge.card", "--from", "18612345678", "--arg", "card=2000000000000001"], in: dir,
                stdin: "111122223333444455\n")
            #expect(again.status == 3 && again.stdout.hasSuffix("reason: card_used\n"))

            let survey = ["SELFCARE_SURVEY_PERCENT": "100"]
            let ussd = try run(
                ["ussd", "--from", "18612345678", "*100*8*1#", "2", "258036", "1", "4"], in: dir, environment: survey)
            #expect(ussd.stdout.contains("END 感谢您的评价！"), "\(ussd.stdout)")
            let report = try run(["survey", "report", "--format", "csv"], in: dir)
            #expect(report.status == 0)
            let lines = report.stdout.split(separator: "\r\n").map(String.init)
            #expect(lines.first == "week,operation,channel,rated,skipped,average,r1,r2,r3,r4,r5")
            #expect(
                lines.dropFirst().first?.hasSuffix(",service.subscribe,ussd,1,0,4.00,0,0,0,1,0") == true, "\(lines)")
            #expect(try run(["records", "verify"], in: dir).status == 0)
        }
    }
}
