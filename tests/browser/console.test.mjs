// The console (/ui/) in Debian's headless Chromium, driven by playwright-core against the real
// broker over TLS: an auditor reads tickets, leases and revocations and is refused an action;
// an admin marks a break-glass review done and finds it in the audit view; HTML in ticket
// fields, claims and comments renders as text. Screenshots of each view go to docs/console/.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { TestBroker } from "./broker.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = process.env.JITB_CONSOLE_SHOTS || path.join(here, "..", "..", "docs", "console");
const BIN = process.env.JITBROKER_BIN || path.join(here, "..", "..", "build", "jitbroker");
const CHROMIUM = process.env.JITB_CHROMIUM || "/usr/bin/chromium";

// Markup that would run or add elements if it were ever parsed as HTML.
const XSS_TICKET = "<img src=x onerror=alert('ticket')>";
const XSS_CLAIM = "<script>alert('claim')</script>";
const XSS_COMMENT = "<b id=injected>checked</b><img src=x onerror=alert('comment')>";
const HTML_SUBJECT = "repo:acme/api:<svg onload=alert('sub')>";

let broker, context, userDataDir;
const dialogs = [];
const pageErrors = [];

before(async () => {
  broker = await new TestBroker(BIN).start();
  fs.mkdirSync(SHOTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "jitb-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    // The broker's CA is its own; node's requests above verify it, the browser is told to accept it.
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 860 },
  });
  // Nothing but the broker: any other request fails the test.
  await context.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.origin !== broker.url) {
      pageErrors.push("request outside the broker: " + u.href);
      return route.abort();
    }
    return route.continue();
  });
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  if (broker) broker.stop();
});

async function signedIn(token) {
  const page = await context.newPage();
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // The 4xx answers the tests provoke (an auditor's refused action) are logged by Chromium as
  // errors; anything else logged as an error fails the test.
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) pageErrors.push(m.text());
  });
  await page.goto(broker.url + "/ui/");
  await page.getByLabel("Operator token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#whoami").filter({ hasText: "Signed in as" }).waitFor();
  return page;
}

// No markup from the data became elements, and nothing ran.
async function assertNoInjection(page) {
  const injected = await page.evaluate(() => ({
    img: document.querySelectorAll("img").length,
    svg: document.querySelectorAll("svg").length,
    b: document.querySelectorAll("b, #injected").length,
    scripts: [...document.scripts].map((s) => s.src),
  }));
  assert.deepEqual(injected, { img: 0, svg: 0, b: 0, scripts: [broker.url + "/ui/console.js"] });
  assert.deepEqual(dialogs, []);
}

// Accessibility checks that can fail: every form control has a label, and text contrast (WCAG
// relative luminance against the first opaque background up the tree) is at least 4.5:1.
async function assertAccessible(page) {
  const report = await page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll("input, select, textarea")]
      .filter((e) => e.labels.length === 0 && !e.getAttribute("aria-label")).map((e) => e.id || e.name);
    const rgb = (c) => c.match(/[\d.]+/g).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (e) => {
      for (; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const low = [];
    for (const e of document.querySelectorAll("h1, h2, h3, th, td, dt, dd, label, button, nav a, p, li, summary")) {
      if (!e.offsetParent || !e.textContent.trim()) continue;
      const a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) low.push(e.tagName + "." + e.className + " " + ratio.toFixed(2));
    }
    return { unlabelled, low };
  });
  assert.deepEqual(report, { unlabelled: [], low: [] });
}

test("the console is sent under a strict CSP and uses nothing but the broker", async () => {
  const r = await broker.call("GET", "/ui/");
  assert.equal(r.status, 200);
  const page = await context.newPage();
  const resp = await page.goto(broker.url + "/ui/");
  const csp = resp.headers()["content-security-policy"];
  assert.match(csp, /default-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  await page.close();
});

test("an auditor sees a ticket with its history, decisions and leases", async () => {
  await broker.sendTicket("CHG-100", { requested_by: XSS_TICKET, approved_by: ["<b>bob</b>"],
                                       subjects: ["repo:acme/api:environment:prod", HTML_SUBJECT] });
  const a = await broker.exchange("CHG-100", { workflow: XSS_CLAIM });
  const b = await broker.exchange("CHG-100", { sub: HTML_SUBJECT });
  // A denial whose reason quotes a claim full of markup.
  const denied = await broker.call("POST", "/v1/token", {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt", ticket: "CHG-100",
      subject_token: broker.callerToken({ repository: "evil/" + XSS_CLAIM }) }).toString() });
  assert.equal(denied.status, 400, JSON.stringify(denied.data));
  const page = await signedIn(await broker.operatorToken("auditor", "carol"));
  await page.getByRole("link", { name: "Tickets" }).click();
  await page.locator("#view-tickets").getByLabel("Ticket id").fill("CHG-100");
  await page.keyboard.press("Enter");  // keyboard only: the form submits from its field
  const leases = page.locator("#ticket-leases tbody tr");
  await leases.first().waitFor();
  const ids = await leases.evaluateAll((rows) => rows.map((r) => r.dataset.leaseId));
  assert.deepEqual(ids.sort(), [a.lease_id, b.lease_id].sort());
  await page.locator("#ticket-decisions tbody tr").first().waitFor();
  assert.match(await page.locator("#ticket-decisions").innerText(), /allowed/);
  const decisions = await page.locator("#ticket-decisions").textContent();
  assert.match(decisions, /denied/);
  assert.ok(decisions.includes("evil/" + XSS_CLAIM), "the denial's reason, as text");
  assert.match(await page.locator("#ticket-history").innerText(), /ticket\.received/);
  // The HTML is there, as text.
  assert.equal(await page.getByText(XSS_TICKET, { exact: true }).count(), 1);
  assert.match(await page.locator("#ticket-leases").innerText(), /<svg onload=alert\('sub'\)>/);
  await assertNoInjection(page);
  await assertAccessible(page);
  await page.screenshot({ path: path.join(SHOTS, "tickets.png"), fullPage: true });
  await page.close();
});

test("a lease leaves the live list within 2 s of its ticket closing", async () => {
  await broker.sendTicket("CHG-LIVE");
  const issued = await broker.exchange("CHG-LIVE");
  const page = await signedIn(await broker.operatorToken("auditor", "carol"));
  await page.getByRole("link", { name: "Live leases" }).click();
  await page.locator("#view-leases").getByLabel("Ticket", { exact: true }).fill("CHG-LIVE");
  await page.getByRole("button", { name: "Apply" }).click();
  const row = page.locator(`#lease-table tr[data-lease-id="${issued.lease_id}"]`);
  await row.waitFor();
  await page.screenshot({ path: path.join(SHOTS, "leases.png"), fullPage: true });
  const t0 = Date.now();
  await broker.sendTicket("CHG-LIVE", { state: "closed" });
  await row.waitFor({ state: "detached", timeout: 2000 });
  const gone = Date.now() - t0;
  assert.ok(gone <= 2000, "gone after " + gone + " ms");
  console.log(`# lease left the live list ${gone} ms after the close was sent`);

  await page.getByRole("link", { name: "Revocations" }).click();
  const rev = page.locator('#revocation-table tbody tr[data-ticket="CHG-LIVE"]');
  await rev.first().waitFor();
  const cellsText = await rev.first().locator("td").allInnerTexts();
  assert.equal(cellsText[2], "ticket_closed");
  assert.match(cellsText[5], /^\d+ ms$/);
  await page.screenshot({ path: path.join(SHOTS, "revocations.png"), fullPage: true });
  await page.close();
});

test("an auditor is refused the review action, an admin does it and sees it audited", async () => {
  await broker.sendTicket("INC-7", { kind: "emergency", approved_by: [], access: ["breakglass"] });
  const bg = await broker.exchange("INC-7");
  const auditor = await signedIn(await broker.operatorToken("auditor", "carol"));
  await auditor.getByRole("link", { name: "Break-glass reviews" }).click();
  const card = auditor.locator(`#review-list li[data-lease-id="${bg.lease_id}"]`);
  await card.getByLabel("Review comment").fill("looks fine");
  await card.getByRole("button", { name: "Mark reviewed" }).click();
  await card.getByRole("alert").filter({ hasText: "403 access_denied" }).waitFor();
  await auditor.screenshot({ path: path.join(SHOTS, "reviews-auditor-refused.png"), fullPage: true });
  await auditor.close();
  const open = await broker.adminJson("GET", "/v1/reviews");
  assert.ok(open.data.reviews.some((r) => r.id === bg.lease_id), "the refusal changed nothing");

  const admin = await signedIn(await broker.operatorToken("admin", "heidi"));
  await admin.getByRole("link", { name: "Break-glass reviews" }).click();
  const mine = admin.locator(`#review-list li[data-lease-id="${bg.lease_id}"]`);
  await admin.screenshot({ path: path.join(SHOTS, "reviews.png"), fullPage: true });
  await mine.getByLabel("Review comment").fill(XSS_COMMENT);
  await mine.getByRole("button", { name: "Mark reviewed" }).click();
  await mine.waitFor({ state: "detached" });
  const done = admin.locator(`#reviews-done tr[data-lease-id="${bg.lease_id}"]`);
  await done.waitFor();
  assert.equal(await done.locator("td").nth(4).innerText(), XSS_COMMENT);
  assert.equal(await done.locator("td").nth(3).innerText(), "heidi");
  await assertNoInjection(admin);
  await admin.screenshot({ path: path.join(SHOTS, "reviews-done.png"), fullPage: true });

  await admin.getByRole("link", { name: "Audit" }).click();
  await admin.locator("#audit-intact").filter({ hasText: "intact" }).waitFor();
  await admin.getByLabel("Events").fill("review.,operator.");
  await admin.getByRole("button", { name: "Show" }).click();
  const rec = admin.locator('#audit-table tr[data-event="review.done"]');
  await rec.waitFor();
  assert.match(await rec.innerText(), /heidi/);
  assert.ok((await rec.innerText()).includes(XSS_COMMENT));
  assert.ok(await admin.locator('#audit-table tr[data-event="operator.refused"]').count() >= 1);
  const verified = Number(await admin.locator("#audit-verified").innerText());
  assert.ok(verified > 0);
  await admin.getByRole("button", { name: "Export the log" }).click();
  await admin.locator("#audit-download").filter({ hasText: "bytes" }).waitFor();
  await assertNoInjection(admin);
  await assertAccessible(admin);
  await admin.screenshot({ path: path.join(SHOTS, "audit.png"), fullPage: true });
  await admin.close();
});

test("policy explain shows each rule's outcome for a ticket and claims", async () => {
  await broker.sendTicket("CHG-EXPL");
  const page = await signedIn(await broker.operatorToken("auditor", "carol"));
  // By keyboard: the view's link takes focus and Enter follows it.
  await page.getByRole("link", { name: "Policy explain" }).focus();
  await page.keyboard.press("Enter");
  await page.locator("#view-explain").waitFor();
  assert.equal(await page.getByRole("link", { name: "Policy explain" }).getAttribute("aria-current"), "page");
  await page.locator("#view-explain").getByLabel("Ticket id").fill("CHG-EXPL");
  await page.getByLabel("Caller's claims").fill(JSON.stringify({
    iss: "https://token.actions.githubusercontent.com", sub: "repo:acme/api:environment:prod",
    repository: "evil/" + XSS_CLAIM }));
  await page.getByRole("button", { name: "Explain" }).click();
  await page.locator("#explain-outcome").waitFor();
  assert.ok((await page.locator("#explain-rules").textContent()).includes(XSS_CLAIM));
  assert.match(await page.locator("#explain-outcome").innerText(), /^Denied: subject\.claims/);
  assert.ok(await page.locator("#explain-rules tbody tr.fail").count() >= 1);
  await assertNoInjection(page);
  await assertAccessible(page);
  await page.screenshot({ path: path.join(SHOTS, "explain.png"), fullPage: true });
  await page.close();
  assert.deepEqual(pageErrors, []);
});
