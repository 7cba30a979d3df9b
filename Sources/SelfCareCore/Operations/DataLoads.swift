import Foundation

/// One row of the billing system's data, parsed and checked on its own: what a data load applies.
public enum LoadItem: Sendable, Equatable {
    /// A plan of the catalogue.
    case plan(Plan)
    /// A subscriber, with the password already hashed (`passwordHash`) or none.
    case subscriber(Subscriber)
    /// A month of a subscriber's usage.
    case usage(UsageMonth)
    /// One call of a subscriber's call details.
    case call(CallDetail)
    /// One payment of a subscriber's payment history.
    case payment(Payment)
    /// One change event of a subscriber.
    case event(SubscriberEvent)
    /// A delta's `close` row of a subscriber file: the number is closed (销户).
    case closeSubscriber(String)
    /// A delta's `close` row of a plan file: the plan is taken off sale (subscribers on it keep it).
    case closePlan(String)
    /// Billing's answer to a service order, by its idempotency key, with its reason.
    case answer(key: String, OrderAnswer, reason: String)
    /// A recharge card from the voucher system, its PIN already digested (`pinDigest`).
    case card(RechargeCard)
    /// A data pack of the catalogue.
    case pack(DataPack)
    /// A basic service of the catalogue.
    case service(BasicService)
    /// A reward of the points catalogue.
    case reward(Reward)

    /// What makes two rows the same row: the table's primary key, normalised.
    public var key: String {
        switch self {
        case .plan(let p): p.code
        case .subscriber(let s): s.msisdn
        case .usage(let u): "\(u.msisdn)|\(u.month)"
        case .call(let c): "\(c.msisdn)|\(ISOTime.format(c.startedAt))|\(c.peer)"
        case .payment(let p): p.id
        case .event(let e): e.id
        case .closeSubscriber(let msisdn): msisdn
        case .closePlan(let code): code
        case .answer(let key, _, _): key
        case .card(let card): card.serial
        case .pack(let pack): pack.code
        case .service(let service): service.code
        case .reward(let reward): reward.code
        }
    }
}

/// What a delta row asks for (the `action` column of a delta file, docs/sync.md).
public enum LoadAction: String, Sendable, CaseIterable {
    /// A new row: refused when the row exists already (a closed number may be added again: a new customer).
    case add
    /// A change of an existing row: refused when there is none (or the number is closed).
    case change
    /// The row closes: a subscriber's number is closed, a plan taken off sale.
    case close
}

/// How a batch relates to what the database holds.
public enum LoadMode: String, Sendable {
    /// Each row is added or replaces the stored one; rows the batch leaves out stay as they are
    /// (`selfcare import`).
    case merge
    /// Each row says what it does (`LoadAction`): add, change or close.
    case delta
    /// The batch is the whole of its kind: subscribers it leaves out are closed, plans it leaves out go off sale.
    case snapshot
}

/// A batch of the billing system's data, such as one import file: applied whole, in one transaction, with one
/// `import` record.
public struct DataLoad: Sendable {
    /// One row of the batch, with the line it came from.
    public struct Entry: Sendable {
        /// The row's line in its file (for the rejects report).
        public var line: Int
        /// What the row holds.
        public var item: LoadItem
        /// What a delta row asks for; nil for a row of a merge or a snapshot.
        public var action: LoadAction?

        /// The row at `line` holding `item`.
        public init(line: Int, item: LoadItem, action: LoadAction? = nil) {
            self.line = line
            self.item = item
            self.action = action
        }
    }

    /// The file of a feed a batch is, applied at most once and only right after the feed's previous file.
    public struct FeedPosition: Sendable {
        /// The feed (`SUBS_BOSS`).
        public var feed: String
        /// The file's sequence number.
        public var sequence: Int
        /// The file's name.
        public var name: String
        /// The SHA-256 of its bytes, lowercase hex.
        public var sha256: String

        /// The file `name` numbered `sequence` in `feed`.
        public init(feed: String, sequence: Int, name: String, sha256: String) {
            self.feed = feed
            self.sequence = sequence
            self.name = name
            self.sha256 = sha256
        }
    }

    /// What the batch holds (`plans`, `subscribers`, `usage`, `calls`, `payments`, `events`): the record's
    /// `kind` input.
    public var kind: String
    /// Where the batch came from (a file's path, `demo plans`): the record's `source` input.
    public var source: String
    /// The rows, in their file's order.
    public var entries: [Entry]
    /// Rows the loader refused before the batch reached the engine, counted in the record.
    public var rejectedBefore: Int
    /// How the batch relates to what the database holds.
    public var mode: LoadMode = .merge
    /// Whether one bad row refuses the whole batch (a feed's file): nothing is applied then.
    public var wholeOrNothing = false
    /// The feed file the batch is, when it is one.
    public var feedPosition: FeedPosition?
    /// The largest share of the open numbers a subscriber snapshot may close (0.1: a tenth); a snapshot that
    /// would close more is refused, as a sign of a cut or wrong file rather than of a tenth of the customers
    /// leaving in a day.
    public var snapshotCloseLimit = 0.1

    /// A batch of `kind` from `source`.
    public init(kind: String, source: String, entries: [Entry], rejectedBefore: Int = 0) {
        self.kind = kind
        self.source = source
        self.entries = entries
        self.rejectedBefore = rejectedBefore
    }
}

/// Why a data load was refused as a whole: nothing of it was applied.
public enum DataLoadRefusal: Error, Equatable, CustomStringConvertible {
    /// The feed's file is not the next one: `expected` is.
    case outOfSequence(feed: String, expected: Int, found: Int)
    /// Rows were refused in a whole-or-nothing batch, each line with its reason.
    case rejectedRows([RejectedLine])
    /// A subscriber snapshot would close more of the open numbers than its limit allows.
    case snapshotClosesTooMany(closing: Int, open: Int, limit: Double)
    /// A snapshot of a kind that has no snapshot meaning (usage, calls, payments, events).
    case snapshotNotSupported(kind: String)
    /// A snapshot without rows, or a plans snapshot that would leave no plan on sale: a cut or wrong file.
    case snapshotEmpties(kind: String)

    /// A refused line and its reason.
    public struct RejectedLine: Sendable, Equatable {
        /// The row's line in its file.
        public var line: Int
        /// Why it was refused.
        public var reason: String

        /// Line `line`, refused for `reason`.
        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }
    }

    /// What was refused and why, one line.
    public var description: String {
        switch self {
        case .outOfSequence(let feed, let expected, let found):
            "\(feed): file \(found) is out of sequence; \(expected) is the next"
        case .rejectedRows(let rows):
            "\(rows.count) row\(rows.count == 1 ? "" : "s") refused"
                + (rows.first.map { " (first: line \($0.line): \($0.reason))" } ?? "")
        case .snapshotClosesTooMany(let closing, let open, let limit):
            "the snapshot would close \(closing) of \(open) open numbers, more than its limit of "
                + "\(Int((limit * 100).rounded()))%"
        case .snapshotNotSupported(let kind):
            "a \(kind) file cannot be a snapshot: send it as a delta"
        case .snapshotEmpties(let kind):
            kind == "plans"
                ? "the snapshot would leave no plan on sale" : "the snapshot has no rows: it would close every number"
        }
    }
}

/// What a data load did.
public struct DataLoadOutcome: Sendable {
    /// Rows that changed the database.
    public var applied = 0
    /// Rows the database already held as they are.
    public var unchanged = 0
    /// Numbers a snapshot closed (or plans it took off sale) because it left them out.
    public var closedByOmission = 0
    /// Rows refused against the database (a subscriber on an unknown plan, usage of an unknown number): each
    /// line with its reason.
    public var rejected: [(line: Int, reason: String)] = []
    /// The load's `import` record.
    public var record: ServiceRecord?
}

/// Data loads: the billing system's batches applied through the engine, each in one transaction with its record.
extension OperationEngine {
    /// Applies `load` in one transaction and appends its `import` record (channel `api`, caller `system`, the
    /// counts in its inputs) in the same transaction. The merge rules keep what the gateway owns: a password
    /// once set, the lockout state, a loss reported here until the customer cancels it, a PUK no file repeats.
    /// A feed's file also moves its feed's position in that transaction.
    /// - Parameter progress: called now and then with the rows applied so far and the total.
    /// - Throws: `DataLoadRefusal` when the batch is refused as a whole, or the store's error when the
    ///   transaction fails; nothing of the batch is applied then.
    public func load(
        _ load: DataLoad, progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> DataLoadOutcome {
        let started = clock.now()
        if load.mode == .snapshot, !["subscribers", "plans"].contains(load.kind) {
            throw DataLoadRefusal.snapshotNotSupported(kind: load.kind)
        }
        let prompts = self.prompts
        return try await transaction(at: started) { tx in
            if let position = load.feedPosition {
                // Checked in the transaction that moves it: two syncs at once cannot both apply a file.
                let last = try tx.writer.lastFeedFiles().first { $0.feed == position.feed }?.sequence ?? 0
                guard position.sequence == last + 1 else {
                    throw DataLoadRefusal.outOfSequence(
                        feed: position.feed, expected: last + 1, found: position.sequence)
                }
            }
            // What was open before the file: a snapshot's limit counts every number it closes, by its rows too.
            let openBefore =
                load.mode == .snapshot && load.kind == "subscribers"
                ? Set(try tx.writer.openSubscriberNumbers()) : []
            if load.mode == .snapshot && load.entries.isEmpty { throw DataLoadRefusal.snapshotEmpties(kind: load.kind) }
            var outcome = DataLoadOutcome()
            let total = load.entries.count
            // A subscribers file names plans it never adds: they are read once, not once a row.
            let context = ApplyContext(
                writer: tx.writer, now: tx.now, prompts: prompts, calendar: tx.configuration.calendar,
                planCodes: load.kind == "subscribers" ? Set(try tx.writer.plans().map(\.code)) : nil)
            for (index, entry) in load.entries.enumerated() {
                if index % 5000 == 0 { progress(index, total) }
                switch try Self.apply(entry.item, action: entry.action, context: context, source: load.source) {
                case .applied: outcome.applied += 1
                case .unchanged: outcome.unchanged += 1
                case .rejected(let reason): outcome.rejected.append((entry.line, reason))
                }
            }
            if load.wholeOrNothing, load.rejectedBefore > 0 || !outcome.rejected.isEmpty {
                // The loader's own refusals are its to add: this lists the rows refused here.
                throw DataLoadRefusal.rejectedRows(outcome.rejected.map { .init(line: $0.line, reason: $0.reason) })
            }
            if load.mode == .snapshot {
                outcome.closedByOmission = try Self.closeOmitted(from: load, writer: tx.writer)
                if load.kind == "subscribers" {
                    let closing = openBefore.subtracting(try tx.writer.openSubscriberNumbers()).count
                    guard Double(closing) <= load.snapshotCloseLimit * Double(max(openBefore.count, 1)) else {
                        throw DataLoadRefusal.snapshotClosesTooMany(
                            closing: closing, open: openBefore.count, limit: load.snapshotCloseLimit)
                    }
                } else if try !tx.writer.plans().contains(where: \.onSale) {
                    throw DataLoadRefusal.snapshotEmpties(kind: load.kind)
                }
            }
            progress(total, total)
            let rejected = load.rejectedBefore + outcome.rejected.count
            var summary = "applied \(outcome.applied), unchanged \(outcome.unchanged), rejected \(rejected)"
            var inputs = [
                "kind": load.kind, "source": load.source, "applied": String(outcome.applied),
                "unchanged": String(outcome.unchanged), "rejected": String(rejected),
            ]
            if load.mode != .merge { inputs["mode"] = load.mode.rawValue }
            if load.mode == .snapshot {
                inputs["omitted"] = String(outcome.closedByOmission)
                summary += ", \(load.kind == "plans" ? "taken off sale" : "closed") \(outcome.closedByOmission)"
            }
            if let position = load.feedPosition {
                inputs["feed"] = position.feed
                inputs["sequence"] = String(position.sequence)
                inputs["sha256"] = position.sha256
            }
            let record = try tx.writer.append(
                RecordDraft(
                    time: tx.now, channel: .api, session: nil, caller: OperationName.tickCaller,
                    subject: OperationName.tickCaller, operation: OperationName.dataImport.rawValue,
                    inputs: inputs, auth: .none, result: .ok, reason: .ok, reply: "\(load.kind): \(summary)",
                    durationMS: 0))
            outcome.record = record
            if let position = load.feedPosition {
                try tx.writer.append(
                    FeedFile(
                        feed: position.feed, sequence: position.sequence, name: position.name,
                        sha256: position.sha256, applied: ISOTime.format(tx.now), record: record.id))
            }
            return outcome
        }
    }

    /// For each of `numbers`, whether the subscriber has a service password already: a loader hashes only the
    /// passwords a load would set (see `load`).
    public func hasPassword(_ numbers: [String]) async throws -> [Bool] {
        try await store.read { reader in
            try numbers.map {
                guard let s = try reader.subscriber($0) else { return false }
                // A closed number that comes back is a new customer's: the old password does not carry over.
                return s.passwordHash != nil && s.status != .closed
            }
        }
    }

    /// The last file applied of each feed (`selfcare sync status`).
    public func feedFiles() async throws -> [FeedFile] {
        try await store.read { try $0.lastFeedFiles() }
    }

    /// The file applied as `sequence` of `feed`, if any.
    public func feedFile(feed: String, sequence: Int) async throws -> FeedFile? {
        try await store.read { try $0.feedFile(feed: feed, sequence: sequence) }
    }

    /// What applying one row did.
    enum LoadStep { case applied, unchanged, rejected(String) }

    /// Closes what a snapshot leaves out: open subscribers not in it, plans on sale not in it. Returns how many.
    static func closeOmitted(from load: DataLoad, writer: any StoreWriter) throws -> Int {
        let present = Set(load.entries.map(\.item.key))
        switch load.kind {
        case "subscribers":
            let missing = try writer.openSubscriberNumbers().filter { !present.contains($0) }
            for msisdn in missing { try close(msisdn, writer: writer) }
            return missing.count
        case "plans":
            var count = 0
            for var plan in try writer.plans() where plan.onSale && !present.contains(plan.code) {
                plan.onSale = false
                try writer.save(plan)
                count += 1
            }
            return count
        default:
            return 0
        }
    }

    /// Closes `msisdn` (销户): its pending changes go with it.
    static func close(_ msisdn: String, writer: any StoreWriter) throws {
        guard var s = try writer.subscriber(msisdn) else { return }
        s.status = .closed
        s.statusBeforeLoss = nil
        try writer.save(s)
        for change in try writer.pendingChanges(msisdn) {
            try writer.deletePendingChange(msisdn: msisdn, kind: change.kind)
        }
        // A transaction waiting for its `Y` would otherwise be confirmed by whoever has the number next, and a late
        // rejection of an old order would change the next customer's line.
        try writer.deleteConfirmations(involving: msisdn)
        try writer.supersedeOrders(of: msisdn)
    }

    /// Applies one row against what the database holds.
    static func apply(
        _ item: LoadItem, action: LoadAction?, context: ApplyContext, source: String
    ) throws -> LoadStep {
        let writer = context.writer
        switch item {
        case .answer(let key, let answer, let reason):
            switch try answerOrder(key: key, answer: answer, reason: reason, source: source, context: context) {
            case .closed: return .applied
            case .unchanged: return .unchanged
            case .refused(let why): return .rejected(why == "no order has the key" ? "key: \(why)" : "result: \(why)")
            }
        case .plan(let plan):
            let existing = try writer.plan(plan.code)
            if action == .add, existing != nil { return .rejected("action: add, but plan `\(plan.code)` exists") }
            if action == .change, existing == nil {
                return .rejected("action: change, but there is no plan `\(plan.code)`")
            }
            if existing == plan { return .unchanged }
            try writer.save(plan)
            return .applied
        case .closePlan(let code):
            guard var plan = try writer.plan(code) else {
                return .rejected("action: close, but there is no plan `\(code)`")
            }
            if !plan.onSale { return .unchanged }
            plan.onSale = false
            try writer.save(plan)
            return .applied
        case .subscriber(var s):
            let planKnown = try context.planCodes.map { $0.contains(s.planCode) } ?? (writer.plan(s.planCode) != nil)
            guard planKnown else { return .rejected("plan: unknown plan `\(s.planCode)`") }
            // A number not stored yet is added as it is, in one statement without a read first: the merge rules
            // below only concern a stored subscriber.
            if action != .change, try writer.insertIfAbsent(s) {
                if s.status == .closed { try close(s.msisdn, writer: writer) }
                return .applied
            }
            let stored = try writer.subscriber(s.msisdn)
            // A closed number that comes back belongs to a new customer: nothing of the old one carries over.
            let existing = stored.flatMap { $0.status == .closed && s.status != .closed ? nil : $0 }
            if action == .add, let existing, existing.status != .closed {
                return .rejected("action: add, but \(s.msisdn) exists")
            }
            if action == .change, existing == nil || existing?.status == .closed {
                return .rejected("action: change, but \(s.msisdn) is \(stored == nil ? "unknown" : "closed")")
            }
            if let existing {
                s.failedPasswordAttempts = existing.failedPasswordAttempts
                s.passwordLockedUntil = existing.passwordLockedUntil
                // The billing file provisions a password only for a subscriber who has none: once set,
                // the password is the customer's (password.change) or an operator's (password set), and
                // an older file must never bring back a password the customer replaced.
                if existing.passwordHash != nil { s.passwordHash = existing.passwordHash }
                // An absent or empty PUK column keeps the PUK an earlier file supplied.
                if s.puk == nil { s.puk = existing.puk }
                if s.status == existing.status {
                    s.statusBeforeLoss = existing.statusBeforeLoss
                } else if s.status == .lost {
                    s.statusBeforeLoss = existing.status
                } else if existing.status == .lost && (s.status == .normal || s.status == .arrears) {
                    // A loss reported through the gateway stands until the customer cancels it; the file's
                    // state becomes the one loss.cancel returns to.
                    s.statusBeforeLoss = s.status
                    s.status = .lost
                }
                if s == existing { return .unchanged }
            }
            if let stored, stored.status == .closed, s.status != .closed {
                // The number is a new customer's: nothing of the old one's past is shown to them.
                try writer.deleteHistory(of: s.msisdn)
            }
            try writer.save(s)
            if s.status == .closed { try close(s.msisdn, writer: writer) }
            return .applied
        case .closeSubscriber(let msisdn):
            guard let s = try writer.subscriber(msisdn) else {
                return .rejected("action: close, but \(msisdn) is unknown")
            }
            if s.status == .closed { return .unchanged }
            try close(msisdn, writer: writer)
            return .applied
        case .usage(let usage):
            guard try writer.subscriber(usage.msisdn) != nil else {
                return .rejected("msisdn: unknown subscriber \(usage.msisdn)")
            }
            if try writer.usage(usage.msisdn, month: usage.month) == usage { return .unchanged }
            try writer.save(usage)
            return .applied
        case .call(let call):
            guard try writer.subscriber(call.msisdn) != nil else {
                return .rejected("msisdn: unknown subscriber \(call.msisdn)")
            }
            if try writer.call(msisdn: call.msisdn, startedAt: call.startedAt, peer: call.peer) == call {
                return .unchanged
            }
            try writer.save(call)
            return .applied
        case .payment(let payment):
            guard try writer.subscriber(payment.msisdn) != nil else {
                return .rejected("msisdn: unknown subscriber \(payment.msisdn)")
            }
            if try writer.payment(id: payment.id) == payment { return .unchanged }
            try writer.save(payment)
            return .applied
        case .event(let event):
            guard try writer.subscriber(event.msisdn) != nil else {
                return .rejected("msisdn: unknown subscriber \(event.msisdn)")
            }
            if try writer.event(id: event.id) == event { return .unchanged }
            try writer.save(event)
            return .applied
        case .card(var card):
            if let stored = try writer.card(card.serial) {
                // A card used here stays used whatever an older voucher file says: the voucher system hears of the
                // use through its order. Wrong-PIN counts and locks are the gateway's own.
                if stored.state == .used && card.state != .used {
                    card.state = .used
                    card.usedAt = stored.usedAt
                    card.usedFor = stored.usedFor
                }
                if stored.state == .used && card.state == .used && card.usedFor == nil { card.usedFor = stored.usedFor }
                if stored == card { return .unchanged }
            }
            try writer.save(card)
            return .applied
        case .pack(let pack): return try applyEntry(pack, writer: writer)
        case .service(let service): return try applyEntry(service, writer: writer)
        case .reward(let reward): return try applyEntry(reward, writer: writer)
        }
    }

    /// Adds or replaces a catalogue entry; unchanged when it is stored as it is.
    static func applyEntry<Entry: CatalogueEntry>(_ entry: Entry, writer: any StoreWriter) throws -> LoadStep {
        if try writer.entry(entry.code, Entry.self) == entry { return .unchanged }
        try writer.save(entry)
        return .applied
    }
}
