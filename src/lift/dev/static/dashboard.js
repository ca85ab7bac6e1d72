// The Lift dev dashboard: initial state from /_lift/api/state, live updates over SSE (/_lift/stream).
"use strict";
const $ = (sel) => document.querySelector(sel);
const MAX_ROWS = 300;
const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };
let logs = [];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function statusClass(status) {
  if (typeof status === "number") return "s" + String(status)[0];
  return status === "ok" ? "s2" : status;
}

function time(ts) { return new Date(ts * 1000).toLocaleTimeString(); }

function addInvocation(item, fresh) {
  const body = $("#invocations tbody");
  let status = String(item.status);
  if (item.records !== undefined) status += ` (${item.records - item.failed}/${item.records} ok, receive #${item.receive_count})`;
  const row = el("tr", { class: fresh ? "new" : "", "data-kind": item.kind, "data-id": item.id, title: item.error || "",
                         onclick: () => showDetail(item, row) },
    el("td", {}, time(item.at)), el("td", {}, item.method), el("td", { class: "target" }, item.target),
    el("td", { class: statusClass(item.status) }, status), el("td", {}, item.duration_ms.toFixed(1)),
    el("td", { class: "muted" }, item.request_id || ""));
  body.prepend(row);
  while (body.children.length > MAX_ROWS) body.lastChild.remove();
}

let shown = null;
async function showDetail(item, row) {
  shown = item;
  document.querySelectorAll("#invocations tr.selected").forEach((r) => r.classList.remove("selected"));
  row.classList.add("selected");
  const res = await fetch(`/_lift/api/invocations/${item.id}`);
  const detail = res.ok ? await res.json() : { event: "(no longer kept)", result: null, error: null };
  $("#detail-title").textContent = `${item.method} ${item.target} (${item.request_id || ""})`;
  $("#detail-event").textContent = JSON.stringify(detail.event, null, 2);
  $("#detail-result").textContent = detail.error ? "error: " + detail.error : JSON.stringify(detail.result, null, 2);
  $("#detail-profile").hidden = !item.profiled;
  $("#replay-result").textContent = "";
  $("#detail").hidden = false;
}

async function replay() {
  if (!shown) return;
  $("#replay-result").textContent = "replaying...";
  const out = await post(`/_lift/api/invocations/${shown.id}/replay`);
  $("#replay-result").textContent = "replayed: " + (out.error ? "error: " + out.error : JSON.stringify(out.result).slice(0, 300));
}

function treeText(node, depth, lines) {
  lines.push(`${"  ".repeat(depth)}${node.ms.toFixed(2)} ms  ${node.function}  ${node.location}`);
  for (const child of node.children) treeText(child, depth + 1, lines);
  return lines;
}

async function showProfile(key) {
  const res = await fetch(`/_lift/api/profiles/${encodeURIComponent(key)}`);
  const profile = await res.json();
  if (!res.ok) { $("#profile-tree").textContent = profile.error; $("#profile-view").hidden = false; return; }
  $("#profile-title").textContent = `${profile.label} (${profile.duration_ms} ms, ${profile.engine})`;
  $("#profile-tree").textContent = treeText(profile.tree, 0, []).join("\n");
  const link = $("#profile-html");
  link.hidden = profile.engine !== "pyinstrument";
  link.href = `/_lift/api/profiles/${profile.id}/html`;
  $("#profile-view").hidden = false;
}

async function refreshProfiles() {
  const data = await (await fetch("/_lift/api/profiles")).json();
  $("#profiling-state").textContent = data.enabled ? `(${data.engine}, 1 request in ${data.every})` : "(off: lift dev --profile)";
  const body = $("#profiles tbody");
  body.replaceChildren(...data.slowest.map((p) => el("tr", { "data-profile": p.id },
    el("td", {}, p.label), el("td", {}, p.duration_ms.toFixed(2)), el("td", {}, p.memory_peak_kb == null ? "" : `${p.memory_peak_kb} KB`),
    el("td", {}, el("button", { class: "small", onclick: () => showProfile(p.id) }, "call tree")))));
}

async function loadImports() {
  $("#imports-load").textContent = "measuring...";
  const data = await (await fetch("/_lift/api/imports")).json();
  $("#imports-load").textContent = "measure again";
  const body = $("#imports tbody");
  if (data.error) { body.replaceChildren(el("tr", {}, el("td", { class: "error" }, data.error))); return; }
  body.replaceChildren(...data.imports.map((c) => el("tr", {}, el("td", {}, "  ".repeat(c.depth) + c.module),
    el("td", {}, (c.self_us / 1000).toFixed(2)), el("td", {}, (c.cumulative_us / 1000).toFixed(2)))));
}

function renderTests(tests) {
  if (!tests || (!tests.running && tests.exit_code === null)) return;
  $("#tests-section").hidden = false;
  $("#tests-status").textContent = tests.running ? "running..." : `exit code ${tests.exit_code}`;
  $("#tests-output").textContent = tests.output.join("\n");
}

async function runTests() {
  $("#tests-section").hidden = false;
  $("#tests-output").textContent = "";
  $("#tests-status").textContent = "starting...";
  const res = await fetch("/_lift/api/tests", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  if (res.status === 409) $("#tests-status").textContent = "a run is already going";
}

async function restartApp() {
  $("#restart").textContent = "restarting...";
  const out = await post("/_lift/api/restart");
  $("#restart").textContent = out.ok ? `restarted (generation ${out.generation})` : "restart failed";
  refreshState();
}

function renderStat(stat) {
  const body = $("#stats tbody");
  let row = [...body.children].find((r) => r.dataset.key === stat.key);
  const cells = [stat.key, stat.count, stat.errors, stat.p50, stat.p90, stat.p99];
  const fresh = el("tr", { "data-key": stat.key }, ...cells.map((c, i) => el("td", { class: i === 2 && c ? "error" : "" }, c)));
  if (row) row.replaceWith(fresh); else body.append(fresh);
}

function addLog(item) {
  logs.push(item);
  if (logs.length > 500) logs.shift();
  if (LEVELS[item.level] >= LEVELS[$("#log-level").value]) prependLog(item);
}

function prependLog(item) {
  const box = $("#logs");
  box.prepend(el("div", { class: "log" }, el("span", { class: "lvl " + item.level }, item.level), " ",
    el("span", { class: "muted" }, `${time(item.at)} ${item.logger}${item.request_id ? " " + item.request_id : ""} `),
    item.message));
  while (box.children.length > MAX_ROWS) box.lastChild.remove();
}

function renderLogs() {
  $("#logs").replaceChildren();
  for (const item of logs) if (LEVELS[item.level] >= LEVELS[$("#log-level").value]) prependLog(item);
}

async function post(url, payload) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload || {}) });
  return res.json();
}

async function sendSample(kind, name, options) {
  $("#send-result").textContent = `sending ${kind} ${name}...`;
  const out = await post("/_lift/send", { kind, name, options });
  $("#send-result").textContent = `${kind} ${name}: ` + (out.error ? "error: " + out.error : "result " + JSON.stringify(out.result));
}

async function sendHttp(method, path, body) {
  const init = { method };
  if (body) { init.body = body; init.headers = { "content-type": "application/json" }; }
  const res = await fetch(path, init);
  const text = await res.text();
  $("#send-result").textContent = `${method} ${path}: ${res.status} ${text.slice(0, 300)}`;
}

function renderSources(state) {
  const box = $("#sources");
  box.replaceChildren();
  for (const src of state.sources) {
    if (src.kind === "websocket") continue;
    box.append(el("button", { "data-kind": src.kind, "data-name": src.name, onclick: () => sendSample(src.kind, src.name, src.options) },
      `${src.kind} ${src.name}`));
  }
  if (!box.children.length) box.append(el("span", { class: "muted" }, "no event sources registered"));
}

function renderRoutes(state) {
  const body = $("#routes tbody");
  body.replaceChildren();
  for (const r of state.routes) {
    const simple = r.method === "GET" && !r.path.includes("{");
    body.append(el("tr", {}, el("td", {}, r.method), el("td", {}, r.path), el("td", {}, r.handler),
      el("td", { class: "wrap muted" }, r.middleware.map((m) => m.split(".")[0]).join(" > ")),
      el("td", {}, simple ? el("button", { class: "small", onclick: () => sendHttp("GET", r.path) }, "send") : "")));
  }
}

function renderQueues(queues) {
  const body = $("#queues tbody");
  body.replaceChildren();
  for (const q of queues) {
    const dlq = q.dlq.map((d) => `${d.messageId.slice(0, 8)} x${d.receiveCount}`).join(", ");
    body.append(el("tr", { "data-queue": q.queue }, el("td", {}, q.queue), el("td", {}, q.received), el("td", {}, q.succeeded),
      el("td", {}, q.redelivered), el("td", { class: q.dlq.length ? "error dlq" : "dlq" }, q.dlq.length ? `${q.dlq.length}: ${dlq}` : "0"),
      el("td", {}, q.dlq.length ? el("button", { class: "small", onclick: () => post(`/_lift/queues/${encodeURIComponent(q.queue)}/redrive`) }, "redrive") : "")));
  }
}

function renderJobs(jobs) {
  const body = $("#jobs tbody");
  body.replaceChildren(...(jobs || []).map((j) => el("tr", { "data-job": j.id, "data-status": j.status },
    el("td", {}, `${j.name} ${String(j.id).slice(0, 8)}`), el("td", { class: j.status === "failed" ? "error" : "" }, j.status),
    el("td", {}, `${Math.round(j.progress || 0)}%`), el("td", {}, j.attempts ?? ""),
    el("td", { class: "wrap" }, j.error || j.message || ""))));
  if (!body.children.length) body.append(el("tr", {}, el("td", { class: "muted" }, "no jobs started yet")));
  // jobs run on the app's own worker, outside the dashboard's stream: follow them while any is active
  if ((jobs || []).some((j) => j.status === "queued" || j.status === "running")) setTimeout(refreshSoon, 500);
}

function renderSchedules(schedules) {
  const body = $("#schedules tbody");
  body.replaceChildren();
  for (const s of schedules) {
    body.append(el("tr", {}, el("td", {}, s.rule), el("td", {}, s.expression),
      el("td", { class: s.error ? "error" : "" }, s.error || (s.next || "").replace("T", " ").slice(0, 19)),
      el("td", {}, el("button", { class: "small", onclick: () => sendSample("schedule", s.rule) }, "fire now"))));
  }
}

function renderWebsockets(conns) {
  $("#websockets").replaceChildren(...conns.map((c) => el("li", {}, `${c.connection_id} from ${c.source_ip} since ${time(c.connected_at)}`)));
}

async function runHealth() {
  const report = await (await fetch("/_lift/api/health")).json();
  const box = $("#health");
  if (!report) { box.textContent = "no health checks registered"; return; }
  const cls = (status) => "health-" + (status === "ok" ? "pass" : status === "degraded" ? "warn" : "fail");
  box.replaceChildren(el("div", { class: cls(report.status) }, `status: ${report.status} (checked ${report.checked_at || ""})`));
  for (const [name, check] of Object.entries(report.checks || {})) {
    box.append(el("div", { class: cls(check.status) },
      `${name}: ${check.status} (${check.latency_ms ?? "?"} ms)${check.error ? " " + check.error : ""}`));
  }
}

function renderReload(app) {
  $("#reload-error").hidden = !app.error;
  $("#reload-error-text").textContent = app.error || "";
}

async function refreshState() {
  const state = await (await fetch("/_lift/api/state")).json();
  $("#app-name").textContent = state.app.name || "";
  $("#app-ref").textContent = `${state.app.ref} (${state.app.payload} payload, generation ${state.app.generation})`;
  renderReload(state.app);
  renderRoutes(state);
  renderSources(state);
  renderQueues(state.queues);
  renderSchedules(state.schedules);
  renderWebsockets(state.websockets);
  renderTests(state.tests);
  renderJobs(state.jobs);
  return state;
}

let queuedProfiles = null;
function refreshProfilesSoon() {
  if (queuedProfiles) return;
  queuedProfiles = setTimeout(() => { queuedProfiles = null; refreshProfiles(); }, 300);
}

let queuedRefresh = null;
function refreshSoon() {
  if (queuedRefresh) return;
  queuedRefresh = setTimeout(() => { queuedRefresh = null; refreshState(); }, 300);
}

async function start() {
  const state = await refreshState();
  for (const item of state.invocations) addInvocation(item, false);
  for (const stat of state.stats) renderStat(stat);
  for (const item of state.logs) addLog(item);
  if (state.health_available) runHealth();
  refreshProfiles();
  const stream = new EventSource("/_lift/stream");
  stream.onopen = () => { $("#live").textContent = "live"; $("#live").classList.remove("off"); };
  stream.onerror = () => { $("#live").textContent = "reconnecting"; $("#live").classList.add("off"); };
  stream.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "invocation") {
      addInvocation(data.item, true);
      renderStat(data.stats);
      if (data.item.kind === "sqs" || data.item.kind === "websocket" || data.item.method === "POST") refreshSoon();
      if (data.item.profiled) refreshProfilesSoon();
    } else if (data.type === "log") addLog(data.item);
    else if (data.type === "reload") refreshSoon();
    else if (data.type === "tests") {
      $("#tests-section").hidden = false;
      if (data.started) { $("#tests-output").textContent = ""; $("#tests-status").textContent = "running..."; }
      if (data.line !== undefined) $("#tests-output").textContent += data.line + "\n";
      if (data.done) $("#tests-status").textContent = `exit code ${data.exit_code}`;
    }
  };
}

$("#clear").addEventListener("click", () => $("#invocations tbody").replaceChildren());
$("#http-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sendHttp($("#http-method").value, $("#http-path").value, $("#http-body").value.trim());
});
$("#detail-close").addEventListener("click", () => { $("#detail").hidden = true; });
$("#log-level").addEventListener("change", renderLogs);
$("#health-run").addEventListener("click", runHealth);
$("#detail-replay").addEventListener("click", replay);
$("#detail-profile").addEventListener("click", () => shown && showProfile(shown.request_id));
$("#imports-load").addEventListener("click", loadImports);
$("#run-tests").addEventListener("click", runTests);
$("#restart").addEventListener("click", restartApp);
start();
