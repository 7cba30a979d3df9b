// SelfCare console: the pages' small scripts. No framework and no build step; every request carries the
// session's CSRF token, and the server checks roles whatever the page shows.
"use strict";

const csrf = document.body.dataset.csrf || "";
const lang = document.body.dataset.lang || "zh-CN";

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function showError(error) {
  const box = document.getElementById("sim-error");
  if (!box) return;
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : "";
}

// ---- Phone simulator -------------------------------------------------------------------------------------

function setUpSimulator(root) {
  const number = () => document.getElementById("sim-number").value.trim();
  // A number that is not a test number needs a reason: it goes into the number's access record.
  const reason = () => document.getElementById("sim-reason").value.trim();
  const panels = { sms: "panel-sms", ussd: "panel-ussd", ivr: "panel-ivr" };
  for (const radio of document.querySelectorAll("input[name=sim-channel]")) {
    radio.addEventListener("change", () => {
      for (const [channel, id] of Object.entries(panels)) {
        document.getElementById(id).hidden = channel !== radio.value || !radio.checked;
      }
    });
  }

  // SMS: a chat thread; each reply shows its parts, the encoding and the characters used of each part's limit.
  const thread = document.getElementById("sms-thread");
  async function sendSMS(text) {
    if (!text) return;
    showError(null);
    thread.append(element("li", { class: "out" }, text));
    try {
      const answer = await (await post("/console/api/sms", { from: number(), reason: reason(), text })).json();
      const item = element("li", { class: "in", "data-record": answer.record ?? "", "data-reason": answer.reason });
      item.append(document.createTextNode(answer.reply));
      const limit = answer.parts.length > 1 ? answer.partLimit : answer.single;
      const parts = answer.parts.map((p, i) => `${i + 1}/${answer.parts.length}: ${p.length}/${limit}`).join(" · ");
      item.append(element("span", { class: "parts" },
        `${answer.encoding} · ${parts} · ${answer.result} ${answer.reason}` +
        (answer.record ? ` · #${answer.record}` : "")));
      thread.append(item);
      item.scrollIntoView({ block: "nearest" });
    } catch (error) { showError(error); }
  }
  document.getElementById("sms-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("sms-text");
    sendSMS(input.value.trim());
    input.value = "";
  });
  document.getElementById("sms-yes").addEventListener("click", () => sendSMS("Y"));

  // USSD: a phone screen with CON/END and the characters used of the screen's limit.
  let ussdSession = null;
  const screen = document.getElementById("ussd-screen");
  const meta = document.getElementById("ussd-meta");
  async function ussd(input) {
    showError(null);
    const code = document.getElementById("ussd-code").value.trim() || "*100#";
    if (!ussdSession) ussdSession = randomId();
    try {
      const body = { from: number(), reason: reason(), code };
      if (input !== null) body.input = input;
      const answer = await (await post("/console/api/ussd", body)).json();
      screen.textContent = answer.screen;
      meta.textContent = `${answer.ends ? "END" : "CON"} · ${answer.length}/${answer.limit} · ${answer.encoding}`;
      meta.dataset.state = answer.ends ? "END" : "CON";
      if (answer.ends) ussdSession = null;
    } catch (error) { showError(error); }
  }
  document.getElementById("ussd-dial").addEventListener("submit", (event) => {
    event.preventDefault();
    ussdSession = null;
    ussd(null);
  });
  document.getElementById("ussd-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("ussd-input");
    if (!ussdSession) return;
    ussd(input.value.trim());
    input.value = "";
  });
  document.getElementById("ussd-back").addEventListener("click", () => ussdSession && ussd("0"));
  document.getElementById("ussd-home").addEventListener("click", () => ussdSession && ussd("00"));
  document.getElementById("ussd-end").addEventListener("click", () => {
    ussdSession = null;
    screen.textContent = "—";
    meta.textContent = "";
  });

  // IVR: a keypad; the prompt shown and spoken; the no-input timer counts down and sends silence at zero.
  let call = null;
  let collect = null;
  let typed = "";
  let timer = null;
  let deadline = 0;
  const prompt = document.getElementById("ivr-prompt");
  const state = document.getElementById("ivr-state");
  const digits = document.getElementById("ivr-digits");
  const clock = document.getElementById("ivr-timer");
  const audio = document.getElementById("ivr-audio");
  const speak = document.getElementById("ivr-speak");

  function stopTimer() { if (timer) clearInterval(timer); timer = null; clock.textContent = ""; }
  function startTimer(seconds) {
    stopTimer();
    deadline = Date.now() + seconds * 1000;
    clock.textContent = `⏱ ${seconds}s`;
    timer = setInterval(() => {
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      clock.textContent = `⏱ ${left}s`;
      if (left === 0) {
        stopTimer();
        // With the automatic silence off, the caller takes their time: Silence sends it.
        if (document.getElementById("ivr-auto-silence").checked) step("");
        else clock.textContent = "⏱ 0s";
      }
    }, 250);
  }
  // The prompt spoken; resolves when it has been played (or could not be), as a voice platform starts its
  // no-input timer once the prompt ends.
  async function say(text) {
    if (!speak || !speak.checked || !text) return;
    try {
      const response = await post("/console/api/speech", { text, language: lang });
      audio.src = URL.createObjectURL(await response.blob());
      await new Promise((resolve) => {
        audio.onended = resolve;
        audio.onerror = resolve;
        audio.play().catch(resolve);
      });
    } catch (error) { /* the text is on screen */ }
  }
  let shown = 0; // prompts shown so far: a prompt's timer starts only if no later one replaced it
  function show(actions) {
    const texts = actions.filter((a) => a.text).map((a) => a.text);
    prompt.textContent = texts.join("\n") || "—";
    collect = actions.find((a) => a.type === "collect") || null;
    const last = actions[actions.length - 1];
    typed = "";
    digits.textContent = "";
    if (last && (last.type === "hangup" || last.type === "transfer")) {
      state.textContent = last.type === "transfer" ? `→ ${last.queue}` : "hangup";
      state.dataset.state = last.type;
      call = null;
      shown += 1;
      stopTimer();
      say(texts.join(" "));
    } else {
      state.textContent = collect ? `collect ${collect.maxDigits}` : "";
      state.dataset.state = "collect";
      const waiting = ++shown;
      clock.textContent = collect && collect.noInputTimeout ? `⏱ ${collect.noInputTimeout}s` : "";
      say(texts.join(" ")).then(() => {
        if (call && shown === waiting && collect && collect.noInputTimeout && !typed) startTimer(collect.noInputTimeout);
      });
    }
  }
  async function step(keys) {
    if (!call) return;
    stopTimer();
    showError(null);
    try {
      show((await (await post("/console/api/ivr", { from: number(), reason: reason(), digits: keys })).json()).actions);
    } catch (error) { showError(error); }
  }
  document.getElementById("ivr-call").addEventListener("click", async () => {
    call = randomId();
    showError(null);
    try {
      show((await (await post("/console/api/ivr", { from: number(), reason: reason(), start: true })).json()).actions);
    } catch (error) { showError(error); }
  });
  document.getElementById("ivr-silence").addEventListener("click", () => step(""));
  document.getElementById("ivr-hangup").addEventListener("click", () => {
    call = null;
    stopTimer();
    state.textContent = "hangup";
    state.dataset.state = "hangup";
  });
  for (const key of document.querySelectorAll(".keypad button")) {
    key.addEventListener("click", () => {
      if (!call) return;
      const k = key.dataset.key;
      const max = collect ? collect.maxDigits || 1 : 1;
      if (k === "#" && max > 1) { step(typed); return; }
      typed += k;
      // Keys of a longer entry (a password) are never shown.
      digits.textContent = max > 1 ? "•".repeat(typed.length) : typed;
      if (typed.length >= max) step(typed);
      else if (collect && collect.noInputTimeout) startTimer(collect.noInputTimeout);
    });
  }
}

// ---- Grammar workbench -------------------------------------------------------------------------------------

function setUpWorkbench() {
  const form = document.getElementById("try-form");
  const result = document.getElementById("try-result");
  const originals = new Map();
  for (const area of document.querySelectorAll("textarea.draft")) originals.set(area.dataset.file, area.value);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = {};
    for (const area of document.querySelectorAll("textarea.draft")) {
      if (area.value !== originals.get(area.dataset.file)) files[area.dataset.file] = area.value;
    }
    const inputs = document.getElementById("try-inputs").value.split("\n").map((s) => s.trim());
    while (inputs.length && inputs[inputs.length - 1] === "") inputs.pop();
    result.textContent = "…";
    try {
      const trial = await (await post("/console/api/grammars/try", {
        files, channel: document.getElementById("try-channel").value,
        caller: document.getElementById("try-caller").value, inputs,
      })).json();
      result.textContent = "";
      if (trial.findings.length) {
        const list = element("ul", { class: "findings", id: "try-findings" });
        for (const f of trial.findings) {
          const item = element("li", { class: f.severity }, `${f.file}:${f.line}:${f.column} ${f.severity}: ${f.message}`);
          if (f.text) item.append(element("pre", {}, f.text));
          list.append(item);
        }
        result.append(list);
      }
      if (trial.steps.length) {
        const list = element("ol", { class: "steps", id: "try-steps" });
        for (const s of trial.steps) {
          const item = element("li", {}, "▶ " + s.input);
          item.append(element("pre", {}, s.output));
          list.append(item);
        }
        result.append(list);
      }
    } catch (error) {
      result.textContent = String(error.message || error);
    }
  });
}

// ---- Health: the /metrics counters, drawn ------------------------------------------------------------------

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[3] || "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

function sum(samples, name, filter) {
  return samples.filter((s) => s.name === name && filter(s.labels)).reduce((a, s) => a + s.value, 0);
}

function sparkline(values, label) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 100 40");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const max = Math.max(1e-9, ...values);
  const points = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * 100},${38 - (v / max) * 36}`).join(" ");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points);
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#0b4fa8");
  line.setAttribute("stroke-width", "2");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
  return svg;
}

function setUpHealth(root) {
  const history = new Map();
  const status = document.getElementById("health-status");
  let previous = null;
  async function poll() {
    try {
      const response = await fetch("/metrics", { credentials: "same-origin" });
      if (!response.ok) throw new Error(`/metrics: ${response.status}`);
      const samples = parseMetrics(await response.text());
      const now = Date.now();
      const series = {};
      for (const channel of ["sms", "ussd", "ivr", "api", "console"]) {
        const count = sum(samples, "selfcare_operations_total", (l) => l.channel === channel);
        const latencySum = sum(samples, "selfcare_operation_duration_seconds_sum", (l) => l.channel === channel);
        const latencyCount = sum(samples, "selfcare_operation_duration_seconds_count", (l) => l.channel === channel);
        series[channel] = { count, latencySum, latencyCount };
      }
      const http = sum(samples, "selfcare_http_requests_total", () => true);
      const sessions = {
        ussd: sum(samples, "selfcare_live_sessions", (l) => l.channel === "ussd"),
        ivr: sum(samples, "selfcare_live_sessions", (l) => l.channel === "ivr"),
      };
      if (previous) {
        const minutes = Math.max(1e-6, (now - previous.time) / 60000);
        const push = (key, value) => {
          const values = history.get(key) || [];
          values.push(value);
          if (values.length > 60) values.shift();
          history.set(key, values);
        };
        for (const channel of Object.keys(series)) {
          const a = previous.series[channel], b = series[channel];
          push(`rate ${channel}`, Math.max(0, (b.count - a.count) / minutes));
          const n = b.latencyCount - a.latencyCount;
          push(`latency ${channel}`, n > 0 ? ((b.latencySum - a.latencySum) / n) * 1000 : 0);
        }
        push("http", Math.max(0, (http - previous.http) / minutes));
        push("sessions ussd", sessions.ussd);
        push("sessions ivr", sessions.ivr);
        draw(root);
      }
      previous = { time: now, series, http };
      status.textContent = new Date(now).toLocaleTimeString(lang);
    } catch (error) {
      status.textContent = String(error.message || error);
    }
  }
  function draw(root) {
    const labels = root.dataset;
    const charts = [["http", `${labels.labelHttp}`, "/min"]];
    for (const channel of ["sms", "ussd", "ivr", "api", "console"]) {
      charts.push([`rate ${channel}`, `${labels.labelRate} · ${channel}`, "/min"]);
      charts.push([`latency ${channel}`, `${labels.labelLatency} · ${channel}`, " ms"]);
    }
    charts.push(["sessions ussd", `${labels.labelSessions} · ussd`, ""]);
    charts.push(["sessions ivr", `${labels.labelSessions} · ivr`, ""]);
    root.textContent = "";
    for (const [key, title, unit] of charts) {
      const values = history.get(key) || [];
      const last = values.length ? values[values.length - 1] : 0;
      const box = element("section", { class: "chart", "data-series": key });
      box.append(element("h2", {}, title));
      box.append(element("p", { class: "value" }, `${last.toFixed(1)}${unit}`));
      box.append(sparkline(values, `${title}: ${last.toFixed(1)}${unit}`));
      root.append(box);
    }
  }
  poll();
  setInterval(poll, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  const simulator = document.getElementById("simulator");
  if (simulator) setUpSimulator(simulator);
  if (document.getElementById("try-form")) setUpWorkbench();
  const health = document.getElementById("health");
  if (health) setUpHealth(health);
});
