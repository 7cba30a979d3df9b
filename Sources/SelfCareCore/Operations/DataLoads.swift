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

    /// What makes two rows the same row: the table's primary key, normalised.
    public var key: String {
        switch self {
        case .plan(let p): p.code
        case .subscriber(let s): s.msisdn
        case .usage(let u): "\(u.msisdn)|\(u.month)"
        case .call(let c): "\(c.msisdn)|\(ISOTime.format(c.startedAt))|\(c.peer)"
        }
    }
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

        /// The row at `line` holding `item`.
        public init(line: Int, item: LoadItem) {
            self.line = line
            self.item = item
        }
    }

    /// What the batch holds (`plans`, `subscribers`, `usage`, `calls`): the record's `kind` input.
    public var kind: String
    /// Where the batch came from (a file's path, `demo plans`): the record's `source` input.
    public var source: String
    /// The rows, in their file's order.
    public var entries: [Entry]
    /// Rows the loader refused before the batch reached the engine, counted in the record.
    public var rejectedBefore: Int

    /// A batch of `kind` from `source`.
    public init(kind: String, source: String, entries: [Entry], rejectedBefore: Int = 0) {
        self.kind = kind
        self.source = source
        self.entries = entries
        self.rejectedBefore = rejectedBefore
    }
}

/// What a data load did.
public struct DataLoadOutcome: Sendable {
    /// Rows that changed the database.
    public var applied = 0
    /// Rows the database already held as they are.
    public var unchanged = 0
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
    /// - Parameter progress: called now and then with the rows applied so far and the total.
    /// - Throws: the store's error when the transaction fails; nothing of the batch is applied then.
    public func load(
        _ load: DataLoad, progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> DataLoadOutcome {
        let started = clock.now()
        return try await transaction(at: started) { tx in
            var outcome = DataLoadOutcome()
            let total = load.entries.count
            for (index, entry) in load.entries.enumerated() {
                if index % 5000 == 0 { progress(index, total) }
                switch try Self.apply(entry.item, writer: tx.writer) {
                case .applied: outcome.applied += 1
                case .unchanged: outcome.unchanged += 1
                case .rejected(let reason): outcome.rejected.append((entry.line, reason))
                }
            }
            progress(total, total)
            let rejected = load.rejectedBefore + outcome.rejected.count
            let summary = "applied \(outcome.applied), unchanged \(outcome.unchanged), rejected \(rejected)"
            outcome.record = try tx.writer.append(
                RecordDraft(
                    time: tx.now, channel: .api, session: nil, caller: OperationName.tickCaller,
                    subject: OperationName.tickCaller, operation: OperationName.dataImport.rawValue,
                    inputs: [
                        "kind": load.kind, "source": load.source, "applied": String(outcome.applied),
                        "unchanged": String(outcome.unchanged), "rejected": String(rejected),
                    ],
                    auth: .none, result: .ok, reason: .ok, reply: "\(load.kind): \(summary)", durationMS: 0))
            return outcome
        }
    }

    /// For each of `numbers`, whether the subscriber has a service password already: a loader hashes only the
    /// passwords a load would set (see `load`).
    public func hasPassword(_ numbers: [String]) async throws -> [Bool] {
        try await store.read { reader in try numbers.map { try reader.subscriber($0)?.passwordHash != nil } }
    }

    /// What applying one row did.
    enum LoadStep { case applied, unchanged, rejected(String) }

    /// Applies one row against what the database holds.
    static func apply(_ item: LoadItem, writer: any StoreWriter) throws -> LoadStep {
        switch item {
        case .plan(let plan):
            if try writer.plan(plan.code) == plan { return .unchanged }
            try writer.save(plan)
            return .applied
        case .subscriber(var s):
            guard try writer.plan(s.planCode) != nil else { return .rejected("plan: unknown plan `\(s.planCode)`") }
            if let existing = try writer.subscriber(s.msisdn) {
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
            try writer.save(s)
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
        }
    }
}
