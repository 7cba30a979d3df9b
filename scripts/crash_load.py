#!/usr/bin/env python3
"""Mixed load for scripts/crash-test.sh, and the checks after a crash.

  crash_load.py load BASE_URL SUCCESS_LOG WORKERS SECONDS ERROR_LOG [--balanced]   queries and loss transactions
  crash_load.py check DATABASE SUCCESS_LOG NUMBERS...        the records and states after the crash
  crash_load.py billing PORT DIR [MS [--no-fsync]]  billing's order webhook and Kannel's sendsms, logging to
                                      DIR; each webhook call answered MS milliseconds late
  crash_load.py delivered DATABASE DIR      after a clean drain: every order applied once, no notice twice

DATABASE is a SQLite file or a postgres:// URL (read through psql).

load: each worker owns one subscriber (password 470159) and alternates loss.report and
loss.cancel through a random channel, with balance queries between; every transaction the
client sees succeed is appended to SUCCESS_LOG at once ("session operation subject"). It stops
when the server goes away. With --balanced, BASE_URL is a load balancer in front of several
nodes: a 502, 503 or 504 (the node it went to was killed) leaves the outcome unknown and the load
goes on, until SECONDS have passed.
check: every success in the log has its ok record (same session, operation, subject); each
subscriber's status agrees with its last ok loss record (no state change without its record).
Prints a one-line summary; exits 1 on any mismatch.
"""
import http.server, json, os, random, sqlite3, subprocess, sys, threading, time, urllib.error, urllib.parse
import urllib.request

PASSWORD = "470159"


def post(url, data, json_body=False, timeout=10):
    if json_body:
        req = urllib.request.Request(url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"})
    else:
        req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode()


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def outcome(text, report):
    """ok, refused-with-known-state, or unknown, from an English reply."""
    if report and "was reported lost" in text:
        return "ok"
    if not report and "is cancelled" in text:
        return "ok"
    if "already reported lost" in text:
        return "lost"
    if "is not reported lost" in text:
        return "normal"
    return "unknown"


def worker(base, number, log, lock, deadline, stop, tag, errors, balanced=False):
    lost = None  # unknown until a reply says
    n = 0
    while time.time() < deadline and not stop.is_set():
        n += 1
        try:
            if random.random() < 0.3:
                get(f"{base}/sms/kannel?from={number}&to=10010&text=BALANCE&id=q-{tag}-{n}")
                continue
            if random.random() < 0.1:
                # Another phone with a wrong password: the owner gets an SMS notice.
                get(f"{base}/sms/kannel?from=13900000000&to=10010&text=LOST+{number}+000000&id=t-{tag}-{n}")
                continue
            report = not lost if lost is not None else random.random() < 0.5
            op = "loss.report" if report else "loss.cancel"
            channel = random.choice(["ussd", "ivr", "sms"])
            session = f"{channel}-{tag}-{n}"
            if channel == "ussd":
                keys = f"2*{1 if report else 3}*{PASSWORD}*1"
                text = post(f"{base}/ussd/at", {"sessionId": session, "serviceCode": "*100#",
                                                 "phoneNumber": number, "text": keys})
            elif channel == "ivr":
                post(f"{base}/v1/ivr", {"call": session, "from": number, "start": True}, json_body=True)
                reply = json.loads(post(f"{base}/v1/ivr", {"call": session, "from": number,
                                                            "digits": f"2{1 if report else 3}{PASSWORD}#1"},
                                        json_body=True))
                text = " ".join(a.get("text", "") for a in reply["actions"])
            else:
                post(f"{base}/v1/messages", {"channel": "sms", "from": number, "id": session + "-a",
                                              "text": ("LOST " if report else "FOUND ") + PASSWORD}, json_body=True)
                session = session + "-y"
                reply = json.loads(post(f"{base}/v1/messages", {"channel": "sms", "from": number, "id": session,
                                                                 "text": "Y"}, json_body=True))
                text = reply["reply"]
            result = outcome(text, report)
            if result == "ok":
                with lock:
                    log.write(f"{session} {op} {number}\n")
                    log.flush()
                lost = report
            elif result in ("lost", "normal"):
                lost = result == "lost"
        except urllib.error.HTTPError as error:
            if balanced and error.code in (502, 503, 504):
                # The node this went to died with it: whether it was applied is unknown until a reply says.
                lost = None
                continue
            # The server answered with an error: never expected, even under load.
            with lock:
                errors.write(f"HTTP {error.code} for {number}\n")
                errors.flush()
        except (urllib.error.URLError, ConnectionError, OSError, json.JSONDecodeError, KeyError):
            stop.set()  # the server went away
            return


def load(base, log_path, workers, seconds, errors_path, balanced=False):
    numbers = [f"1770000{i:04d}" for i in range(workers)]
    stop = threading.Event()
    lock = threading.Lock()
    deadline = time.time() + seconds
    tag = str(int(time.time() * 1000))
    with open(log_path, "a") as log, open(errors_path, "a") as errors:
        threads = [threading.Thread(target=worker,
                                    args=(base, n, log, lock, deadline, stop, f"{tag}-{i}", errors, balanced))
                   for i, n in enumerate(numbers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


class Database:
    """Read-only queries on a SQLite file, or on a PostgreSQL database through psql; `?` placeholders."""

    def __init__(self, database):
        self.url = database if database.startswith("postgres://") else None
        self.db = None if self.url else sqlite3.connect(f"file:{database}?mode=ro", uri=True)

    def execute(self, sql, params=()):
        return Rows(self.db.execute(sql, params).fetchall() if self.db else self.psql(sql, params))

    def psql(self, sql, params):
        parts = sql.split("?")
        assert len(parts) == len(params) + 1, sql
        text = parts[0]
        for value, rest in zip(params, parts[1:]):
            text += (str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'") + rest
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\x1f", "-P", "null=\x1e", "-v", "ON_ERROR_STOP=1",
                              "-d", self.url, "-c", text], capture_output=True, text=True, check=True).stdout
        rows = []
        for line in out.splitlines():
            if line:
                rows.append(tuple(None if v == "\x1e" else int(v) if v.lstrip("-").isdigit() else v
                                  for v in line.split("\x1f")))
        return rows


class Rows(list):
    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return list(self)


def check(database, log_path, numbers):
    db = Database(database)
    problems = []
    successes = [line.split() for line in open(log_path) if line.strip()]
    # One query for all of them (through psql, one a success would take minutes).
    seen = {(str(session), str(op), str(subject)): count for session, op, subject, count in db.execute(
        "SELECT session, operation, subject, count(*) FROM records WHERE result = 'ok' "
        "GROUP BY session, operation, subject").fetchall()}
    for session, op, subject in successes:
        count = seen.get((session, op, subject), 0)
        if count != 1:
            problems.append(f"{op} {subject} seen ok by the client (session {session}) has {count} ok records")
    # The chain's head row names the last record: a lagging head would make the next append collide.
    head = db.execute("SELECT last_id FROM record_chain WHERE id = 1").fetchone()
    (last,) = db.execute("SELECT max(id) FROM records").fetchone()
    if (head[0] if head else None) != last:
        problems.append(f"the chain head says {head[0] if head else None} but the last record is {last}")
    for number in numbers:
        # Every state change has its record: the ok loss records alternate report, cancel, report, …
        ops = [op for (op,) in db.execute("SELECT operation FROM records WHERE subject = ? AND result = 'ok' AND "
                                         "operation IN ('loss.report', 'loss.cancel') ORDER BY id", (number,))]
        for i, op in enumerate(ops):
            if op != ("loss.report" if i % 2 == 0 else "loss.cancel"):
                problems.append(f"{number}: ok record {i + 1} is {op}, out of turn (a change without its record?)")
                break
        row = db.execute("SELECT status FROM subscribers WHERE msisdn = ?", (number,)).fetchone()
        last = db.execute("SELECT operation FROM records WHERE subject = ? AND result = 'ok' AND operation IN "
                          "('loss.report', 'loss.cancel') ORDER BY id DESC LIMIT 1", (number,)).fetchone()
        expected = "lost" if last and last[0] == "loss.report" else "normal"
        if row is None or row[0] != expected:
            problems.append(f"{number} is {row[0] if row else 'missing'} but its last ok record says {expected}")
    # Every applied transaction has exactly one service order, written in its transaction (docs/orders.md), and
    # every order belongs to an applied transaction's record.
    transactions = ("'loss.report', 'loss.cancel', 'plan.change', 'plan.cancel', 'suspend.keep', "
                    "'suspend.resume', 'password.change', 'password.set'")
    unordered = db.execute(f"SELECT r.id, r.operation FROM records r LEFT JOIN orders o ON o.record_id = r.id "
                           f"WHERE r.result = 'ok' AND r.operation IN ({transactions}) "
                           f"GROUP BY r.id HAVING count(o.id) != 1").fetchall()
    for record_id, op in unordered[:5]:
        problems.append(f"ok {op} record {record_id} does not have exactly one order")
    # (A scheduled change the tick drops has a refused tick record and an order telling billing so.)
    orphans = db.execute(f"SELECT o.id FROM orders o LEFT JOIN records r ON r.id = o.record_id "
                         f"WHERE r.id IS NULL OR r.operation != o.operation "
                         f"OR (r.result != 'ok' AND r.session IS DISTINCT FROM 'tick')").fetchall()
    for (order_id,) in orphans[:5]:
        problems.append(f"order {order_id} has no applied transaction's record")
    (records,) = db.execute("SELECT count(*) FROM records").fetchone()
    (orders,) = db.execute("SELECT count(*) FROM orders").fetchone()
    print(f"checked {len(successes)} client-seen transactions and {len(numbers)} subscribers "
          f"against {records} records and {orders} orders: {len(problems)} problem(s)")
    for p in problems[:20]:
        print("  " + p)
    return 0 if not problems else 1


def billing(port, folder, delay=0.0, durable=True):
    """Billing's webhook (applies each order once by its Idempotency-Key) and Kannel's sendsms (accepts every
    notice); every call is logged with fsync, so a kill of the gateway never loses what was received. With a
    delay, each webhook call is answered that many seconds late (a slow billing system). Not durable: no fsync
    (a test that kills no one, on a machine whose disk is busy with other tests' fsyncs)."""
    applied = set()
    if os.path.exists(f"{folder}/applied.log"):
        applied = {line.strip() for line in open(f"{folder}/applied.log") if line.strip()}
    lock = threading.Lock()

    def append(name, line):
        with open(f"{folder}/{name}", "a") as f:
            f.write(line + "\n")
            f.flush()
            if durable:
                os.fsync(f.fileno())

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get("Idempotency-Key") or ""
            with lock:
                append("calls.log", key)
                if key and key not in applied:
                    applied.add(key)
                    append("applied.log", key)
            if delay:
                time.sleep(delay)
            self.send_response(200 if key and body else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            with lock:
                append("sms.log", json.dumps({"to": query.get("to", [""])[0], "text": query.get("text", [""])[0]}))
            reply = b"0: Accepted for delivery"
            self.send_response(202)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    with open(f"{folder}/port.tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(f"{folder}/port.tmp", f"{folder}/port")
    server.serve_forever()


def delivered(database, folder):
    """After a clean drain: every order delivered, each applied once by billing; no notice sent twice."""
    db = Database(database)
    problems = []
    keys = [k for (k,) in db.execute("SELECT key FROM orders")]
    states = dict(db.execute("SELECT state, count(*) FROM orders GROUP BY state").fetchall())
    if set(states) - {"delivered"}:
        problems.append(f"orders not all delivered after the drain: {states}")
    applied = [line.strip() for line in open(f"{folder}/applied.log")] if os.path.exists(f"{folder}/applied.log") else []
    calls = [line.strip() for line in open(f"{folder}/calls.log")] if os.path.exists(f"{folder}/calls.log") else []
    if len(applied) != len(set(applied)):
        problems.append("billing applied an order twice")
    missing = set(keys) - set(applied)
    if missing:
        problems.append(f"{len(missing)} orders never reached billing, e.g. {sorted(missing)[:3]}")
    notices = dict(db.execute("SELECT state, count(*) FROM notices GROUP BY state").fetchall())
    sms = [line for line in open(f"{folder}/sms.log")] if os.path.exists(f"{folder}/sms.log") else []
    sent, unknown = notices.get("sent", 0), notices.get("unknown", 0)
    # Each notice is claimed once: the SMS that reached Kannel are the ones sent, plus at most those whose call
    # was cut by a kill (unknown). More would be a notice sent twice.
    if not (sent <= len(sms) <= sent + unknown):
        problems.append(f"{len(sms)} SMS reached Kannel for {sent} sent and {unknown} unknown notices")
    if notices.get("pending", 0) or notices.get("sending", 0):
        problems.append(f"notices left after the drain: {notices}")
    print(f"{len(keys)} orders, {len(set(applied))} applied by billing after {len(calls)} calls; "
          f"{sum(notices.values())} notices ({sent} sent, {unknown} unknown), {len(sms)} SMS at Kannel: "
          f"{len(problems)} problem(s)")
    for p in problems:
        print("  " + p)
    return 0 if not problems else 1


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], "--balanced" in sys.argv[7:])
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:]))
    elif sys.argv[1] == "billing":
        billing(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.0,
                "--no-fsync" not in sys.argv[5:])
    elif sys.argv[1] == "delivered":
        sys.exit(delivered(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
