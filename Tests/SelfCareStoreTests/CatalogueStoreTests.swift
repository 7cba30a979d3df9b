import Foundation
import SelfCareCore
import SelfCareStore
import SelfCareTesting
import Testing

@Suite("Catalogue tables, on memory, SQLite and PostgreSQL")
struct CatalogueStoreTests {
    @Test(arguments: StoreKind.available)
    func cardsCataloguesFeaturesAndTicketsRoundTrip(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            try await Fixtures.seedCatalogue(store)
            var features = SubscriberFeatures()
            features.services = ["CLIP", "3WAY"]
            features.forwarding = ["busy": "13800138000"]
            features.roaming = true
            features.roamingDepositFen = 5000
            features.packs = [PackSubscription(code: "D10", month: "2026-11")]
            features.validUntil = LocalDate(year: 2026, month: 12, day: 31)
            features.surveyAskedAt = Fixtures.midNovember
            features.surveyPending = SurveyQuestion(operation: "roaming.on", channel: "sms", record: 7)
            let ticket = Ticket(
                id: 1, msisdn: "18612345678", kind: .spam, category: "spam", text: "中奖 \"链接\"", offender: "10690000123",
                created: Fixtures.midNovember)
            try await store.write { [features, ticket] writer in
                var card = try #require(try writer.card(Fixtures.cardSerial))
                card.state = .used
                card.usedAt = Fixtures.midNovember
                card.usedFor = "18612345678"
                try writer.save(card)
                try writer.save(features, of: "18612345678")
                #expect(try writer.lastTicketID() == 0)
                try writer.insert(ticket)
            }
            try await store.read { [features, ticket] reader in
                let card = try #require(try reader.card(Fixtures.cardSerial))
                #expect(card.state == .used && card.usedFor == "18612345678")
                #expect(card.usedAt == Fixtures.midNovember)
                #expect(card.pinDigest.count == 64 && card.expires == LocalDate(year: 2027, month: 12, day: 31))
                #expect(try reader.card("1999999999999999") == nil)
                #expect(try reader.dataPacks().map(\.code) == ["K5", "D10", "D20"], "cheapest first")
                #expect(try reader.dataPack("K5")?.plans == ["K19"])
                #expect(try reader.basicServices().map(\.code) == ["3WAY", "CLIP", "CRBT"])
                #expect(try reader.rewards().map(\.code) == ["R10", "R50"])
                #expect(try reader.reward("R99") == nil)
                #expect(try reader.features("18612345678") == features)
                #expect(try reader.features("18611110001") == SubscriberFeatures(), "nothing stored: nothing held")
                #expect(try reader.tickets("18612345678", limit: 5) == [ticket])
                #expect(try reader.lastTicketID() == 1)
            }
            // A second ticket with the same id is refused; the store keeps the first.
            await #expect(throws: (any Error).self) {
                try await store.write { [ticket] in try $0.insert(ticket) }
            }
            // A closed number's features go with its history.
            try await store.write { try $0.deleteHistory(of: "18612345678") }
            #expect(try await store.read { try $0.features("18612345678") } == SubscriberFeatures())
        }
    }
}

@Suite("Catalogue imports: cards, packs, services, rewards")
struct CatalogueImportTests {
    static let cards = """
        serial,pin,value_fen,validity_days,expires,state,used_at
        1000000000000001,123456789012345678,5000,30,2027-12-31,unused,
        1000000000000002,234567890123456789,10000,60,2027-12-31,used,2026-11-01T02:00:00Z
        1000000000000003,345678901234567890,3000,30,2026-10-31,expired,
        """

    @Test func cardsAreStoredWithTheirPINsDigestedAndASecondImportChangesNothing() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            let (first, rejects, _) = try await imp.importData(.cards, data: Data(Self.cards.utf8), source: "cards")
            #expect(first.applied == 3 && rejects.isEmpty)
            let card = try #require(try await store.read { try $0.card("1000000000000001") })
            #expect(card.pinDigest == (try Fixtures.hasher().cardPINDigest(Fixtures.cardPIN, serial: card.serial)))
            #expect(card.state == .unused && card.valueFen == 5000 && card.validityDays == 30)
            let (second, _, _) = try await imp.importData(.cards, data: Data(Self.cards.utf8), source: "cards")
            #expect(second.applied == 0 && second.unchanged == 3, "idempotent")
            let rows = try await dump(store, tables: ["cards"]).joined()
            #expect(!rows.contains("123456789012345678"), "the PIN is never stored")
        }
    }

    @Test func aCardUsedHereStaysUsedWhateverAnOlderVoucherFileSays() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            _ = try await imp.importData(.cards, data: Data(Self.cards.utf8), source: "cards")
            try await Fixtures.seed(store, subscribers: [Fixtures.subscriber()])
            let engine = try Fixtures.engine(store: store)
            var request = OperationRequest(
                operation: .rechargeCard, channel: .api, caller: "18612345678",
                arguments: ["card": "1000000000000001"])
            request.cardPIN = Fixtures.cardPIN
            #expect(await engine.perform(request).reason == .ok)
            let (again, _, _) = try await imp.importData(.cards, data: Data(Self.cards.utf8), source: "cards")
            #expect(again.applied == 0)
            let card = try #require(try await store.read { try $0.card("1000000000000001") })
            #expect(card.state == .used && card.usedFor == "18612345678")
        }
    }

    @Test func badCardRowsAreRejectedWithTheirPINsBlank() async throws {
        try await withTemporaryDatabase { store, dir in
            let csv = """
                serial,pin,value_fen,validity_days,expires,state,used_at
                12345,123456789012345678,5000,30,2027-12-31,unused,
                1000000000000011,12a456789012345678,5000,30,2027-12-31,unused,
                1000000000000012,223456789012345678,0,30,2027-12-31,unused,
                1000000000000013,323456789012345678,5000,30,2027-13-31,unused,
                1000000000000014,423456789012345678,5000,30,2027-12-31,used,
                1000000000000015,523456789012345678,5000,30,2027-12-31,lost,
                1000000000000016,623456789012345678,5000,30,2027-12-31
                1000000000000017,723456789012345678,5000,30,2027-12-31,unused,
                1000000000000018,823456789012345678,923456789012345678,30,2027-12-31,unused,
                """
            let path = dir.appendingPathComponent("cards.csv").path
            try csv.write(toFile: path, atomically: true, encoding: .utf8)
            let summary = try await importer(store).importFile(.cards, path: path)
            #expect(summary.applied == 1 && summary.rejected == 8)
            let rejects = try String(contentsOfFile: try #require(summary.rejectsPath), encoding: .utf8)
            #expect(rejects.contains("value_fen: must be at most 100000000, found `******************`"), "\(rejects)")
            for pin in [
                "123456789012345678", "12a456789012345678", "223456789012345678", "623456789012345678",
                "923456789012345678",
            ] {
                #expect(!rejects.contains(pin), "a rejects file never shows a PIN")
            }
            #expect(rejects.contains("serial: expected 10 to 20 digits"))
            #expect(rejects.contains("pin: expected 6 to 20 digits"))
            #expect(rejects.contains("value_fen: must be at least 1"))
            #expect(rejects.contains("used_at: required for a used card"))
            #expect(rejects.contains("state: expected one of unused, used, expired, frozen"))
        }
    }

    @Test func cardsNeedTheHasherThatKeepsThePepper() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = CSVImporter(engine: try Fixtures.engine(store: store), hasher: nil, pool: nil)
            await #expect(throws: ImportFileError.self) {
                _ = try await imp.importData(.cards, data: Data(Self.cards.utf8), source: "cards")
            }
            #expect(try await store.read { try $0.card("1000000000000001") } == nil)
        }
    }

    @Test func packsServicesAndRewardsImportAndRejectLikeThePlans() async throws {
        try await withTemporaryDatabase { store, _ in
            let imp = try importer(store)
            let packs = """
                code,name_zh,name_en,fee_fen,data_mb,payment,plans,on_sale
                D10,10元1GB流量包,1 GB pack,1000,1024,both,,true
                K5,王卡5元包,King pack,500,2048,prepaid,K19|k39,true
                X1,坏包,Bad,100,0,both,,true
                X2,坏包,Bad,100,10,sometimes,,true
                """
            let (p, pr, _) = try await imp.importData(.packs, data: Data(packs.utf8), source: "packs")
            #expect(p.applied == 2 && pr.map(\.line) == [4, 5])
            #expect(try await store.read { try $0.dataPack("K5") }?.plans == ["K19", "K39"])
            let services = """
                code,name_zh,name_en,monthly_fee_fen,on_sale
                3way,三方通话,Three-way calling,500,true
                CLIP,来电显示,Caller ID,-1,true
                """
            let (s, sr, _) = try await imp.importData(.services, data: Data(services.utf8), source: "services")
            #expect(s.applied == 1 && sr.map(\.line) == [3])
            #expect(
                try await store.read { try $0.basicService("3WAY") }?.nameEn == "Three-way calling", "codes upper-cased"
            )
            let rewards = """
                code,name_zh,name_en,points,value_fen
                R10,10元话费,CNY 10,1000,1000
                R0,白送,Free,0,1000
                """
            let (r, rr, _) = try await imp.importData(.rewards, data: Data(rewards.utf8), source: "rewards")
            #expect(r.applied == 1 && rr.map(\.reason) == ["points: must be at least 1, found 0"])
            for (kind, text) in [(ImportKind.packs, packs), (.services, services), (.rewards, rewards)] {
                let (again, _, _) = try await imp.importData(kind, data: Data(text.utf8), source: "again")
                #expect(again.applied == 0 && again.unchanged >= 1, "\(kind) twice changes nothing")
            }
        }
    }
}
