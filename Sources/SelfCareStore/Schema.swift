import GRDB

/// The database schema, as numbered migrations applied at open.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE plans (
                        code TEXT PRIMARY KEY NOT NULL,
                        name_zh TEXT NOT NULL,
                        name_en TEXT NOT NULL,
                        monthly_fee_fen INTEGER NOT NULL,
                        voice_minutes INTEGER NOT NULL,
                        sms INTEGER NOT NULL,
                        data_mb INTEGER NOT NULL,
                        payment TEXT NOT NULL CHECK (payment IN ('prepaid', 'postpaid', 'both')),
                        on_sale BOOLEAN NOT NULL,
                        contract_ok BOOLEAN NOT NULL
                    );
                    CREATE TABLE subscribers (
                        msisdn TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('normal', 'lost', 'arrears', 'suspended', 'closed')),
                        status_before_loss TEXT,
                        payment TEXT NOT NULL CHECK (payment IN ('prepaid', 'postpaid')),
                        prepaid_period TEXT CHECK (prepaid_period IN ('valid', 'recharge', 'locked')),
                        plan TEXT NOT NULL,
                        balance_fen INTEGER NOT NULL,
                        points INTEGER NOT NULL,
                        tier TEXT NOT NULL,
                        language TEXT NOT NULL,
                        premium BOOLEAN NOT NULL,
                        contract_end TEXT,
                        blacklist BOOLEAN NOT NULL,
                        password_hash TEXT,
                        failed_password_attempts INTEGER NOT NULL DEFAULT 0,
                        password_locked_until TEXT,
                        puk TEXT
                    );
                    CREATE TABLE usage (
                        msisdn TEXT NOT NULL,
                        month TEXT NOT NULL,
                        voice_used INTEGER NOT NULL,
                        sms_used INTEGER NOT NULL,
                        data_used_mb INTEGER NOT NULL,
                        charges_fen INTEGER NOT NULL,
                        PRIMARY KEY (msisdn, month)
                    );
                    CREATE TABLE calls (
                        msisdn TEXT NOT NULL,
                        started_at TEXT NOT NULL,
                        peer TEXT NOT NULL,
                        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
                        duration_s INTEGER NOT NULL,
                        charge_fen INTEGER NOT NULL,
                        PRIMARY KEY (msisdn, started_at, peer)
                    );
                    CREATE TABLE pending_changes (
                        msisdn TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        plan TEXT,
                        effective TEXT NOT NULL,
                        requested_at TEXT NOT NULL,
                        PRIMARY KEY (msisdn, kind)
                    );
                    CREATE INDEX pending_changes_effective ON pending_changes (effective);
                    CREATE TABLE records (
                        id INTEGER PRIMARY KEY NOT NULL,
                        time TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        session TEXT,
                        caller TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        operation TEXT NOT NULL,
                        inputs TEXT NOT NULL,
                        auth TEXT NOT NULL,
                        result TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        reply TEXT NOT NULL,
                        duration_ms INTEGER NOT NULL,
                        prev_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX records_subject ON records (subject, id);
                    CREATE INDEX records_time ON records (time);
                    CREATE TABLE record_chain (
                        id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                        last_id INTEGER NOT NULL,
                        last_hash TEXT NOT NULL
                    );
                    CREATE TRIGGER records_no_update BEFORE UPDATE ON records
                    BEGIN SELECT RAISE(ABORT, 'service records are append-only'); END;
                    CREATE TRIGGER records_no_delete BEFORE DELETE ON records
                    BEGIN SELECT RAISE(ABORT, 'service records are append-only'); END;
                    """)
        }
        migrator.registerMigration("v2-chain-head-guards") { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER record_chain_no_delete BEFORE DELETE ON record_chain
                    BEGIN SELECT RAISE(ABORT, 'the record chain head cannot be deleted'); END;
                    CREATE TRIGGER record_chain_forward_only BEFORE UPDATE ON record_chain
                    WHEN NEW.last_id < OLD.last_id
                    BEGIN SELECT RAISE(ABORT, 'the record chain head only moves forward'); END;
                    CREATE INDEX records_channel_session ON records (channel, session);
                    CREATE INDEX records_caller_time ON records (caller, time);
                    """)
        }
        migrator.registerMigration("v3-confirmations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE confirmations (
                        caller TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        operation TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        arguments TEXT NOT NULL,
                        session TEXT,
                        requested_at TEXT NOT NULL,
                        expires_at TEXT NOT NULL,
                        language TEXT,
                        PRIMARY KEY (caller, channel)
                    );
                    """)
        }
        migrator.registerMigration("v4-rate-limit-index") { db in
            // The rate limit counts a caller's records on one channel since a time: with the channel in the
            // index that count reads the index alone, not every counted record's row as well.
            try db.execute(
                sql: """
                    DROP INDEX IF EXISTS records_caller_time;
                    CREATE INDEX records_caller_channel_time ON records (caller, channel, time);
                    """)
        }
        migrator.registerMigration("v5-subject-index-for-others") { db in
            // Almost every record is a caller's own (subject = caller): those are found through the caller
            // index, and only records about another number need a subject index. Each record inserted at a
            // random place in an index costs the writer a page; this one now holds only the few.
            try db.execute(
                sql: """
                    DROP INDEX IF EXISTS records_subject;
                    CREATE INDEX records_other_subject ON records (subject, id) WHERE subject <> caller;
                    """)
        }
        migrator.registerMigration("v6-caller-throttles") { db in
            // A caller's failed attempts on other numbers' passwords (docs/passwords.md): one row a calling
            // number, which need not be a subscriber; the owner's own failures stay on `subscribers`.
            try db.execute(
                sql: """
                    CREATE TABLE caller_throttles (
                        caller TEXT PRIMARY KEY NOT NULL,
                        failures INTEGER NOT NULL,
                        window_start TEXT NOT NULL,
                        locked_until TEXT
                    );
                    """)
        }
        migrator.registerMigration("v7-service-orders") { db in
            // Service orders (工单) to the billing system, written in the transaction of the change they report
            // (docs/orders.md). Listed by state for delivery and by id for operators.
            try db.execute(
                sql: """
                    CREATE TABLE orders (
                        id INTEGER PRIMARY KEY,
                        key TEXT NOT NULL UNIQUE,
                        operation TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        record_id INTEGER NOT NULL,
                        created TEXT NOT NULL,
                        before TEXT NOT NULL,
                        after TEXT NOT NULL,
                        state TEXT NOT NULL
                            CHECK (state IN ('pending', 'delivered', 'accepted', 'rejected', 'dead')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        updated TEXT NOT NULL
                    );
                    CREATE INDEX orders_state ON orders (state, id);
                    """)
        }
        migrator.registerMigration("v8-feeds-payments-events") { db in
            // Payment history (缴费历史) and change events (用户异动) from billing, and the files of each
            // incremental feed applied so far (docs/sync.md): the last one of a feed is its position.
            try db.execute(
                sql: """
                    CREATE TABLE payments (
                        id TEXT PRIMARY KEY NOT NULL,
                        msisdn TEXT NOT NULL,
                        paid_at TEXT NOT NULL,
                        amount_fen INTEGER NOT NULL,
                        method TEXT NOT NULL
                    );
                    CREATE INDEX payments_msisdn ON payments (msisdn, paid_at);
                    CREATE TABLE events (
                        id TEXT PRIMARY KEY NOT NULL,
                        msisdn TEXT NOT NULL,
                        at TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        detail TEXT NOT NULL
                    );
                    CREATE INDEX events_msisdn ON events (msisdn, at);
                    CREATE TABLE feed_files (
                        feed TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        name TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        applied TEXT NOT NULL,
                        record_id INTEGER NOT NULL,
                        PRIMARY KEY (feed, sequence)
                    );
                    """)
        }
        migrator.registerMigration("v9-order-delivery") { db in
            // Delivery to billing and its answers (docs/orders.md): when a failed delivery is tried next, why it
            // failed, and billing's reason for its answer.
            try db.execute(
                sql: """
                    ALTER TABLE orders ADD COLUMN next_attempt TEXT;
                    ALTER TABLE orders ADD COLUMN last_error TEXT;
                    ALTER TABLE orders ADD COLUMN answer TEXT;
                    ALTER TABLE orders ADD COLUMN outbox_file INTEGER;
                    CREATE INDEX orders_outbox_file ON orders (outbox_file);
                    """)
        }
        migrator.registerMigration("v10-notices") { db in
            // SMS notices to customers (docs/notices.md), queued in the transaction of what they tell of and sent
            // at most once through the SMS gateway.
            try db.execute(
                sql: """
                    CREATE TABLE notices (
                        id INTEGER PRIMARY KEY,
                        msisdn TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        text TEXT NOT NULL,
                        created TEXT NOT NULL,
                        record_id INTEGER NOT NULL,
                        state TEXT NOT NULL
                            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        updated TEXT NOT NULL,
                        next_attempt TEXT,
                        last_error TEXT
                    );
                    CREATE INDEX notices_state ON notices (state, id);
                    """)
        }
        migrator.registerMigration("v11-order-subjects") { db in
            // Compensation looks at the later orders of a number, and never undoes a change on a number closed or
            // reassigned since (docs/orders.md).
            try db.execute(
                sql: """
                    ALTER TABLE orders ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX orders_subject ON orders (subject, id);
                    """)
        }
        migrator.registerMigration("v12-checks-without-value-lists") { db in
            // SQLite runs a CHECK of the form `x IN (a, b, c)` (more than two values) through a temporary b-tree it
            // builds again for every statement: two of them made up half the cost of adding a subscriber. The same
            // checks, written as comparisons, cost next to nothing. A CHECK cannot be altered in place: each table
            // is rebuilt with its rows, columns in the same order, and its indexes.
            try db.execute(
                sql: """
                    CREATE TABLE plans_v12 (
                        code TEXT PRIMARY KEY NOT NULL,
                        name_zh TEXT NOT NULL,
                        name_en TEXT NOT NULL,
                        monthly_fee_fen INTEGER NOT NULL,
                        voice_minutes INTEGER NOT NULL,
                        sms INTEGER NOT NULL,
                        data_mb INTEGER NOT NULL,
                        payment TEXT NOT NULL CHECK (payment = 'prepaid' OR payment = 'postpaid' OR payment = 'both'),
                        on_sale BOOLEAN NOT NULL,
                        contract_ok BOOLEAN NOT NULL
                    );
                    INSERT INTO plans_v12 SELECT * FROM plans;
                    DROP TABLE plans;
                    ALTER TABLE plans_v12 RENAME TO plans;

                    CREATE TABLE subscribers_v12 (
                        msisdn TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (
                            status = 'normal' OR status = 'lost' OR status = 'arrears' OR status = 'suspended'
                            OR status = 'closed'),
                        status_before_loss TEXT,
                        payment TEXT NOT NULL CHECK (payment = 'prepaid' OR payment = 'postpaid'),
                        prepaid_period TEXT CHECK (
                            prepaid_period = 'valid' OR prepaid_period = 'recharge' OR prepaid_period = 'locked'),
                        plan TEXT NOT NULL,
                        balance_fen INTEGER NOT NULL,
                        points INTEGER NOT NULL,
                        tier TEXT NOT NULL,
                        language TEXT NOT NULL,
                        premium BOOLEAN NOT NULL,
                        contract_end TEXT,
                        blacklist BOOLEAN NOT NULL,
                        password_hash TEXT,
                        failed_password_attempts INTEGER NOT NULL DEFAULT 0,
                        password_locked_until TEXT,
                        puk TEXT
                    );
                    INSERT INTO subscribers_v12 SELECT * FROM subscribers;
                    DROP TABLE subscribers;
                    ALTER TABLE subscribers_v12 RENAME TO subscribers;

                    CREATE TABLE orders_v12 (
                        id INTEGER PRIMARY KEY,
                        key TEXT NOT NULL UNIQUE,
                        operation TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        record_id INTEGER NOT NULL,
                        created TEXT NOT NULL,
                        before TEXT NOT NULL,
                        after TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (
                            state = 'pending' OR state = 'delivered' OR state = 'accepted' OR state = 'rejected'
                            OR state = 'dead'),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        updated TEXT NOT NULL,
                        next_attempt TEXT,
                        last_error TEXT,
                        answer TEXT,
                        outbox_file INTEGER,
                        superseded INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO orders_v12 SELECT * FROM orders;
                    DROP TABLE orders;
                    ALTER TABLE orders_v12 RENAME TO orders;
                    CREATE INDEX orders_state ON orders (state, id);
                    CREATE INDEX orders_outbox_file ON orders (outbox_file);
                    CREATE INDEX orders_subject ON orders (subject, id);

                    CREATE TABLE notices_v12 (
                        id INTEGER PRIMARY KEY,
                        msisdn TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        text TEXT NOT NULL,
                        created TEXT NOT NULL,
                        record_id INTEGER NOT NULL,
                        state TEXT NOT NULL CHECK (
                            state = 'pending' OR state = 'sending' OR state = 'sent' OR state = 'failed'
                            OR state = 'unknown'),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        updated TEXT NOT NULL,
                        next_attempt TEXT,
                        last_error TEXT
                    );
                    INSERT INTO notices_v12 SELECT * FROM notices;
                    DROP TABLE notices;
                    ALTER TABLE notices_v12 RENAME TO notices;
                    CREATE INDEX notices_state ON notices (state, id);
                    """)
        }
        migrator.registerMigration("v13-record-checkpoints") { db in
            // Signed statements of the chain's head (RecordCheckpoint): append-only like the records.
            try db.execute(
                sql: """
                    CREATE TABLE record_checkpoints (
                        id INTEGER PRIMARY KEY,
                        time TEXT NOT NULL,
                        last_id INTEGER NOT NULL,
                        hash TEXT NOT NULL,
                        signature TEXT NOT NULL
                    );
                    CREATE TRIGGER record_checkpoints_no_update BEFORE UPDATE ON record_checkpoints
                    BEGIN SELECT RAISE(ABORT, 'record checkpoints are append-only'); END;
                    CREATE TRIGGER record_checkpoints_no_delete BEFORE DELETE ON record_checkpoints
                    BEGIN SELECT RAISE(ABORT, 'record checkpoints are append-only'); END;
                    """)
        }
        migrator.registerMigration("v14-catalogue") { db in
            // The rest of the self-service catalogue (docs/operations.md): recharge cards from the voucher system
            // (the PIN only as a keyed digest), the data-pack, basic-service and reward catalogues as JSON entries
            // by code, what an account holds beyond its subscriber row, and complaint tickets.
            try db.execute(
                sql: """
                    CREATE TABLE cards (
                        serial TEXT PRIMARY KEY NOT NULL,
                        pin_digest TEXT NOT NULL,
                        value_fen INTEGER NOT NULL,
                        validity_days INTEGER NOT NULL,
                        expires TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (
                            state = 'unused' OR state = 'used' OR state = 'expired' OR state = 'frozen'),
                        used_at TEXT,
                        used_for TEXT
                    );
                    CREATE TABLE catalogue (
                        kind TEXT NOT NULL,
                        code TEXT NOT NULL,
                        body TEXT NOT NULL,
                        PRIMARY KEY (kind, code)
                    );
                    CREATE TABLE subscriber_features (
                        msisdn TEXT PRIMARY KEY NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE TABLE tickets (
                        id INTEGER PRIMARY KEY,
                        msisdn TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        category TEXT NOT NULL,
                        text TEXT NOT NULL,
                        offender TEXT,
                        created TEXT NOT NULL
                    );
                    CREATE INDEX tickets_msisdn ON tickets (msisdn, id);
                    """)
        }
        return migrator
    }
}
