// Healer's web dashboard: renders the DashboardView that /api/v1/dashboard/stream pushes (at once, then on every
// change), and sends a person's answers (approve, deny, ack, silence) to the API. Plain DOM, no framework, no
// CDN; text is set with textContent only, so nothing from the bus is ever read as HTML.
"use strict";

const API = "/api/v1";
const WORDS = { ok: "OK", warning: "WARNING", critical: "CRITICAL", unknown: "UNKNOWN",
                healthy: "HEALTHY", degraded: "DEGRADED", down: "DOWN" };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "";
}

function ago(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 90) return `${Math.round(s)}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

function who() {
  return $("who").value.trim() || "web";
}

function say(text) {
  const box = $("message");
  box.textContent = text;
  box.classList.add("shown");
  clearTimeout(say.timer);
  say.timer = setTimeout(() => box.classList.remove("shown"), 4000);
}

async function send(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const token = sessionStorage.getItem("healer-token");
  if (token) headers.Authorization = `Bearer ${token}`;
  const reply = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  if (reply.status === 401) {
    const given = prompt("Acting needs a credential's token (with make run: local-admin's, in .healer/credentials.yaml):");
    if (given) { sessionStorage.setItem("healer-token", given); return send(method, path, body); }
  }
  const answer = await reply.json().catch(() => ({}));
  say(reply.ok ? `${method} ${path}: done` : `${method} ${path}: ${answer.error || reply.status}`);
  return reply.ok;
}

const act = {
  approve: (id) => send("POST", `/approvals/${id}`, { decision: "approve", by: who() }),
  deny: (id) => send("POST", `/approvals/${id}`, { decision: "deny", by: who() }),
  ack: (id) => send("POST", `/incidents/${id}/ack`, { by: who() }),
  silence: (card) => {
    const hours = prompt(`Silence ${card.alert_ids.join(", ")} on ${card.cluster} for how many hours?`, "2");
    if (!hours) return;
    const reason = prompt("Why? (for whoever wonders later)", "being worked on") || "being worked on";
    const matchers = [`cluster=${card.cluster}`, `alertname=~${card.alert_ids.join("|")}`];
    if (card.namespace) matchers.push(`namespace=${card.namespace}`);
    send("POST", "/silences", { matchers, duration_s: Number(hours) * 3600, reason, author: who() });
  },
};

function stateWord(state) {
  return el("span", { class: `state ${state}` }, el("span", { class: "word" }, WORDS[state] || state.toUpperCase()));
}

function renderHealth(view) {
  const box = $("health");
  box.className = `state ${view.health.state}`;
  box.dataset.state = view.health.state;
  box.replaceChildren(el("span", { class: "word" }, WORDS[view.health.state]), " ",
    el("span", { class: "text" }, `${view.health.summary} (${view.health.services_up}/${view.health.services_total} services)`));
  $("updated").textContent = `updated ${clock(view.time)}`;
}

function renderTiles(view) {
  $("tiles").replaceChildren(...view.tiles.map((tile) => el("article",
    { class: `tile ${tile.state}`, "data-tile": tile.key, "data-state": tile.state },
    el("div", {}, el("b", {}, tile.title), " ", stateWord(tile.state)),
    el("div", { class: "count" }, String(tile.count)),
    el("div", { class: "counts" }, tile.counts),
    el("div", { class: "summary" }, tile.summary),
    el("ul", {}, ...tile.detail.map((line) => el("li", {}, line))))));
}

function renderIncidents(view) {
  $("incident-count").textContent = `(${view.incidents.length})`;
  const items = view.incidents.map((card) => {
    const run = card.remediation;
    return el("li", { class: card.severity, "data-incident-id": card.incident_id, "data-remediation": run ? run.state : "none" },
      el("div", { class: "title" }, `${card.severity.toUpperCase()} · ${card.title}`),
      el("div", { class: "meta" }, `${card.cluster} · opened ${ago(card.opened_at)} · ${card.alerts_firing} firing (${card.alert_ids.join(", ")})`
        + (card.acknowledged_by ? ` · acknowledged by ${card.acknowledged_by}` : "") + (card.silenced ? " · silenced" : "")),
      card.cause ? el("div", { class: "cause" }, el("b", {}, "likely cause: "), `${card.cause.description} (${Math.round(card.cause.score * 100)}%)`) : "",
      el("div", { class: "did" }, el("b", {}, "Healer: "), run ? `${run.playbook} ${run.state.replace("_", " ")}${run.dry_run ? " (dry run)" : ""}${run.last_step ? ` · ${run.last_step}` : ""}` : "no remediation yet"),
      el("button", { onclick: () => act.ack(card.incident_id) }, "Ack"),
      el("button", { onclick: () => act.silence(card) }, "Silence"),
      el("button", { onclick: () => showTimeline(card.incident_id) }, "Timeline"));
  });
  $("incidents").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, "no open incident")]));
}

function renderApprovals(view) {
  $("approval-count").textContent = `(${view.approvals.length})`;
  const items = view.approvals.map((card) => el("li", { class: "warning", "data-approval-id": card.remediation_id },
    el("div", { class: "title" }, `${card.action}: ${card.summary}`),
    el("div", { class: "meta" }, `${card.playbook} on ${card.cluster} · expires ${clock(card.expires_at)} (then ${card.on_timeout})`),
    el("button", { class: "approve", onclick: () => act.approve(card.remediation_id) }, "Approve"),
    el("button", { class: "deny", onclick: () => act.deny(card.remediation_id) }, "Deny")));
  $("approvals").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, "nothing waits for you")]));
}

function renderRuns(view) {
  $("coderun-count").textContent = `(${view.coderuns.length})`;
  const items = view.coderuns.map((run) => {
    const pct = run.progress == null ? null : Math.round(run.progress * 100);
    return el("li", { "data-coderun": run.name },
      el("span", {}, `${run.name} · ${run.agent || "?"} · ${run.stage || "stage ?"} · ${run.phase}`),
      el("span", { class: "bar", role: "progressbar", "aria-valuenow": String(pct ?? 0), "aria-valuemin": "0", "aria-valuemax": "100" },
        el("span", { style: `width: ${pct ?? 0}%` })),
      el("span", {}, pct == null ? "?" : `${pct}%`));
  });
  $("coderuns").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, "no CodeRun active")]));
}

function renderAlerts(view) {
  const rows = view.alerts.map((row) => el("tr", { "data-fingerprint": row.fingerprint, "data-status": row.status },
    el("td", {}, clock(row.time)),
    el("td", { title: row.summary }, `${row.alert_id} ${row.name}`),
    el("td", { class: `sev ${row.severity}` }, row.severity.toUpperCase()),
    el("td", {}, row.target),
    el("td", {}, row.status),
    el("td", { class: "did", "data-action-state": row.action_state }, row.action)));
  $("alerts").tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6", class: "empty" }, "no alert yet"))]));
}

function render(view) {
  renderHealth(view);
  renderTiles(view);
  renderIncidents(view);
  renderApprovals(view);
  renderRuns(view);
  renderAlerts(view);
}

async function showTimeline(id) {
  const reply = await fetch(`${API}/incidents/${id}`);
  if (!reply.ok) { say(`incident ${id}: ${reply.status}`); return; }
  const detail = await reply.json();
  $("timeline-title").textContent = `${detail.incident.title} (${detail.incident.state})`;
  $("timeline-entries").replaceChildren(...detail.incident.timeline.map((entry) =>
    el("li", {}, `${clock(entry.time)} ${entry.kind}: ${entry.text}`)));
  $("timeline-runs").replaceChildren(...detail.remediations.map((run) =>
    el("li", {}, `${run.playbook} ${run.state}: ${run.steps.map((s) => `${s.action} ${s.outcome}`).join(", ") || "no step"}`)));
  $("timeline").showModal();
}

function connect() {
  const stream = new EventSource(`${API}/dashboard/stream`);
  stream.addEventListener("dashboard", (event) => {
    $("link").dataset.live = "true";
    $("link").textContent = "live";
    render(JSON.parse(event.data));
  });
  stream.onerror = () => {
    $("link").dataset.live = "false";
    $("link").textContent = "reconnecting";
  };
}

$("who").value = localStorage.getItem("healer-who") || "";
$("who").addEventListener("change", () => localStorage.setItem("healer-who", who()));
connect();
