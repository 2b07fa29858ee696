// The jitbroker console: plain DOM, no framework. Every value from the broker is written with
// textContent (never innerHTML), so ticket fields, claims and reasons render as text.
"use strict";

const TOKEN_KEY = "jitbroker.operatorToken";
const $ = (id) => document.getElementById(id);
let me = null;          // {name, role, lease_id}
let timer = null;       // the refresh of the view shown
let leaseCursor = "";   // the page of leases shown ("" = the first)
let leaseNext = null;

// An element with attributes and children (strings become text nodes).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function text(v) { return v === null || v === undefined ? "" : String(v); }

function showError(msg) { $("status").textContent = msg || ""; }

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, cache: "no-store",
                                body: body === undefined ? undefined : JSON.stringify(body) });
  const type = r.headers.get("Content-Type") || "";
  const data = type.startsWith("application/json") ? await r.json() : await r.text();
  if (r.status === 401 && me) signOut("Your token is no longer valid: sign in again.");
  return { status: r.status, data };
}

function errorText(res) {
  const d = res.data || {};
  return "Refused (" + res.status + " " + text(d.error) + "): " + text(d.error_description || d.message);
}

// ---- sign-in -------------------------------------------------------------------------------

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  const res = await api("GET", "/v1/operator-tokens/self");
  if (res.status !== 200) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("signin-error").textContent = errorText(res);
    return;
  }
  me = res.data;
  $("whoami").textContent = "Signed in as " + me.name + " (" + me.role + ")";
  $("signin").hidden = true;
  $("signout").hidden = false;
  $("nav").hidden = false;
  $("main").hidden = false;
  document.body.dataset.role = me.role;
  route();
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  stopTimer();
  $("signin").hidden = false;
  $("signout").hidden = true;
  $("nav").hidden = true;
  $("main").hidden = true;
  $("whoami").textContent = "";
  $("signin-error").textContent = why || "";
  $("token").value = "";
  $("token").focus();
}

// ---- views ---------------------------------------------------------------------------------

const views = { tickets: showTickets, leases: showLeases, revocations: showRevocations,
                reviews: showReviews, audit: showAudit, explain: showExplain };

function stopTimer() { if (timer) clearInterval(timer); timer = null; }

function route() {
  if (!me) return;
  stopTimer();
  showError("");
  const name = (location.hash || "#leases").slice(1);
  const view = views[name] ? name : "leases";
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== "view-" + view;
  for (const a of document.querySelectorAll("nav a"))
    a.setAttribute("aria-current", a.dataset.view === view ? "page" : "false");
  views[view]();
}

function every(ms, fn) {
  fn();
  timer = setInterval(fn, ms);
}

function cells(tr, values, mono) {
  values.forEach((v, i) => tr.append(el("td", mono && mono.includes(i) ? { class: "mono" } : {},
                                         v instanceof Node ? v : text(v))));
  return tr;
}

function leaseRow(l) {
  return cells(el("tr", { "data-lease-id": l.id }),
               [l.id, l.kind, l.ticket, l.grant, l.subject, l.state, l.issued_at, l.expires_at,
                l.reason], [0]);
}

// Tickets: the ticket, its state history and decisions (from the audit log), its leases.
function showTickets() {
  const id = new URLSearchParams(location.search).get("ticket");
  if (id && !$("ticket-id").value) $("ticket-id").value = id;
  if ($("ticket-id").value) loadTicket($("ticket-id").value);
}

async function loadTicket(id) {
  const out = $("ticket-out");
  clear(out);
  const t = await api("GET", "/v1/tickets/" + encodeURIComponent(id));
  if (t.status !== 200) { out.append(el("p", { class: "error" }, errorText(t))); return; }
  const tk = t.data;
  const facts = el("dl", { class: "facts", id: "ticket-facts" });
  for (const k of ["id", "state", "kind", "title", "requested_by", "approved_by", "subjects",
                   "access", "window_start", "window_end", "updated_at", "source"]) {
    if (tk[k] === undefined) continue;
    facts.append(el("dt", {}, k), el("dd", {}, Array.isArray(tk[k]) ? tk[k].join(", ") : text(tk[k])));
  }
  out.append(el("h3", {}, "Ticket " + text(tk.id)), facts);

  const rec = await api("GET", "/v1/audit/records?limit=1000&event=ticket.,decision.,lease.,review.&ticket=" +
                        encodeURIComponent(id));
  const records = rec.status === 200 ? rec.data.records : [];
  const history = el("tbody");
  for (const r of records.filter((r) => r.event.startsWith("ticket.")))
    history.append(cells(el("tr"), [r.time, r.event, r.state, r.source, r.reason]));
  out.append(el("h3", {}, "State history"),
             table(["Time", "Event", "State", "Source", "Why ignored"], history, "ticket-history"));

  const decisions = el("tbody");
  for (const r of records.filter((r) => r.event.startsWith("decision."))) {
    const basis = r.basis || {};
    const rules = el("ul");
    for (const rule of basis.rules || [])
      rules.append(el("li", { class: rule.passed ? "pass" : "fail" },
                      (rule.passed ? "passed " : "failed ") + text(rule.rule) +
                      (rule.grant ? " [" + rule.grant + "]" : "") + ": " + text(rule.detail)));
    const passed = (basis.rules || []).filter((x) => x.passed).length;
    const summary = el("summary", {}, passed + " of " + (basis.rules || []).length + " rules passed");
    decisions.append(cells(el("tr"), [r.time, r.event === "decision.allowed" ? "allowed" : "denied",
                                      r.subject, basis.grant, basis.failed_rule,
                                      el("details", {}, summary, rules)]));
  }
  out.append(el("h3", {}, "Decisions"),
             table(["Time", "Outcome", "Caller", "Grant", "Failed rule", "Basis"], decisions,
                   "ticket-decisions"));

  const leases = el("tbody");
  for (const l of tk.leases || []) leases.append(leaseRow(l));
  out.append(el("h3", {}, "Leases"),
             table(["Lease", "Kind", "Ticket", "Grant", "Subject", "State", "Issued", "Expires",
                    "Reason"], leases, "ticket-leases"));
}

function table(headings, tbody, id) {
  const head = el("tr");
  for (const h of headings) head.append(el("th", { scope: "col" }, h));
  return el("table", { id }, el("thead", {}, head), tbody);
}

// Live leases: one page of /v1/leases with the filters, again every second.
function leaseQuery() {
  const p = new URLSearchParams();
  for (const f of ["ticket", "subject", "grant", "kind", "state"]) {
    const v = $("f-" + f).value.trim();
    if (v) p.set(f, v);
  }
  p.set("limit", "50");
  if (leaseCursor) p.set("cursor", leaseCursor);
  return "/v1/leases?" + p.toString();
}

async function refreshLeases() {
  const res = await api("GET", leaseQuery());
  if (res.status !== 200) { showError(errorText(res)); return; }
  showError("");
  const body = $("lease-table").tBodies[0];
  clear(body);
  for (const l of res.data.leases) body.append(leaseRow(l));
  leaseNext = res.data.next;
  $("lease-next").disabled = !leaseNext;
  $("lease-updated").textContent = "Updated " + new Date().toLocaleTimeString() + ", " +
                                   res.data.leases.length + " shown.";
}

function showLeases() { every(1000, refreshLeases); }

// Revocations: newest first, with the lag from the ticket's close received to the revocation.
async function refreshRevocations() {
  const res = await api("GET", "/v1/revocations?limit=100");
  if (res.status !== 200) { showError(errorText(res)); return; }
  const body = $("revocation-table").tBodies[0];
  clear(body);
  for (const r of res.data.revocations)
    body.append(cells(el("tr", { "data-ticket": text(r.ticket) }),
                      [r.revoked_at || r.time, r.ticket, r.reason, r.count,
                       r.close_received_at ? r.close_received_at + " (" + text(r.ticket_state) + ")" : "",
                       r.lag_ms === null ? "" : r.lag_ms + " ms"]));
}

function showRevocations() { every(1000, refreshRevocations); }

// Break-glass reviews: the open ones with a form each, and those done (from the audit log).
async function refreshReviews() {
  const [open, done] = await Promise.all([
    api("GET", "/v1/reviews"),
    api("GET", "/v1/audit/records?event=review.done&limit=200")]);
  if (open.status !== 200) { showError(errorText(open)); return; }
  const list = $("review-list");
  clear(list);
  $("reviews-empty").hidden = open.data.reviews.length > 0;
  for (const r of open.data.reviews) list.append(reviewCard(r));
  const body = $("reviews-done").tBodies[0];
  clear(body);
  if (done.status === 200)
    for (const r of done.data.records.reverse())
      body.append(cells(el("tr", { "data-lease-id": r.lease }), [r.time, r.lease, r.ticket, r.by, r.comment], [1]));
}

function reviewCard(r) {
  const fid = "comment-" + r.id;
  const msg = el("p", { class: "error", role: "alert" });
  const comment = el("textarea", { id: fid, rows: 2, required: true });
  const form = el("form", {},
                  el("label", { htmlFor: fid }, "Review comment"), comment,
                  el("button", { type: "submit" }, "Mark reviewed"), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const res = await api("POST", "/v1/reviews/" + encodeURIComponent(r.id), { comment: comment.value });
    if (res.status !== 200) { msg.textContent = errorText(res); return; }
    refreshReviews();
  });
  const facts = el("dl", { class: "facts" });
  for (const k of ["ticket", "subject", "grant", "state", "issued_at", "expires_at", "reason"])
    facts.append(el("dt", {}, k), el("dd", {}, text(r[k])));
  return el("li", { "data-lease-id": r.id }, el("h4", { class: "mono" }, r.id), facts, form);
}

function showReviews() { refreshReviews(); }

// Audit: the chain's state, recent records, export.
async function refreshAudit() {
  const st = await api("GET", "/v1/audit/state");
  const dl = $("audit-state");
  clear(dl);
  if (st.status !== 200) { showError(errorText(st)); return; }
  const s = st.data;
  dl.append(el("dt", {}, "Chain"),
            el("dd", { class: s.intact ? "ok" : "error", id: "audit-intact" },
               s.intact ? "intact" : "BROKEN at line " + s.bad_line + ": " + text(s.problem)),
            el("dt", {}, "Verified up to record"), el("dd", { id: "audit-verified" }, text(s.verified_through_seq)),
            el("dt", {}, "Records in this file"), el("dd", {}, text(s.records)),
            el("dt", {}, "Last hash"), el("dd", { class: "mono" }, text(s.last_hash)));
  const ev = $("audit-event").value.trim();
  const res = await api("GET", "/v1/audit/records?limit=100" + (ev ? "&event=" + encodeURIComponent(ev) : ""));
  const body = $("audit-table").tBodies[0];
  clear(body);
  if (res.status !== 200) return;
  for (const r of res.data.records.reverse()) {
    const rest = Object.assign({}, r);
    for (const k of ["seq", "time", "event", "prev", "hash"]) delete rest[k];
    body.append(cells(el("tr", { "data-event": r.event }), [r.seq, r.time, r.event, JSON.stringify(rest)], [3]));
  }
}

async function exportAudit() {
  const res = await api("GET", "/v1/audit/export");
  if (res.status !== 200) { showError(errorText(res)); return; }
  const a = $("audit-download");
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([res.data], { type: "application/x-ndjson" }));
  a.hidden = false;
  a.textContent = "Save audit.log (" + res.data.length + " bytes)";
  a.focus();
}

function showAudit() { refreshAudit(); }

// Policy explain: the policies in force judge a stored ticket for the claims given.
function showExplain() {}

async function explain(ev) {
  ev.preventDefault();
  const out = $("explain-out");
  clear(out);
  let claims;
  try { claims = JSON.parse($("explain-claims").value); } catch (e) {
    out.append(el("p", { class: "error" }, "The claims are not JSON: " + e.message));
    return;
  }
  const body = { ticket: $("explain-ticket").value.trim(), claims, kind: $("explain-kind").value };
  if ($("explain-grant").value.trim()) body.grant = $("explain-grant").value.trim();
  const res = await api("POST", "/v1/policies/explain", body);
  if (res.status !== 200) { out.append(el("p", { class: "error" }, errorText(res))); return; }
  const d = res.data;
  out.append(el("p", { class: d.allowed ? "ok" : "error", id: "explain-outcome" },
                d.allowed ? "Allowed by grant " + text(d.grant)
                          : "Denied: " + text(d.failed_rule) + (d.grant ? " (grant " + d.grant + ")" : "")));
  const rules = el("tbody");
  for (const r of d.rules || [])
    rules.append(cells(el("tr", { class: r.passed ? "pass" : "fail" }),
                       [r.rule, r.grant, r.passed ? "passed" : "failed", r.detail]));
  out.append(table(["Rule", "Grant", "Outcome", "Detail"], rules, "explain-rules"));
}

// ---- wiring --------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    $("signin-error").textContent = "";
    signIn($("token").value.trim());
  });
  $("signout").addEventListener("click", () => signOut(""));
  $("ticket-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadTicket($("ticket-id").value.trim());
  });
  $("lease-filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    leaseCursor = "";
    refreshLeases();
  });
  $("lease-first").addEventListener("click", () => { leaseCursor = ""; refreshLeases(); });
  $("lease-next").addEventListener("click", () => {
    if (leaseNext) { leaseCursor = leaseNext; refreshLeases(); }
  });
  $("audit-refresh").addEventListener("click", refreshAudit);
  $("audit-export").addEventListener("click", exportAudit);
  $("audit-filter").addEventListener("submit", (ev) => { ev.preventDefault(); refreshAudit(); });
  $("explain-form").addEventListener("submit", explain);
  window.addEventListener("hashchange", route);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved); else $("token").focus();
});
