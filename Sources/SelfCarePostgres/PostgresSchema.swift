import Foundation

/// The PostgreSQL schema, as numbered migrations: the SQLite store's tables as they stand after its own
/// migrations, in PostgreSQL's types. Times are ISO 8601 text as on SQLite, so that both stores order, compare and
/// return them alike. (PostgreSQL's `text` cannot hold U+0000: a record's fields never do, the engine stores a NUL a
/// caller sent as U+FFFD on every store.)
enum PostgresSchema {
    /// Each migration's name and its statements, in order. A migration is applied once, in one transaction.
    static let migrations: [(name: String, sql: String)] = [
        (
            "v1",
            """
            CREATE TABLE plans (
                code TEXT PRIMARY KEY,
                name_zh TEXT NOT NULL,
                name_en TEXT NOT NULL,
                monthly_fee_fen BIGINT NOT NULL,
                voice_minutes BIGINT NOT NULL,
                sms BIGINT NOT NULL,
                data_mb BIGINT NOT NULL,
                payment TEXT NOT NULL CHECK (payment IN ('prepaid', 'postpaid', 'both')),
                on_sale BOOLEAN NOT NULL,
                contract_ok BOOLEAN NOT NULL
            );
            CREATE TABLE subscribers (
                msisdn TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('normal', 'lost', 'arrears', 'suspended', 'closed')),
                status_before_loss TEXT,
                payment TEXT NOT NULL CHECK (payment IN ('prepaid', 'postpaid')),
                prepaid_period TEXT CHECK (prepaid_period IN ('valid', 'recharge', 'locked')),
                plan TEXT NOT NULL,
                balance_fen BIGINT NOT NULL,
                points BIGINT NOT NULL,
                tier TEXT NOT NULL,
                language TEXT NOT NULL,
                premium BOOLEAN NOT NULL,
                contract_end TEXT,
                blacklist BOOLEAN NOT NULL,
                password_hash TEXT,
                failed_password_attempts BIGINT NOT NULL DEFAULT 0,
                password_locked_until TEXT,
                puk TEXT
            );
            CREATE TABLE usage (
                msisdn TEXT NOT NULL,
                month TEXT NOT NULL,
                voice_used BIGINT NOT NULL,
                sms_used BIGINT NOT NULL,
                data_used_mb BIGINT NOT NULL,
                charges_fen BIGINT NOT NULL,
                PRIMARY KEY (msisdn, month)
            );
            CREATE TABLE calls (
                msisdn TEXT NOT NULL,
                started_at TEXT NOT NULL,
                peer TEXT NOT NULL,
                direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
                duration_s BIGINT NOT NULL,
                charge_fen BIGINT NOT NULL,
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
                id BIGINT PRIMARY KEY,
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
                duration_ms BIGINT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            );
            CREATE INDEX records_caller_channel_time ON records (caller, channel, time);
            CREATE INDEX records_other_subject ON records (subject, id) WHERE subject <> caller;
            CREATE INDEX records_channel_session ON records (channel, session);
            CREATE INDEX records_time ON records (time);
            CREATE TABLE record_chain (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                last_id BIGINT NOT NULL,
                last_hash TEXT NOT NULL
            );
            CREATE FUNCTION selfcare_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '%', TG_ARGV[0];
            END $$;
            CREATE TRIGGER records_no_update BEFORE UPDATE OR DELETE ON records
                FOR EACH ROW EXECUTE FUNCTION selfcare_refuse('service records are append-only');
            CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
                FOR EACH STATEMENT EXECUTE FUNCTION selfcare_refuse('service records are append-only');
            CREATE TRIGGER record_chain_no_delete BEFORE DELETE ON record_chain
                FOR EACH ROW EXECUTE FUNCTION selfcare_refuse('the record chain head cannot be deleted');
            CREATE TRIGGER record_chain_forward_only BEFORE UPDATE ON record_chain
                FOR EACH ROW WHEN (NEW.last_id < OLD.last_id)
                EXECUTE FUNCTION selfcare_refuse('the record chain head only moves forward');
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
            CREATE TABLE caller_throttles (
                caller TEXT PRIMARY KEY,
                failures BIGINT NOT NULL,
                window_start TEXT NOT NULL,
                locked_until TEXT
            );
            CREATE TABLE orders (
                id BIGINT PRIMARY KEY,
                key TEXT NOT NULL UNIQUE,
                operation TEXT NOT NULL,
                subject TEXT NOT NULL,
                channel TEXT NOT NULL,
                record_id BIGINT NOT NULL,
                created TEXT NOT NULL,
                before TEXT NOT NULL,
                after TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'accepted', 'rejected', 'dead')),
                attempts BIGINT NOT NULL DEFAULT 0,
                updated TEXT NOT NULL,
                next_attempt TEXT,
                last_error TEXT,
                answer TEXT,
                outbox_file BIGINT,
                superseded BOOLEAN NOT NULL DEFAULT false
            );
            CREATE INDEX orders_state ON orders (state, id);
            CREATE INDEX orders_outbox_file ON orders (outbox_file);
            CREATE INDEX orders_subject ON orders (subject, id);
            CREATE TABLE payments (
                id TEXT PRIMARY KEY,
                msisdn TEXT NOT NULL,
                paid_at TEXT NOT NULL,
                amount_fen BIGINT NOT NULL,
                method TEXT NOT NULL
            );
            CREATE INDEX payments_msisdn ON payments (msisdn, paid_at);
            CREATE TABLE events (
                id TEXT PRIMARY KEY,
                msisdn TEXT NOT NULL,
                at TEXT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL
            );
            CREATE INDEX events_msisdn ON events (msisdn, at);
            CREATE TABLE feed_files (
                feed TEXT NOT NULL,
                sequence BIGINT NOT NULL,
                name TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                applied TEXT NOT NULL,
                record_id BIGINT NOT NULL,
                PRIMARY KEY (feed, sequence)
            );
            CREATE TABLE notices (
                id BIGINT PRIMARY KEY,
                msisdn TEXT NOT NULL,
                kind TEXT NOT NULL,
                text TEXT NOT NULL,
                created TEXT NOT NULL,
                record_id BIGINT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
                attempts BIGINT NOT NULL DEFAULT 0,
                updated TEXT NOT NULL,
                next_attempt TEXT,
                last_error TEXT
            );
            CREATE INDEX notices_state ON notices (state, id);
            """
        ),
        (
            // Live USSD sessions and IVR calls, shared by the nodes (`PostgresSessionStore`). Unlogged: no WAL, not
            // replicated, emptied if the server crashes; a session lives two minutes, a call ten. `state` is sealed
            // (AES-256-GCM under a key derived from the pepper): password digits being keyed in are in it.
            "v2-live-sessions",
            """
            CREATE UNLOGGED TABLE live_sessions (
                kind TEXT NOT NULL,
                id TEXT NOT NULL,
                caller TEXT NOT NULL,
                source TEXT NOT NULL,
                standing INTEGER NOT NULL,
                last_active DOUBLE PRECISION NOT NULL,
                state TEXT NOT NULL,
                PRIMARY KEY (kind, id)
            );
            CREATE INDEX live_sessions_idle ON live_sessions (kind, last_active);
            CREATE INDEX live_sessions_caller ON live_sessions (kind, caller, standing, last_active);
            CREATE INDEX live_sessions_source ON live_sessions (kind, source, standing, last_active);
            """
        ),
        (
            // Signed statements of the chain's head (RecordCheckpoint): append-only like the records.
            "v3-record-checkpoints",
            """
            CREATE TABLE record_checkpoints (
                id BIGINT PRIMARY KEY,
                time TEXT NOT NULL,
                last_id BIGINT NOT NULL,
                hash TEXT NOT NULL,
                signature TEXT NOT NULL
            );
            CREATE TRIGGER record_checkpoints_append_only BEFORE UPDATE OR DELETE ON record_checkpoints
                FOR EACH ROW EXECUTE FUNCTION selfcare_refuse('record checkpoints are append-only');
            CREATE TRIGGER record_checkpoints_no_truncate BEFORE TRUNCATE ON record_checkpoints
                FOR EACH STATEMENT EXECUTE FUNCTION selfcare_refuse('record checkpoints are append-only');
            """
        ),
        (
            // One record chain per partition of the numbers (RecordPartitions), so that writes about different
            // numbers need not wait for one head; record ids from a sequence; a checkpoint per chain.
            "v4-record-chains",
            """
            CREATE TABLE store_settings (
                name TEXT PRIMARY KEY,
                value BIGINT NOT NULL
            );
            INSERT INTO store_settings (name, value) VALUES ('record_partitions', 16);
            CREATE TRIGGER store_settings_fixed BEFORE UPDATE OR DELETE ON store_settings
                FOR EACH ROW EXECUTE FUNCTION selfcare_refuse('store settings are fixed when the store is created');
            ALTER TABLE records ADD COLUMN chain BIGINT NOT NULL DEFAULT 1 CHECK (chain BETWEEN 1 AND 17);
            CREATE INDEX records_chain ON records (chain, id);
            CREATE SEQUENCE records_id;
            SELECT setval('records_id', COALESCE((SELECT max(id) FROM records), 0) + 1, false);
            ALTER TABLE record_chain DROP CONSTRAINT record_chain_id_check;
            ALTER TABLE record_chain ALTER COLUMN id TYPE BIGINT;
            ALTER TABLE record_chain ADD CONSTRAINT record_chain_partition CHECK (id BETWEEN 1 AND 17);
            ALTER TABLE record_checkpoints ADD COLUMN chain BIGINT NOT NULL DEFAULT 1 CHECK (chain BETWEEN 1 AND 17);
            ALTER TABLE record_checkpoints ADD COLUMN ids_through BIGINT;
            """
        ),
        (
            // The rest of the self-service catalogue, as on SQLite (migration v14-catalogue).
            "v5-catalogue",
            """
            CREATE TABLE cards (
                serial TEXT PRIMARY KEY,
                pin_digest TEXT NOT NULL,
                value_fen BIGINT NOT NULL,
                validity_days BIGINT NOT NULL,
                expires TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('unused', 'used', 'expired', 'frozen')),
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
                msisdn TEXT PRIMARY KEY,
                body TEXT NOT NULL
            );
            CREATE TABLE tickets (
                id BIGINT PRIMARY KEY,
                msisdn TEXT NOT NULL,
                kind TEXT NOT NULL,
                category TEXT NOT NULL,
                text TEXT NOT NULL,
                offender TEXT,
                created TEXT NOT NULL
            );
            CREATE INDEX tickets_msisdn ON tickets (msisdn, id);
            """
        ),
    ]

    /// The statements of a migration, one by one (the extended protocol runs one statement a query): split at each
    /// `;` that ends a line outside a `$$`-quoted function body.
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody && line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                statements.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}
