#!/usr/bin/env python3
"""The web console in a real browser: headless Chromium from Debian driven by Selenium, axe-core on every page.

Starts `selfcare serve --demo` on a scratch database with a fixed clock, signs in as each demo role, runs an SMS
balance query, a USSD walk to the balance, an IVR call to a transfer and a plan change with its confirmation, and
checks what each page shows against the records (`GET /v1/records`). It checks that an operator is refused the
auditor's and the admin's pages by the server, the CSRF token and the cookie's flags; saves a screenshot of every
page (desktop and phone width) under --screenshots; and fails on any serious or critical axe-core violation.

Usage: scripts/browser-test.py --binary .build/debug/selfcare [--screenshots .build/console-screenshots]
       [--readme-images docs/images]   (also writes the three screenshots the README shows)
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

CLOCK = "2026-12-07T10:00:00+08:00"
ADMIN_TOKEN = "browser-test-token"
failures = []
checks = 0


def check(condition, message):
    global checks
    checks += 1
    if not condition:
        failures.append(message)
        print(f"FAIL: {message}", flush=True)


class Server:
    def __init__(self, binary, folder):
        self.folder = folder
        env = dict(os.environ, SELFCARE_NOW=CLOCK, SELFCARE_ADMIN_TOKEN=ADMIN_TOKEN)
        self.log = open(os.path.join(folder, "serve.log"), "w+")
        self.process = subprocess.Popen(
            [binary, "serve", "--demo", "--database", os.path.join(folder, "demo.sqlite"), "--port", "0"],
            stdout=subprocess.DEVNULL, stderr=self.log, env=env, cwd=os.getcwd())
        self.accounts = {}
        deadline = time.time() + 120
        while time.time() < deadline:
            self.log.seek(0)
            text = self.log.read()
            match = re.search(r"serving on (http://\S+)", text)
            if match:
                self.url = match.group(1)
                for name, password, role in re.findall(r"selfcare:\s+(demo-\w+) / (\S+) \((\w+)\)", text):
                    self.accounts[role] = (name, password)
                return
            if self.process.poll() is not None:
                raise SystemExit("serve exited:\n" + text)
            time.sleep(0.2)
        raise SystemExit("serve did not start")

    def records(self, **query):
        url = self.url + "/v1/records?" + "&".join(f"{k}={v}" for k, v in query.items())
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        with urllib.request.urlopen(request) as response:
            return [json.loads(line) for line in response.read().decode().splitlines() if line]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def request(server, path, method="GET", cookie=None, headers=None, body=None):
    """A request outside the browser: what the server itself answers, whatever the page offered."""
    headers = dict(headers or {})
    if cookie:
        headers["Cookie"] = cookie
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(server.url + path, method=method, headers=headers, data=data)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, server, shots):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--autoplay-policy=no-user-gesture-required", "--lang=zh-CN"]:
            options.add_argument(argument)
        service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
        self.driver = webdriver.Chrome(service=service, options=options)
        self.server = server
        self.shots = shots
        # A form's answer replaces the page under the wait: its old elements go stale, which is no failure.
        self.wait = WebDriverWait(self.driver, 30, ignored_exceptions=[StaleElementReferenceException])

    def open(self, path):
        self.driver.get(self.server.url + path)

    def find(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def shot(self, name, phone=True, top=True):
        if top:
            self.driver.execute_script("window.scrollTo(0, 0)")
        self.driver.save_screenshot(os.path.join(self.shots, name + ".png"))
        if phone:
            size = self.driver.get_window_size()
            self.driver.set_window_size(390, 844)
            time.sleep(0.2)
            self.driver.save_screenshot(os.path.join(self.shots, name + "-phone.png"))
            self.driver.set_window_size(size["width"], size["height"])

    def axe(self, name):
        axe = Axe(self.driver)
        axe.inject()
        results = axe.run()
        bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        for violation in bad:
            nodes = ", ".join(n["target"][0] if n["target"] else "?" for n in violation["nodes"][:3])
            print(f"axe {name}: {violation['impact']} {violation['id']}: {violation['help']} ({nodes})")
        check(not bad, f"axe-core: {len(bad)} serious or critical violation(s) on {name}")
        minor = [v["id"] for v in results["violations"] if v not in bad]
        print(f"axe {name}: {len(results['passes'])} rules pass, serious/critical 0 expected, got {len(bad)}; "
              f"minor: {', '.join(minor) or 'none'}")

    def sign_in(self, role):
        name, password = self.server.accounts[role]
        self.driver.delete_all_cookies()
        self.open("/console/login")
        self.find("#account").send_keys(name)
        self.find("#password").send_keys(password)
        self.find("#login-form button[type=submit]").click()
        self.wait.until(lambda d: "/console/login" not in d.current_url)
        return name

    def cookie_header(self):
        return "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())

    def csrf(self):
        return self.find("body").get_attribute("data-csrf")

    def quit(self):
        self.driver.quit()


def wait_text(browser, selector, predicate, what):
    try:
        browser.wait.until(lambda d: predicate(d.find_element(By.CSS_SELECTOR, selector).text))
    except Exception:
        check(False, f"{what}: `{selector}` shows {browser.find(selector).text!r}")
    return browser.find(selector).text


def operator_flows(browser, server):
    name = browser.sign_in("operator")
    check(browser.driver.current_url.endswith("/console/simulator"), "the operator lands on the simulator")
    browser.axe("sign-in → simulator")
    number = "18612345678"

    # SMS balance query: the bubble, its parts and encoding, and the record it names.
    box = browser.find("#sms-text")
    box.send_keys("CXYE")
    browser.find("#sms-form button[type=submit]").click()
    wait_text(browser, "#sms-thread li.in", lambda t: "余额" in t, "the SMS balance reply")
    bubble = browser.find("#sms-thread li.in")
    record_id = bubble.get_attribute("data-record")
    records = server.records(subject=number)
    record = next((r for r in records if str(r["id"]) == record_id), None)
    check(record is not None and record["operation"] == "query.balance", f"SMS reply names record {record_id}")
    if record:
        check(bubble.text.startswith(record["reply"]), "the SMS bubble is the recorded reply")
    check("UCS-2" in bubble.find_element(By.CSS_SELECTOR, ".parts").text, "the SMS parts show their encoding")
    check(re.search(r"1/1: \d+/70", bubble.text) is not None, "the SMS parts show characters used of the limit")

    # A plan change with its confirmation.
    box.send_keys("TCBG P38 CY 258036")
    browser.find("#sms-form button[type=submit]").click()
    wait_text(browser, "#sms-thread", lambda t: "回复Y确认" in t, "the plan change asks for a confirmation")
    browser.find("#sms-yes").click()
    wait_text(browser, "#sms-thread li.in:last-child", lambda t: "P38" in t or "畅享38" in t, "the confirmed change")
    confirm = browser.find("#sms-thread li.in:last-child")
    changes = [r for r in server.records(subject=number) if r["operation"] == "plan.change"]
    check([r["reason"] for r in changes][-2:] == ["confirmation_required", "ok"],
          f"records: plan.change asked then applied, got {[r['reason'] for r in changes]}")
    if changes:
        check(confirm.text.startswith(changes[-1]["reply"]), "the confirmation's reply is the recorded one")
    browser.shot("simulator-sms")

    # USSD walk to the balance.
    browser.find("input[name=sim-channel][value=ussd]").click()
    browser.find("#ussd-dial button[type=submit]").click()
    wait_text(browser, "#ussd-meta", lambda t: t.startswith("CON"), "the USSD menu")
    check(re.search(r"\d+/80 · UCS-2", browser.find("#ussd-meta").text) is not None,
          "the USSD screen shows characters used of the 80 limit")
    browser.axe("simulator (USSD)")
    for key in ["1"]:
        browser.find("#ussd-input").send_keys(key)
        browser.find("#ussd-form button[type=submit]").click()
        wait_text(browser, "#ussd-screen", lambda t: "余额" in t and "查询" in t, "the USSD query menu")
    browser.shot("simulator-ussd-menu")
    browser.find("#ussd-input").send_keys("1")
    browser.find("#ussd-form button[type=submit]").click()
    screen = wait_text(browser, "#ussd-screen", lambda t: "账户余额" in t, "the USSD balance")
    check(browser.find("#ussd-meta").text.startswith("END"), "the balance ends the USSD session")
    ussd = [r for r in server.records(subject=number) if r["channel"] == "ussd"]
    check(bool(ussd) and ussd[-1]["operation"] == "query.balance" and ussd[-1]["reply"] == screen,
          "the USSD screen is the recorded reply")
    browser.shot("simulator-ussd")

    # IVR call: the balance (the prompt checked against its record), then 0 for an agent: the transfer.
    browser.find("input[name=sim-channel][value=ivr]").click()
    browser.find("#ivr-call").click()
    wait_text(browser, "#ivr-prompt", lambda t: "人工服务" in t or "agent" in t, "the IVR welcome")
    check(re.search(r"⏱ \d+s", browser.find("#ivr-timer").text) is not None, "the IVR no-input timer runs")
    browser.axe("simulator (IVR)")
    if browser.find("#simulator").get_attribute("data-speech") == "on":
        try:
            browser.wait.until(lambda d: (d.find_element(By.ID, "ivr-audio").get_attribute("src") or "").startswith("blob:"))
            check(True, "")
        except Exception:
            check(False, "the IVR prompt is spoken (espeak-ng audio in the page)")
    else:
        print("espeak-ng not installed on the server: prompts shown as text only")
    browser.find(".keypad button[data-key='1']").click()
    wait_text(browser, "#ivr-prompt", lambda t: "余额" in t and "请按" in t, "the IVR queries menu")
    browser.find(".keypad button[data-key='1']").click()
    prompt = wait_text(browser, "#ivr-prompt", lambda t: "账户余额为" in t, "the IVR balance")
    ivr = [r for r in server.records(subject=number) if r["channel"] == "ivr"]
    check(bool(ivr) and ivr[-1]["operation"] == "query.balance" and ivr[-1]["reply"] in prompt,
          "the IVR prompt holds the recorded reply")
    browser.find(".keypad button[data-key='0']").click()
    wait_text(browser, "#ivr-state", lambda t: t.startswith("→"), "the IVR transfer")
    browser.shot("simulator-ivr")
    check(browser.find("#ivr-state").get_attribute("data-state") == "transfer", "the call ends in a transfer")
    check("agent" in browser.find("#ivr-state").text, "the transfer names the agent queue")

    # The simulator wrote one access record for the test number, and the channels' records name its session.
    views = [r for r in server.records(subject=number) if r["operation"] == "console.view"]
    check([v["inputs"]["view"] for v in views] == ["simulator"] and views[0]["caller"] == f"console:{name}",
          f"the simulator wrote the number's access record ({[v['inputs'] for v in views]})")
    if views:
        sid = views[0]["session"]
        sessions = {r["session"] for r in server.records(subject=number) if r["channel"] in ("sms", "ussd", "ivr")}
        check(all(s.startswith(f"console-{sid}") for s in sessions), "the simulated records name the console session")
    # A number that is not a test number needs a reason.
    status, _, text = request(server, "/console/api/sms", "POST", browser.cookie_header(),
                              {"Content-Type": "application/json", "X-CSRF-Token": browser.csrf()},
                              json.dumps({"from": "13900000000", "text": "CXYE"}))
    check(status == 400, f"a number that is not a test number needs a reason ({status})")

    # The subscriber view: a reason, an access record.
    browser.open(f"/console/subscriber?number={number}")
    check("186****5678" in browser.find("main").text, "without a reason the number is masked")
    browser.find("#reason").send_keys("customer called about the plan")
    browser.find("#open-form button[type=submit]").click()
    wait_text(browser, "#sub-plan", lambda t: "P58" in t, "the subscriber's plan")
    check("P38" in browser.find("#pending-h").find_element(By.XPATH, "..").text,
          "the change to P38 next month is pending")
    views = [r for r in server.records(subject=number) if r["operation"] == "console.view"]
    check(bool(views) and views[-1]["caller"] == f"console:{name}"
          and views[-1]["inputs"].get("reason") == "customer called about the plan",
          "opening the subscriber wrote an access record with who and why")
    browser.axe("subscriber")
    browser.shot("subscriber")

    # Refused by the server, not only hidden: the pages and the requests behind them.
    for page in ["/console/records", "/console/admin"]:
        browser.open(page)
        check(browser.find("#error-message").is_displayed(), f"the operator sees a refusal at {page}")
    browser.axe("refusal")
    browser.shot("forbidden", phone=False)
    cookie = browser.cookie_header()
    browser.open("/console/simulator")
    csrf = browser.csrf()
    for path in ["/console/records", "/console/admin", "/console/records/export?format=csv"]:
        status, _, _ = request(server, path, cookie=cookie)
        check(status == 403, f"the server refuses the operator {path} ({status})")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ["/console/grammars/reload", "/console/records/verify", "/console/admin/end-sessions"]:
        status, _, _ = request(server, path, "POST", cookie, form, f"csrf={csrf}&account=demo-admin")
        check(status == 403, f"the server refuses the operator POST {path} ({status})")

    # CSRF: the cookie alone does nothing; neither does another site's page.
    body = json.dumps({"from": number, "text": "CXYE"})
    before = len(server.records(subject=number))
    status, _, _ = request(server, "/console/api/sms", "POST", cookie, {"Content-Type": "application/json"}, body)
    check(status == 403, f"a script request without the CSRF token is refused ({status})")
    status, _, _ = request(server, "/console/api/sms", "POST", cookie,
                           {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Origin": "https://evil.example"}, body)
    check(status == 403, f"a request from another origin is refused ({status})")
    status, _, _ = request(server, "/console/subscriber/unlock", "POST", cookie, form,
                           f"number={number}&reason=forged+request")
    check(status == 403, f"a form without its token is refused ({status})")
    check(len(server.records(subject=number)) == before, "the refused requests wrote no record")

    # The cookie's flags, as the browser holds them; Secure once the proxy says TLS.
    session = next((c for c in browser.driver.get_cookies() if c["name"] == "selfcare_console"), {})
    check(session.get("httpOnly") is True, "the session cookie is HttpOnly")
    check(session.get("sameSite") == "Strict", f"the session cookie is SameSite=Strict ({session.get('sameSite')})")
    check(browser.driver.execute_script("return document.cookie").find("selfcare_console=") < 0,
          "scripts cannot read the session cookie")
    status, headers, page = request(server, "/console/login", headers={"X-Forwarded-Proto": "https"})
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    login_cookie = headers.get("Set-Cookie", "").split(";")[0]
    op_name, op_password = server.accounts["operator"]
    status, headers, _ = request(server, "/console/login", "POST", login_cookie,
                                 dict(form, **{"X-Forwarded-Proto": "https"}),
                                 f"csrf={token}&account={op_name}&password={op_password}")
    check(status == 303 and "Secure" in headers.get("Set-Cookie", ""), "behind TLS the session cookie is Secure")

    # The workbench, as an operator may use it: try a draft.
    browser.open("/console/grammars")
    browser.axe("grammar workbench")
    browser.open("/console/health")
    time.sleep(4.5)
    wait_text(browser, "#health", lambda t: "sms" in t, "the health charts")
    check(len(browser.driver.find_elements(By.CSS_SELECTOR, "#health svg polyline")) >= 10, "health draws its charts")
    browser.axe("health")
    browser.shot("health")


def auditor_flows(browser, server):
    browser.sign_in("auditor")
    check(browser.driver.current_url.endswith("/console/records"), "the auditor lands on the records")
    for path in ["/console/simulator", "/console/admin", "/console/subscriber"]:
        browser.open(path)
        check(browser.find("#error-message").is_displayed(), f"the auditor is refused {path}")
    browser.open("/console/records")
    check(not browser.driver.find_elements(By.CSS_SELECTOR, "#records-table"),
          "the records view shows no record before a reason is given")
    browser.find("#verify").click()
    wait_text(browser, "#verify-status", lambda t: "✔" in t, "the chain verifies")
    head = server.records(limit=10000)[-1]
    check(browser.find("#chain-head-id").text == f"#{head['id']}", "the page's chain head is the last record")
    check(browser.find("#chain-head-hash").text == head["hash"], "the page's head hash is the last record's")
    browser.find("#f-number").send_keys("18612345678")
    browser.find("#f-why").send_keys("audit of the plan change")
    browser.find("#records-filter button[type=submit]").click()
    browser.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#records-table tbody tr"))
    rows = browser.driver.find_elements(By.CSS_SELECTOR, "#records-table tbody tr")
    expected = [r for r in server.records(subject="18612345678", limit=10000)]
    shown_ids = [int(r.get_attribute("data-id")) for r in rows]
    # The page is newest first and the access record of this very view is the newest.
    check(shown_ids == [r["id"] for r in reversed(expected)][:len(shown_ids)],
          f"the filtered rows are the number's records, newest first ({shown_ids[:5]}…)")
    first = rows[-1].find_elements(By.CSS_SELECTOR, "td")
    oldest = next(r for r in expected if r["id"] == shown_ids[-1])
    check(first[8].text == oldest["reply"].strip(), "a row shows the recorded reply")
    head = server.records(limit=10000)[-1]
    check(browser.find("#chain-head-id").text == f"#{head['id']}" and shown_ids[0] == head["id"],
          "after filtering, the head is this view's own access record, the table's first row")
    browser.axe("records")
    browser.shot("records")
    link = browser.find("#export-csv").get_attribute("href")
    status, headers, text = request(server, link.replace(server.url, ""), cookie=browser.cookie_header())
    lines = [l for l in text.split("\r\n") if l]
    check(status == 200 and headers.get("Content-Type", "").startswith("text/csv"), "the CSV export answers")
    check(len(lines) - 1 == len(server.records(subject="18612345678", limit=10000)),
          f"the export has every record of the filter ({len(lines) - 1})")
    jsonl = browser.find("#export-jsonl").get_attribute("href")
    status, _, text = request(server, jsonl.replace(server.url, ""), cookie=browser.cookie_header())
    exported = [json.loads(l) for l in text.splitlines() if l]
    check(status == 200 and all(r["subject"] == "18612345678" for r in exported), "the JSONL export is filtered")
    views = [r for r in server.records(subject="18612345678", limit=10000) if r["operation"] == "console.view"]
    check([v["inputs"]["view"] for v in views][-3:] == ["records", "records.export", "records.export"],
          "the records view and both exports wrote access records")


def admin_flows(browser, server, readme_images):
    browser.sign_in("admin")
    browser.open("/console/admin")
    browser.axe("admin")
    browser.shot("admin")
    browser.open("/console/grammars")
    check(browser.find("#live-check").text.startswith("✔"), "the live grammars pass the check")
    details = browser.driver.find_elements(By.CSS_SELECTOR, "details.grammar-file")
    sms = next(d for d in details if "sms.grammar" in d.find_element(By.TAG_NAME, "summary").text)
    sms.find_element(By.TAG_NAME, "summary").click()
    area = sms.find_element(By.TAG_NAME, "textarea")
    area.send_keys(webdriver.Keys.CONTROL, webdriver.Keys.END)
    area.send_keys("\nquery.balance: 查余额 $NOPE;\n")
    browser.find("#try-inputs").clear()
    browser.find("#try-inputs").send_keys("CXYE")
    browser.find("#try").click()
    text = wait_text(browser, "#try-result", lambda t: "error" in t, "the draft's diagnostic")
    check("sms.grammar" in text, "the diagnostic names the draft's file")
    browser.driver.execute_script("document.getElementById('try-result').scrollIntoView()")
    browser.shot("workbench-diagnostic", top=False)
    # The live set is untouched: the simulator still answers.
    status, _, _ = request(server, "/healthz")
    check(status == 200, "the server is up after the draft")
    browser.driver.refresh()
    browser.find("#try-inputs").clear()
    browser.find("#try-inputs").send_keys("CXJF")
    browser.find("#try").click()
    wait_text(browser, "#try-result", lambda t: "积分" in t, "a draft that compiles runs its conversation")
    browser.find("#reload").click()
    wait_text(browser, "#grammars-notice", lambda t: len(t) > 0, "the reload's answer")
    browser.axe("grammar workbench (admin)")
    browser.shot("workbench", phone=False)
    browser.open("/console/simulator?lang=en")
    check(browser.find("h1").text == "Phone simulator", "the console speaks English")
    browser.axe("simulator (English)")
    browser.shot("simulator-en", phone=False)
    if readme_images:
        os.makedirs(readme_images, exist_ok=True)
        for name, target in [("simulator-ussd", "console-simulator-ussd"), ("records", "console-records"),
                             ("workbench-diagnostic", "console-workbench")]:
            shutil.copy(os.path.join(browser.shots, name + ".png"), os.path.join(readme_images, target + ".png"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--screenshots", default=".build/console-screenshots")
    parser.add_argument("--readme-images")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="selfcare-browser-")
    server = Server(os.path.abspath(args.binary), folder)
    browser = None
    try:
        check(set(server.accounts) == {"operator", "auditor", "admin"}, f"demo accounts printed: {server.accounts}")
        browser = Browser(server, args.screenshots)
        browser.open("/console/login")
        browser.axe("sign-in")
        browser.shot("login")
        operator_flows(browser, server)
        auditor_flows(browser, server)
        admin_flows(browser, server, args.readme_images)
    except Exception as error:
        failures.append(f"{type(error).__name__}: {error}")
        if browser:
            browser.driver.save_screenshot(os.path.join(args.screenshots, "failure.png"))
        raise
    finally:
        if browser:
            browser.quit()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        print(f"browser test: {checks} checks, {len(failures)} failed; screenshots in {args.screenshots}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
