/// The texts grammar-matching benchmarks measure, and the baseline they are measured against.
public enum SMSMix {
    /// A realistic mix of inbound texts: mostly queries, some with passwords and arguments, full-width and
    /// lower-case forms, Chinese and English keywords, and texts that match nothing.
    public static let texts: [String] = [
        "CXYE", "cxye", "YE", "查余额", "余额", "ＣＸＹＥ", " cxye ", "CXTC", "查套餐", "CXLL", "查流量", "CXJF", "BALANCE",
        "CXZD 202610 258036", "查账单 258036", "CXXD 258036", "CXYW 258036", "CXPUK 258036", "GS 258036",
        "挂失 18612345678 258036", "JG 258036", "TCBG P58 258036", "套餐变更 P58 次月 258036", "tcbg#k19#cy#258036",
        "QXBG 258036", "TJBH CY 258036", "FJ 258036", "MMXG 258036 147036 147036", "HELP", "帮助", "?", "Y", "是",
        "hello", "你好，我想查一下话费", "CXYE 123", "12345", "",
    ]

    /// The simplest possible keyword table, as a home-made script would do it: upper-case, split on
    /// spaces, look the first word up in a dictionary.
    public static let keywordTable: [String: String] = {
        var table: [String: String] = [:]
        let pairs: [(String, [String])] = [
            ("query.balance", ["CXYE", "YE", "查余额", "余额", "BALANCE"]), ("query.plan", ["CXTC", "查套餐"]),
            ("query.data", ["CXLL", "查流量"]), ("query.points", ["CXJF", "查积分"]), ("query.bill", ["CXZD", "查账单"]),
            ("query.calls", ["CXXD"]), ("query.services", ["CXYW"]), ("query.puk", ["CXPUK"]),
            ("loss.report", ["GS", "挂失"]), ("loss.cancel", ["JG"]), ("plan.change", ["TCBG", "套餐变更"]),
            ("plan.cancel", ["QXBG"]), ("suspend.keep", ["TJBH"]), ("suspend.resume", ["FJ"]),
            ("password.change", ["MMXG"]), ("help", ["HELP", "帮助", "?"]), ("confirm", ["Y", "是"]),
        ]
        for (op, words) in pairs { for w in words { table[w] = op } }
        return table
    }()

    /// The baseline's lookup of one text.
    public static func lookUp(_ text: String) -> String? {
        keywordTable[text.uppercased().split(separator: " ").first.map(String.init) ?? ""]
    }
}
