// The real broker for the browser tests: `jitbroker serve` over TLS on 127.0.0.1 with a test
// issuer (an ES256 key of our own, trusted through a JWKS file), signed ticket events and
// token exchanges, as tests/integration/exchange_env.py does in Python.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";

export const ISSUER = "https://token.actions.githubusercontent.com";

const POLICY = `
grants:
  - name: deploy
    subjects:
      issuer: "${ISSUER}"
      claims: { repository: "acme/*" }
    tickets: { kinds: [normal], min_approvals: 1 }
    token: { audience: "deploy-api", scopes: ["deploy:read"], max_ttl: "15m" }
  - name: breakglass
    subjects: { issuer: "${ISSUER}" }
    break_glass: true
    tickets: { kinds: [emergency], min_approvals: 0 }
    token: { audience: "admin-api", scopes: ["admin"], max_ttl: "1h" }
`;

const b64u = (buf) => Buffer.from(buf).toString("base64url");

export class TestBroker {
  constructor(bin) {
    this.bin = bin;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "jitb-browser-"));
    this.dataDir = path.join(this.tmp, "var");
    this.version = 0;
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.key = privateKey;
    const jwk = { ...publicKey.export({ format: "jwk" }), kid: "ec1", alg: "ES256", use: "sig" };
    fs.writeFileSync(path.join(this.tmp, "jwks.json"), JSON.stringify({ keys: [jwk] }));
    fs.mkdirSync(path.join(this.tmp, "policies"));
    fs.writeFileSync(path.join(this.tmp, "policies", "test.yaml"), POLICY);
    fs.writeFileSync(path.join(this.tmp, "broker.yaml"),
      `listen: "127.0.0.1:0"\ndata_dir: "${this.dataDir}"\npolicies_dir: "${this.tmp}/policies"\n` +
      `trust:\n  - issuer: "${ISSUER}"\n    jwks_file: "${this.tmp}/jwks.json"\n    audience: "jitbroker"\n`);
  }

  start() {
    this.proc = spawn(this.bin, ["serve", "--config", path.join(this.tmp, "broker.yaml")],
                      { cwd: this.tmp, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    this.proc.stderr.on("data", (d) => { err += d; });
    return new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("the broker did not start: " + err)), 20000);
      this.proc.stdout.on("data", (d) => {
        out += d;
        const m = out.match(/listening on https:\/\/[^\s]+:(\d+)\n/);
        if (!m || this.port) return;
        clearTimeout(timer);
        this.port = Number(m[1]);
        this.url = "https://127.0.0.1:" + this.port;
        this.ca = fs.readFileSync(path.join(this.dataDir, "tls", "ca.pem"));
        this.admin = fs.readFileSync(path.join(this.dataDir, "admin.token"), "utf8").trim();
        this.secret = fs.readFileSync(path.join(this.dataDir, "webhook.secret"), "utf8").trim();
        resolve(this);
      });
      this.proc.on("exit", (code) => reject(new Error("the broker exited " + code + ": " + err)));
    });
  }

  stop() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill("SIGTERM");
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  // One HTTPS request verified against the broker's own CA: {status, data}.
  call(method, p, { body, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
      const req = https.request(this.url + p, { method, ca: this.ca, headers }, (res) => {
        let text = "";
        res.on("data", (d) => { text += d; });
        res.on("end", () => {
          let data = text;
          try { data = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode, data });
        });
      });
      req.on("error", reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  adminJson(method, p, obj, token = this.admin) {
    const headers = { Authorization: "Bearer " + token };
    if (obj !== undefined) headers["Content-Type"] = "application/json";
    return this.call(method, p, { headers, body: obj === undefined ? undefined : JSON.stringify(obj) });
  }

  async operatorToken(role, name) {
    const r = await this.adminJson("POST", "/v1/operator-tokens", { role, name, ttl: "1h" });
    if (r.status !== 201) throw new Error("operator token: " + JSON.stringify(r));
    return r.data.token;
  }

  // A signed ticket event (docs/tickets.md), open from an hour ago to an hour ahead.
  async sendTicket(id, fields = {}) {
    this.version += 1;
    const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
    const now = Date.now();
    const ticket = { id, state: "approved", kind: "normal", requested_by: "alice@example.com",
                     approved_by: ["bob@example.com"], subjects: ["repo:acme/api:environment:prod"],
                     access: ["deploy"], window: { start: iso(now - 3600e3), end: iso(now + 3600e3) },
                     updated_at: iso(now - 600e3 + this.version * 1000), ...fields };
    const body = JSON.stringify({ ticket });
    const t = Math.floor(Date.now() / 1000);
    const mac = crypto.createHmac("sha256", this.secret).update(t + "." + body).digest("hex");
    const r = await this.call("POST", "/v1/tickets/events", {
      body, headers: { "Content-Type": "application/json", "X-Jitbroker-Signature": `t=${t},v1=${mac}` } });
    if (r.status !== 200 && r.status !== 202) throw new Error("ticket: " + JSON.stringify(r));
    return r.data;
  }

  // A caller's JWT from the test issuer.
  callerToken(claims = {}) {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: ISSUER, aud: "jitbroker", sub: "repo:acme/api:environment:prod",
                      iat: now, nbf: now - 5, exp: now + 600, jti: crypto.randomBytes(8).toString("hex"),
                      repository: "acme/api", repository_owner: "acme", ...claims };
    const head = b64u(JSON.stringify({ alg: "ES256", kid: "ec1", typ: "JWT" }));
    const body = b64u(JSON.stringify(payload));
    const sig = crypto.sign("sha256", Buffer.from(head + "." + body),
                            { key: this.key, dsaEncoding: "ieee-p1363" });
    return head + "." + body + "." + b64u(sig);
  }

  async exchange(ticket, claims = {}) {
    const form = new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      subject_token: this.callerToken(claims), ticket });
    const r = await this.call("POST", "/v1/token", {
      body: form.toString(), headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    if (r.status !== 200) throw new Error("exchange: " + JSON.stringify(r));
    return r.data;
  }
}
