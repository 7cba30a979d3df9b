import Foundation
import SelfCareCore
import SelfCareTesting
import Testing

/// An engine over a memory store with two subscribers, the fixture catalogue and a clock to move.
struct CatalogueHarness {
    let store = MemoryServiceStore()
    let clock = ManualTimeSource(Fixtures.midNovember)
    let engine: OperationEngine

    init(configuration: EngineConfiguration = EngineConfiguration()) async throws {
        var standard = Fixtures.subscriber("18611110001")
        standard.tier = .standard
        standard.balanceFen = 5000
        try await Fixtures.seed(
            store, subscribers: [Fixtures.subscriber(), standard, Fixtures.subscriber("18611110002")])
        try await Fixtures.seedCatalogue(store)
        engine = try Fixtures.engine(store: store, clock: clock, configuration: configuration)
    }

    func recharge(
        from caller: String, card: String = Fixtures.cardSerial, pin: String, subject: String? = nil
    ) async
        -> OperationOutcome
    {
        var request = OperationRequest(
            operation: .rechargeCard, channel: .api, caller: caller, subject: subject, arguments: ["card": card])
        request.cardPIN = Secret(pin)
        return await engine.perform(request)
    }

    func perform(
        _ operation: OperationName, from caller: String = "18612345678", _ arguments: [String: String] = [:]
    )
        async -> OperationOutcome
    {
        await engine.perform(
            OperationRequest(
                operation: operation, channel: .api, caller: caller, arguments: arguments,
                password: Fixtures.password))
    }

    func subscriber(_ number: String = "18612345678") async throws -> Subscriber {
        try #require(try await store.read { try $0.subscriber(number) })
    }
}

@Suite("Recharge cards: PIN limits, states, another number")
struct RechargeCardTests {
    @Test func wrongPINsLockTheCallerThenTheRightPINIsRefusedUntilTheLockEnds() async throws {
        let h = try await CatalogueHarness()
        for attempt in 1...5 {
            let outcome = await h.recharge(from: "18612345678", pin: "11111111111111111\(attempt)")
            #expect(outcome.reason == .badPIN)
        }
        let locked = await h.recharge(from: "18612345678", pin: Fixtures.cardPIN.withText { $0 })
        #expect(locked.reason == .pinLocked, "the right PIN is refused while the caller is locked")
        #expect(try await h.subscriber().balanceFen == 12345)
        // The card is locked too (five wrong PINs for it): another phone with the right PIN is refused.
        let other = await h.recharge(from: "18611110001", pin: Fixtures.cardPIN.withText { $0 })
        #expect(other.reason == .pinLocked)
        h.clock.advance(by: 24 * 3600 + 1)
        let later = await h.recharge(from: "18612345678", pin: Fixtures.cardPIN.withText { $0 })
        #expect(later.reason == .ok, "both locks end after a day: \(later.reply)")
        #expect(try await h.subscriber().balanceFen == 12345 + 5000)
    }

    @Test func wrongPINsFromManyPhonesLockTheCardAlone() async throws {
        let h = try await CatalogueHarness()
        for n in 0..<5 {
            // Phones of no subscriber (a payphone, a landline at the IVR) may recharge a subscriber's number.
            let outcome = await h.recharge(
                from: "1390000000\(n)", pin: "22222222222222222\(n)", subject: "18612345678")
            #expect(outcome.reason == .badPIN)
        }
        let card = try #require(try await h.store.read { try $0.card(Fixtures.cardSerial) })
        let lock = try await h.store.read {
            try $0.callerThrottle(CatalogueRules.pinThrottleKey(card: Fixtures.cardSerial))
        }
        #expect(lock?.lockedUntil != nil && card.state == .unused)
        #expect(await h.recharge(from: "18612345678", pin: Fixtures.cardPIN.withText { $0 }).reason == .pinLocked)
        // Another card still takes the caller's right PIN: the caller itself is not locked.
        #expect(
            await h.recharge(
                from: "13900000009", card: "1000000000000002", pin: "123456789012345678", subject: "18612345678"
            ).reason == .cardUsed)
    }

    @Test func anUnknownSerialCountsAgainstTheCallerWithTheAnswerOfAWrongPIN() async throws {
        let h = try await CatalogueHarness()
        for _ in 0..<5 {
            #expect(
                await h.recharge(
                    from: "13900000001", card: "1999999999999999", pin: "123456789012345678", subject: "18612345678"
                ).reason == .badPIN)
        }
        #expect(
            await h.recharge(from: "13900000001", pin: Fixtures.cardPIN.withText { $0 }, subject: "18612345678").reason
                == .pinLocked,
            "probing serials locks the caller")
        #expect(try await h.store.read { try $0.card("1999999999999999") } == nil)
    }

    @Test func cardStatesAreToldOnlyAfterTheRightPIN() async throws {
        let h = try await CatalogueHarness()
        let pin = Fixtures.cardPIN.withText { $0 }
        let used = await h.recharge(from: "18612345678", card: "1000000000000002", pin: pin)
        #expect(used.reason == .cardUsed && used.reply.contains("2026-11-01 10:00"))
        #expect(!used.reply.contains("18600000000"), "never by whom")
        #expect(await h.recharge(from: "18612345678", card: "1000000000000003", pin: pin).reason == .cardExpired)
        #expect(await h.recharge(from: "18612345678", card: "1000000000000004", pin: pin).reason == .cardFrozen)
        #expect(
            await h.recharge(from: "18612345678", card: "1000000000000002", pin: "999999999999999999").reason == .badPIN
        )
        #expect(
            await h.recharge(from: "18612345678", card: "12345", pin: pin).reason == .invalidArgument,
            "a serial that is no serial")
    }

    @Test func anotherNumbersRechargeNeverShowsItsBalanceOrName() async throws {
        let h = try await CatalogueHarness()
        let outcome = await h.recharge(
            from: "18611110001", pin: Fixtures.cardPIN.withText { $0 }, subject: "18612345678")
        #expect(outcome.reason == .ok)
        #expect(!outcome.reply.contains("173.45") && !outcome.reply.contains("张伟"), "\(outcome.reply)")
        #expect(try await h.subscriber().balanceFen == 12345 + 5000)
        #expect(outcome.record?.subject == "18612345678" && outcome.record?.caller == "18611110001")
        // A number that is nobody's is refused as such, with nothing used.
        let nobody = await h.recharge(
            from: "18611110001", card: "1000000000000001", pin: Fixtures.cardPIN.withText { $0 }, subject: "13700000000"
        )
        #expect(nobody.reason == .cardUsed || nobody.reason == .unknownSubscriber)
    }
}

@Suite("Catalogue transactions and their undoing")
struct CatalogueCompensationTests {
    @Test func aRejectedRechargeTakesTheMoneyBackAndFreesTheCard() async throws {
        let h = try await CatalogueHarness()
        #expect(await h.recharge(from: "18612345678", pin: Fixtures.cardPIN.withText { $0 }).reason == .ok)
        let order = try #require(try await h.engine.orders(OrderFilter()).first)
        #expect(order.after["balance_fen"] == "17345" && order.after["card.\(Fixtures.cardSerial)"] == "used")
        // A later top-up does not stop the money from going back: balances add up.
        #expect(await h.perform(.pointsRedeem, ["reward": "R10"]).reason == .ok)
        _ = try await h.engine.answerOrder(key: order.key, answer: .rejected, reason: "card batch void", source: "test")
        let s = try await h.subscriber()
        #expect(s.balanceFen == 12345 + 1000, "the card's 50.00 taken back, the reward's 10.00 kept")
        let card = try #require(try await h.store.read { try $0.card(Fixtures.cardSerial) })
        #expect(card.state == .unused && card.usedFor == nil)
        let records = try await h.engine.records(matching: RecordFilter())
        #expect(records.contains { $0.operation == "order.compensate" && $0.reason == "ok" })
    }

    @Test func aRejectedRoamingActivationTurnsRoamingOffAndReturnsTheDeposit() async throws {
        let h = try await CatalogueHarness()
        #expect(await h.perform(.serviceSubscribe, from: "18611110001", ["service": "3WAY"]).reason == .ok)
        let on = await h.perform(.roamingOn, from: "18611110001")
        #expect(on.reason == .ok && on.reply.contains("50.00"))
        #expect(try await h.subscriber("18611110001").balanceFen == 0)
        let order = try #require(try await h.engine.orders(OrderFilter()).last)
        #expect(order.operation == "roaming.on" && order.after["service.3WAY"] == "off")
        _ = try await h.engine.answerOrder(key: order.key, answer: .rejected, reason: "no", source: "test")
        let features = try await h.store.read { try $0.features("18611110001") }
        #expect(!features.roaming && features.roamingDepositFen == 0 && features.services == ["3WAY"])
        #expect(try await h.subscriber("18611110001").balanceFen == 5000)
    }

    @Test func aRejectedTicketIsClosedNotUndone() async throws {
        let h = try await CatalogueHarness()
        #expect(await h.perform(.complaintFile, ["text": "bad signal", "category": "network"]).reason == .ok)
        let order = try #require(try await h.engine.orders(OrderFilter()).first)
        #expect(order.after["ticket"] == "TS00000001" && order.after["text"] == "bad signal")
        _ = try await h.engine.answerOrder(key: order.key, answer: .rejected, reason: "duplicate", source: "test")
        let records = try await h.engine.records(matching: RecordFilter())
        #expect(!records.contains { $0.operation == "order.compensate" })
        let status = await h.perform(.complaintStatus)
        #expect(status.reply.contains("TS00000001") && status.reply.contains("duplicate"), "\(status.reply)")
    }
}

@Suite("Satisfaction survey")
struct SurveyTests {
    func record(_ hash: String, operation: String = "roaming.on", result: String = "ok") -> ServiceRecord {
        ServiceRecord(
            id: 1, time: "2026-11-15T02:00:00.000Z", channel: "ussd", session: nil, caller: "1", subject: "1",
            operation: operation, inputs: "{}", auth: "ok", result: result, reason: "ok", reply: "", durationMS: 0,
            prevHash: "", hash: hash)
    }

    @Test func theSampleFollowsTheRecordHash() {
        var policy = SurveyPolicy()
        #expect(!policy.asks(after: record("00000000")), "off by default")
        policy.sampleRate = 0.5
        #expect(policy.asks(after: record("7fffffff")))
        #expect(!policy.asks(after: record("80000001")))
        #expect(!policy.asks(after: record("00000000", result: "refused")), "only what succeeded")
        #expect(!policy.asks(after: record("00000000", operation: "complaint.file")), "tickets are not rated")
        policy.sampleRate = 1
        #expect(policy.asks(after: record("ffffffff")))
        #expect(SurveyPolicy.operations(parsing: "roaming.on, points.redeem") == [.roamingOn, .pointsRedeem])
        #expect(SurveyPolicy.operations(parsing: "roaming.of") == nil)
    }

    @Test func theReportCountsRatingsByLocalWeekOperationAndChannel() {
        var report = SurveyReport(calendar: LocalCalendar())
        func rating(_ time: String, _ operation: String, _ channel: String, _ value: String) -> ServiceRecord {
            ServiceRecord(
                id: 1, time: time, channel: channel, session: nil, caller: "1", subject: "1", operation: "survey.rate",
                inputs: "{\"channel\":\"\(channel)\",\"operation\":\"\(operation)\",\"rating\":\"\(value)\"}",
                auth: "none", result: "ok", reason: "ok", reply: "", durationMS: 0, prevHash: "", hash: "")
        }
        // Sunday 2026-11-15 23:30 and Monday 2026-11-16 00:30 in Beijing: two weeks.
        report.add(rating("2026-11-15T15:30:00.000Z", "roaming.on", "ussd", "5"))
        report.add(rating("2026-11-15T15:45:00.000Z", "roaming.on", "ussd", "4"))
        report.add(rating("2026-11-15T15:50:00.000Z", "roaming.on", "ussd", "skipped"))
        report.add(rating("2026-11-15T16:30:00.000Z", "roaming.on", "ussd", "1"))
        report.add(rating("2026-11-15T16:30:00.000Z", "recharge.card", "ivr", "3"))
        report.add(record("x", operation: "roaming.on"))  // not a rating
        let rows = report.rows
        #expect(rows.map(\.week.description) == ["2026-11-09", "2026-11-16", "2026-11-16"])
        #expect(rows[0].cells == ["2026-11-09", "roaming.on", "ussd", "2", "1", "4.50", "0", "0", "0", "1", "1"])
        #expect(rows[1].operation == "recharge.card" && rows[1].average == "3.00")
        #expect(rows[2].rated == 1 && rows[2].skipped == 0)
    }
}

@Suite("Catalogue findings of the hostile review")
struct CatalogueReviewTests {
    @Test func aCardsWrongPINsCountOnlyWithinTheirWindow() async throws {
        let h = try await CatalogueHarness()
        for n in 0..<4 {
            #expect(
                await h.recharge(from: "1390000000\(n)", pin: "33333333333333333\(n)", subject: "18612345678").reason
                    == .badPIN)
        }
        h.clock.advance(by: 25 * 3600)
        #expect(
            await h.recharge(from: "13900000009", pin: "444444444444444444", subject: "18612345678").reason == .badPIN)
        #expect(
            await h.recharge(from: "18612345678", pin: Fixtures.cardPIN.withText { $0 }).reason == .ok,
            "four old guesses and one new one do not lock the card")
    }

    @Test func theNumberToRechargeIsToldOnlyAfterTheRightPINAndProbesCount() async throws {
        let h = try await CatalogueHarness()
        // Without a card: the same answer for a real number and for nobody's.
        let nobody = await h.recharge(
            from: "13900000001", card: "1999999999999999", pin: "111111", subject: "13700000000")
        let real = await h.recharge(
            from: "13900000001", card: "1999999999999999", pin: "111111", subject: "18612345678")
        #expect(nobody.reason == .badPIN && real.reason == .badPIN && nobody.reply == real.reply)
        // With a good card, probing numbers counts against the caller's limit like wrong PINs.
        for n in 0..<3 {
            #expect(
                await h.recharge(from: "13900000001", pin: Fixtures.cardPIN.withText { $0 }, subject: "1370000000\(n)")
                    .reason == .unknownSubscriber)
        }
        #expect(
            await h.recharge(from: "13900000001", pin: Fixtures.cardPIN.withText { $0 }, subject: "18612345678").reason
                == .pinLocked)
    }

    @Test func aCancelledPackRefundsWhatWasPaidNotTodaysPrice() async throws {
        let h = try await CatalogueHarness()
        #expect(await h.perform(.dataPackOrder, ["pack": "D20", "when": "next"]).reason == .ok)
        try await h.store.write { writer in
            var pack = try #require(try writer.dataPack("D20"))
            pack.feeFen = 9000
            try writer.save(pack)
        }
        let cancel = await h.perform(.dataPackCancel, ["pack": "D20"])
        #expect(cancel.reason == .ok && cancel.reply.contains("20.00"), "\(cancel.reply)")
        #expect(try await h.subscriber().balanceFen == 12345)
    }

    @Test func hugeAmountsAreAFaultNotATrap() async throws {
        let h = try await CatalogueHarness()
        try await h.store.write { writer in
            try writer.save(Reward(code: "RB", nameZh: "大", nameEn: "Big", points: 1, valueFen: Int.max / 2))
        }
        var outcomes: [ReasonCode] = []
        for _ in 0..<3 { outcomes.append(await h.perform(.pointsRedeem, ["reward": "RB"]).reason) }
        #expect(outcomes == [.ok, .internalError, .internalError], "\(outcomes)")
    }

    @Test func forwardingToOnesOwnNumberInAnySpellingIsRefusedBeforeThePassword() async throws {
        let h = try await CatalogueHarness()
        for target in ["018612345678", "+8618612345678", "8618612345678"] {
            #expect(await h.perform(.forwardingSet, ["target": target]).reason == .invalidTarget, "\(target)")
        }
        let noNumber = await h.engine.perform(
            OperationRequest(
                operation: .forwardingSet, channel: .api, caller: "18612345678", arguments: ["target": "110"]))
        #expect(noNumber.reason == .invalidTarget, "no password needed to say 110 is no target")
    }

    @Test func aRechargeInTheLockedPeriodReturnsToTheValidOne() async throws {
        let h = try await CatalogueHarness()
        var locked = Fixtures.subscriber("18611110008", payment: .prepaid, period: .locked, plan: "K19")
        locked.balanceFen = -200
        try await h.store.write { [locked] in try $0.save(locked) }
        #expect(await h.perform(.roamingOn, from: "18611110008").reason == .prepaidPeriod, "not `arrears`")
        #expect(await h.recharge(from: "18611110008", pin: Fixtures.cardPIN.withText { $0 }).reason == .ok)
        let s = try await h.subscriber("18611110008")
        #expect(s.prepaidPeriod == .valid && s.balanceFen == 4800)
    }

    @Test func complaintTextsLoseSecretsTypedInParts() {
        let text = BusinessRules.ticketText(
            "pw 258-036, PIN 123-456-789-012-345-678, card 1234 5678 9012 3456, on 2026-11-15 10:30, call 18612345678",
            limit: 500)
        for secret in ["258-036", "123-456", "789-012", "345-678", "1234 5678", "9012 3456"] {
            #expect(!text.contains(secret), "\(text)")
        }
        #expect(text.contains("2026-11-15") && text.contains("10:30") && text.contains("18612345678"), "kept: \(text)")
    }
}

@Suite("Catalogue findings of the second review")
struct CatalogueSecondReviewTests {
    @Test func aRechargeForAnotherNumberAnswersInTheCallersLanguage() async throws {
        let h = try await CatalogueHarness()
        try await h.store.write { writer in
            var english = try #require(try writer.subscriber("18611110002"))
            english.language = .english
            try writer.save(english)
        }
        // A stranger's wrong PIN for an English speaker's number and for nobody's: the same words.
        let real = await h.recharge(
            from: "13900000003", card: "1999999999999999", pin: "111111", subject: "18611110002")
        let nobody = await h.recharge(
            from: "13900000003", card: "1999999999999999", pin: "111111", subject: "13700000001")
        #expect(real.reply == nobody.reply && real.language == .chinese, "\(real.reply) / \(nobody.reply)")
    }

    @Test func aConfirmationAppliesTheAmountItStatedOrNothing() async throws {
        let h = try await CatalogueHarness()
        var ask = OperationRequest(
            operation: .pointsRedeem, channel: .sms, caller: "18612345678", arguments: ["reward": "R10"],
            password: Fixtures.password)
        ask.requiresConfirmation = true
        #expect(await h.engine.perform(ask).reason == .confirmationRequired)
        try await h.store.write { writer in
            try writer.save(Reward(code: "R10", nameZh: "10元话费", nameEn: "CNY 10 credit", points: 3000, valueFen: 1000))
        }
        let confirmed = await h.engine.confirm(caller: "18612345678", channel: .sms, session: nil)
        #expect(confirmed.reason == .termsChanged, "\(confirmed.reply)")
        #expect(try await h.subscriber().points == 3200, "nothing applied")
        // Unchanged terms apply.
        #expect(await h.engine.perform(ask).reason == .confirmationRequired)
        #expect(await h.engine.confirm(caller: "18612345678", channel: .sms, session: nil).reason == .ok)
        #expect(try await h.subscriber().points == 200)
    }

    @Test func anArgumentNoOperationTakesNeverReachesARecord() async throws {
        let h = try await CatalogueHarness()
        var request = OperationRequest(
            operation: .rechargeCard, channel: .api, caller: "18612345678",
            arguments: ["card": "1000000000000004", "card_pin": "789012345678901234", "pwd": "258036"])
        request.cardPIN = Secret("123456789012345678")
        let outcome = await h.engine.perform(request)
        let record = try #require(outcome.record)
        #expect(!record.jsonLine.contains("789012345678901234") && !record.jsonLine.contains("258036"))
        #expect(record.inputValues["card"] == "1000000000000004")
    }
}
