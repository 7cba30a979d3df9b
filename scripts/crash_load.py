#!/usr/bin/env python3
"""Mixed load for scripts/crash-test.sh, and the checks after a crash.

  crash_load.py load BASE_URL SUCCESS_LOG WORKERS SECONDS ERROR_LOG   queries and loss transactions
  crash_load.py check DATABASE SUCCESS_LOG NUMBERS...        the records and states after the crash

load: each worker owns one subscriber (password 470159) and alternates loss.report and
loss.cancel through a random channel, with balance queries between; every transaction the
client sees succeed is appended to SUCCESS_LOG at once ("session operation subject"). It stops
when the server goes away.
check: every success in the log has its ok record (same session, operation, subject); each
subscriber's status agrees with its last ok loss record (no state change without its record).
Prints a one-line summary; exits 1 on any mismatch.
"""
import json, random, sqlite3, sys, threading, time, urllib.error, urllib.parse, urllib.request

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


def worker(base, number, log, lock, deadline, stop, tag, errors):
    lost = None  # unknown until a reply says
    n = 0
    while time.time() < deadline and not stop.is_set():
        n += 1
        try:
            if random.random() < 0.3:
                get(f"{base}/sms/kannel?from={number}&to=10010&text=BALANCE&id=q-{tag}-{n}")
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
            # The server answered with an error: never expected, even under load.
            with lock:
                errors.write(f"HTTP {error.code} for {number}\n")
                errors.flush()
        except (urllib.error.URLError, ConnectionError, OSError, json.JSONDecodeError, KeyError):
            stop.set()  # the server went away
            return


def load(base, log_path, workers, seconds, errors_path):
    numbers = [f"1770000{i:04d}" for i in range(workers)]
    stop = threading.Event()
    lock = threading.Lock()
    deadline = time.time() + seconds
    tag = str(int(time.time() * 1000))
    with open(log_path, "a") as log, open(errors_path, "a") as errors:
        threads = [threading.Thread(target=worker, args=(base, n, log, lock, deadline, stop, f"{tag}-{i}", errors))
                   for i, n in enumerate(numbers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def check(database, log_path, numbers):
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    problems = []
    successes = [line.split() for line in open(log_path) if line.strip()]
    for session, op, subject in successes:
        (count,) = db.execute("SELECT count(*) FROM records WHERE session = ? AND operation = ? AND subject = ? "
                              "AND result = 'ok'", (session, op, subject)).fetchone()
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
                         f"OR (r.result != 'ok' AND r.session IS NOT 'tick')").fetchall()
    for (order_id,) in orphans[:5]:
        problems.append(f"order {order_id} has no applied transaction's record")
    (records,) = db.execute("SELECT count(*) FROM records").fetchone()
    (orders,) = db.execute("SELECT count(*) FROM orders").fetchone()
    print(f"checked {len(successes)} client-seen transactions and {len(numbers)} subscribers "
          f"against {records} records and {orders} orders: {len(problems)} problem(s)")
    for p in problems[:20]:
        print("  " + p)
    return 0 if not problems else 1


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:]))
    else:
        sys.exit(__doc__)
