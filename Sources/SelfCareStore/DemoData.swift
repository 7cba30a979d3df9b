import Foundation
import SelfCareCore

/// The demo data set `selfcare init --demo` loads: plans, subscribers covering every state,
/// payment type, prepaid period, tier and flag, two months of usage, some calls and some payments, and the
/// catalogue: recharge cards in every state, data packs, basic services and rewards.
///
/// The files go through the same importer as the billing system's, so the demo also exercises it.
/// Everything dated is relative to the clock the demo is loaded with, so its stories hold in any month:
/// usage is for this month and last month, the calls are of the previous day, and the contracts end
/// next month (18611110020), in seven months (18611110010) and in thirteen (18611110017).
/// The passwords are for the demo only.
public enum DemoData {
    /// The demo plan catalogue, as a plans file.
    public static let plans = """
        code,name_zh,name_en,monthly_fee_fen,voice_minutes,sms,data_mb,payment,on_sale,contract_ok
        P18,畅享18元套餐,Basic 18,1800,100,50,1024,both,true,false
        P38,畅享38元套餐,Smart 38,3800,300,100,5120,both,true,false
        P58,畅享58元套餐,Smart 58,5800,500,200,20480,postpaid,true,true
        P98,尊享98元套餐,Premier 98,9800,1000,300,51200,postpaid,true,true
        K19,大王卡19元,King Card 19,1900,100,0,30720,prepaid,true,false
        K39,预付费畅聊39元,Prepaid Talk 39,3900,300,100,10240,prepaid,true,true
        L28,老用户28元套餐(已停售),Legacy 28 (withdrawn),2800,200,100,500,both,false,false
        """

    /// Each demo subscriber, with what it shows; the README's demo table is this list. Contract ends are
    /// counted in months from `thisMonth` (`contractEnds`).
    public static func subscribers(thisMonth: Month) -> String {
        withContractEnds(subscriberTemplate, thisMonth: thisMonth)
    }

    /// `text` with each contract-end placeholder replaced by its date for a demo loaded in `thisMonth`.
    static func withContractEnds(_ text: String, thisMonth: Month) -> String {
        contractEnds.reduce(text) { text, end in
            text.replacingOccurrences(of: end.placeholder, with: thisMonth.advanced(by: end.months).lastDay.description)
        }
    }

    /// The placeholders of the contract ends in `subscriberTemplate`, and how many months after this one
    /// each contract ends (on the month's last day).
    static let contractEnds: [(placeholder: String, months: Int)] = [
        ("{contract+7}", 7), ("{contract+13}", 13), ("{contract+1}", 1),
    ]

    static let subscriberTemplate = """
        msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password,puk
        18612345678,张伟,normal,postpaid,,P58,12345,3200,gold,zh-CN,false,,false,258036,12345678
        18611110001,Li Na,normal,postpaid,,P38,5620,880,standard,en,false,,false,470159,23456789
        18611110002,王芳,lost,postpaid,,P58,8800,1500,silver,zh-CN,false,,false,369258,34567890
        18611110003,刘洋,arrears,postpaid,,P38,-4580,120,standard,zh-CN,false,,false,142857,45678901
        18611110004,陈静,suspended,postpaid,,P38,3000,640,standard,zh-CN,false,,false,531864,56789012
        18611110005,杨磊,closed,postpaid,,P18,0,0,standard,zh-CN,false,,false,602938,67890123
        18611110006,赵敏,normal,prepaid,valid,K19,2560,300,standard,zh-CN,false,,false,715203,78901234
        18611110007,黄强,normal,prepaid,recharge,K19,0,90,standard,zh-CN,false,,false,826314,89012345
        18611110008,周杰,normal,prepaid,locked,K39,-200,45,standard,zh-CN,false,,false,937425,90123456
        18688888888,吴刚,normal,postpaid,,P98,56000,98000,supreme,zh-CN,true,,false,180462,11223344
        18611110010,徐丽,normal,postpaid,,P58,23000,15600,diamond,zh-CN,false,{contract+7},false,293571,22334455
        18611110011,孙涛,normal,postpaid,,P38,4100,2100,silver,zh-CN,false,,false,304682,33445566
        18611110012,马超,normal,postpaid,,P38,7600,5400,vip,zh-CN,false,,false,415793,44556677
        18611110013,朱琳,normal,postpaid,,P18,1500,60,standard,zh-CN,false,,false,,55667788
        18611110014,胡军,normal,postpaid,,P58,9900,300,standard,zh-CN,false,,true,526804,66778899
        18611110015,Emma Wang,normal,prepaid,valid,K39,8800,2600,gold,en,false,,false,637915,77889900
        18611110016,郭敏,arrears,prepaid,valid,K19,-1200,30,standard,zh-CN,false,,false,748026,88990011
        18611110017,何平,normal,postpaid,,P98,32000,45000,diamond,zh-CN,true,{contract+13},false,859137,99001122
        18611110018,高洁,normal,postpaid,,L28,6600,800,standard,zh-CN,false,,false,960248,10203040
        18611110019,林峰,lost,prepaid,valid,K39,4300,700,silver,zh-CN,false,,false,071359,20304050
        18611110020,罗兰,normal,postpaid,,P38,5200,1900,gold,zh-CN,false,{contract+1},false,182460,30405060
        18611110021,David Chen,suspended,postpaid,,P58,12000,3300,silver,en,false,,false,293517,40506070
        18611110022,梁静,normal,prepaid,valid,K19,1800,26000,supreme,zh-CN,false,,false,304628,50607080
        """

    /// What each demo number shows, for the README and `init --demo`'s output, with the contract ends of
    /// a demo loaded in `thisMonth`.
    public static func guide(thisMonth: Month) -> [(number: String, password: String, shows: String)] {
        guideTemplate.map { ($0.number, $0.password, withContractEnds($0.shows, thisMonth: thisMonth)) }
    }

    static let guideTemplate: [(number: String, password: String, shows: String)] = [
        ("18612345678", "258036", "normal postpaid, gold, Smart 58; the everyday case (no roaming deposit)"),
        ("18611110001", "470159", "English-speaking customer (replies in English); roaming takes a deposit"),
        ("18611110002", "369258", "lost (挂失): loss.cancel works, plan.change refused state_lost"),
        ("18611110003", "142857", "arrears (欠费停机), negative balance: plan.change refused arrears"),
        ("18611110004", "531864", "suspended (停机保号): suspend.resume works"),
        ("18611110005", "602938", "closed (销户): everything refused closed"),
        ("18611110006", "715203", "prepaid in its valid period (有效期)"),
        ("18611110007", "826314", "prepaid in its recharge period (充值期): refused prepaid_period"),
        ("18611110008", "937425", "prepaid in its locked period (锁定期)"),
        ("18688888888", "180462", "premium number (靓号), supreme tier: suspend.keep refused premium_number"),
        ("18611110010", "293571", "contract until {contract+7}, diamond: plan.change to P38 refused contract"),
        ("18611110011", "304682", "silver tier"),
        ("18611110012", "415793", "vip tier"),
        ("18611110013", "(none)", "no service password set: password_not_set"),
        ("18611110014", "526804", "on the blacklist (黑名单): roaming.on refused blacklisted"),
        ("18611110015", "637915", "English, prepaid valid, gold"),
        ("18611110016", "748026", "prepaid in arrears"),
        ("18611110017", "859137", "premium and under contract until {contract+13}, diamond"),
        ("18611110018", "960248", "on a withdrawn plan (L28)"),
        ("18611110019", "071359", "prepaid and lost"),
        ("18611110020", "182460", "contract ending {contract+1}, gold"),
        ("18611110021", "293517", "English, suspended"),
        ("18611110022", "304628", "prepaid, supreme tier; balance too low for the D20 pack"),
    ]

    /// Two months of usage (this month so far and last month) for every live subscriber.
    public static func usage(thisMonth: Month) -> String {
        let last = thisMonth.previous
        var lines = ["msisdn,month,voice_used,sms_used,data_used_mb,charges_fen"]
        let numbers = subscriberNumbers.filter { $0 != "18611110005" }
        for (i, number) in numbers.enumerated() {
            let k = i + 1
            lines.append(
                "\(number),\(last),\(80 + k * 17 % 300),\(10 + k * 7 % 90),\(900 + k * 733 % 9000),\(3800 + k * 431 % 6000)"
            )
            lines.append(
                "\(number),\(thisMonth),\(20 + k * 11 % 150),\(3 + k * 5 % 40),\(300 + k * 577 % 4000),\(1200 + k * 257 % 3000)"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// A few recent calls for the first subscribers, in the hours before the start of `now`'s UTC day, so
    /// loading the demo again the same day changes nothing.
    public static func calls(before now: Date) -> String {
        let dayStart = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        var lines = ["msisdn,started_at,peer,direction,duration_s,charge_fen"]
        let peers = ["13800138000", "13912345678", "18600001111", "02088886666", "15011112222", "057112345678"]
        for (n, number) in subscriberNumbers.prefix(4).enumerated() {
            for i in 0..<6 {
                let at = dayStart.addingTimeInterval(-Double((i + 1) * 9_000 + n * 600)).timeIntervalSince1970.rounded()
                let time = ISOTime.format(Date(timeIntervalSince1970: at)).replacingOccurrences(of: ".000Z", with: "Z")
                lines.append(
                    "\(number),\(time),\(peers[(i + n) % peers.count]),\(i % 3 == 1 ? "in" : "out"),\(37 + i * 83 % 600),\(i % 3 == 1 ? 0 : 10 + i * 10)"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Three payments (缴费历史) for each of the first subscribers, 10, 40 and 70 days before the start of `now`'s
    /// UTC day, so `query.payments` has something to show and loading the demo again the same day changes nothing.
    public static func payments(before now: Date) -> String {
        let dayStart = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        var lines = ["id,msisdn,paid_at,amount_fen,method"]
        let methods = ["online", "counter", "card", "bank"]
        for (n, number) in subscriberNumbers.prefix(4).enumerated() {
            for i in 0..<3 {
                let at = dayStart.addingTimeInterval(-Double(10 + i * 30) * 86_400 + Double(9 * 3600 + n * 600))
                let time = ISOTime.format(at).replacingOccurrences(of: ".000Z", with: "Z")
                lines.append(
                    "DEMO-\(number)-\(i + 1),\(number),\(time),\((i + 1) * 5000 + n * 1000),\(methods[(i + n) % 4])")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The demo recharge cards 充值卡, as a cards file: four unused cards, a used one, an expired one and a frozen
    /// one. Expiry dates count from `thisMonth`; the used card was used 5 days before the start of `now`'s UTC day.
    /// The PINs are for the demo only (`cardGuide`).
    public static func cards(thisMonth: Month, now: Date) -> String {
        let dayStart = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        let used = ISOTime.format(dayStart.addingTimeInterval(-5 * 86_400 + 10 * 3600))
            .replacingOccurrences(of: ".000Z", with: "Z")
        let later = thisMonth.advanced(by: 12).lastDay.description
        let gone = thisMonth.previous.lastDay.description
        return """
            serial,pin,value_fen,validity_days,expires,state,used_at
            1000000000000001,123456789012345678,5000,30,\(later),unused,
            1000000000000002,234567890123456789,10000,60,\(later),unused,
            1000000000000003,345678901234567890,3000,30,\(later),unused,
            1000000000000004,456789012345678901,5000,30,\(later),unused,
            1000000000000005,567890123456789012,5000,30,\(later),used,\(used)
            1000000000000006,678901234567890123,5000,30,\(gone),expired,
            1000000000000007,789012345678901234,5000,30,\(later),frozen,
            """
    }

    /// What each demo card shows: its serial, PIN and state.
    public static let cardGuide: [(serial: String, pin: String, shows: String)] = [
        ("1000000000000001", "123456789012345678", "unused, CNY 50.00, 30 days"),
        ("1000000000000002", "234567890123456789", "unused, CNY 100.00, 60 days"),
        ("1000000000000003", "345678901234567890", "unused, CNY 30.00, 30 days"),
        ("1000000000000004", "456789012345678901", "unused, CNY 50.00, 30 days"),
        ("1000000000000005", "567890123456789012", "used 5 days ago: refused card_used"),
        ("1000000000000006", "678901234567890123", "expired last month: refused card_expired"),
        ("1000000000000007", "789012345678901234", "frozen by the voucher system: refused card_frozen"),
    ]

    /// The demo data packs 流量包: two for everyone, one for King Card 19 only, one for postpaid Smart 58 and
    /// Premier 98 only, and a withdrawn one.
    public static let packs = """
        code,name_zh,name_en,fee_fen,data_mb,payment,plans,on_sale
        D10,10元1GB流量包,1 GB pack,1000,1024,both,,true
        D20,20元3GB流量包,3 GB pack,2000,3072,both,,true
        K5,王卡5元2GB包,King 2 GB pack,500,2048,prepaid,K19,true
        P30,30元10GB后付费包,Postpaid 10 GB pack,3000,10240,postpaid,P58|P98,true
        X15,15元2GB包(已停售),2 GB pack (withdrawn),1500,2048,both,,false
        """

    /// The demo basic services 基础业务.
    public static let services = """
        code,name_zh,name_en,monthly_fee_fen,on_sale
        CLIP,来电显示,Caller ID,600,true
        CRBT,彩铃,Ring-back tone,500,true
        3WAY,三方通话,Three-way calling,500,true
        CW,呼叫等待,Call waiting,0,true
        VMAIL,语音信箱(已停办),Voicemail (withdrawn),300,false
        """

    /// The demo rewards 积分兑换: recharge value for points.
    public static let rewards = """
        code,name_zh,name_en,points,value_fen
        R5,5元话费,CNY 5 credit,500,500
        R10,10元话费,CNY 10 credit,1000,1000
        R50,50元话费,CNY 50 credit,4800,5000
        """

    /// The demo subscribers' numbers, in the file's order.
    public static var subscriberNumbers: [String] {
        subscriberTemplate.split(separator: "\n").dropFirst().map { String($0.prefix { $0 != "," }) }
    }

    /// Loads the demo set through `importer`; returns each file's summary.
    public static func load(
        with importer: CSVImporter, now: Date, calendar: LocalCalendar
    ) async throws
        -> [(ImportKind, ImportSummary)]
    {
        var results: [(ImportKind, ImportSummary)] = []
        let thisMonth = calendar.month(of: now)
        let files: [(ImportKind, String)] = [
            (.plans, plans), (.subscribers, subscribers(thisMonth: thisMonth)), (.usage, usage(thisMonth: thisMonth)),
            (.calls, calls(before: now)), (.payments, payments(before: now)),
            (.cards, cards(thisMonth: thisMonth, now: now)), (.packs, packs), (.services, services),
            (.rewards, rewards),
        ]
        for (kind, text) in files {
            let (summary, rejects, _) = try await importer.importData(
                kind, data: Data(text.utf8), source: "demo \(kind)")
            guard rejects.isEmpty else {
                throw ImportFileError(
                    path: "demo \(kind)", message: "rejected: \(rejects.map { "line \($0.line): \($0.reason)" })")
            }
            results.append((kind, summary))
        }
        return results
    }
}
