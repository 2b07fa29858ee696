"""Stand-ins for ServiceNow and Jira Service Management that speak their real wire formats
(wire-formats.md §1-§2): paths, encoded queries, {"result": [...]}, string-typed values, error
bodies, Link paging, Basic auth, and Jira's paged approvals. Each runs over TLS on a loopback
port; stop() makes it unreachable and start() brings it back on the same port."""
import base64
import http.server
import json
import re
import threading
import time
from urllib.parse import parse_qs, unquote, urlsplit

from brokerproc import https_standin


def _reply(h, status, body, headers=()):
    data = json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json;charset=UTF-8")
    h.send_header("Content-Length", str(len(data)))
    for k, v in headers:
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(data)


def sn_time(t):
    """ServiceNow's raw date/time: UTC, no zone marker."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def sys_id(n):
    return ("%032x" % n)[-32:]


class _Served:
    """One stand-in: GET requests go to self._get(handler)."""

    def __init__(self, directory):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer._get(self)

            def log_message(self, *args):
                pass

        self.handler, self.directory, self.port, self.server = Handler, directory, 0, None
        self.start()

    def start(self):
        self.server, self.port, self.cert = https_standin(self.handler, self.directory, self.port)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port


class ServiceNow(_Served):
    USER, PASSWORD = "svc-jitbroker", "sn-password-1"

    def __init__(self, directory):
        self.lock = threading.Lock()
        self.tables = {"change_request": [], "sc_req_item": [], "sysapproval_approver": [],
                       "sys_user": []}
        self.calls = []       # (table, query) of every Table API request
        self.users = {}
        for name in ("alice", "bob", "carol"):
            self.user(name)
        super().__init__(directory)

    def user(self, name):
        if name not in self.users:
            sid = sys_id(0xA0000 + len(self.users))
            self.users[name] = sid
            self.tables["sys_user"].append({"sys_id": sid, "user_name": name,
                                            "email": name + "@example.com"})
        return self.users[name]

    def change(self, number, approval="approved", state="-1", requester="alice",
               subjects="repo:acme/api:environment:prod", access="deploy", start=-3600, end=3600,
               kind="normal", approvers=("bob",)):
        """Adds or replaces a change_request and its approval rows; times relative to now."""
        now = time.time()
        with self.lock:
            rows = self.tables["change_request"]
            old = next((r for r in rows if r["number"] == number), None)
            sid = old["sys_id"] if old else sys_id(0xC0000 + len(rows) + 1)
            rec = {"sys_id": sid, "number": number, "state": state, "approval": approval,
                   "type": kind, "on_hold": "false", "start_date": sn_time(now + start),
                   "end_date": sn_time(now + end), "requested_by": self.user(requester),
                   "assigned_to": self.user("carol"), "assignment_group": "", "cmdb_ci": "",
                   "close_code": "", "u_jit_subjects": subjects, "u_jit_access": access,
                   "sys_updated_on": sn_time(now if not old else max(now, _parse(old["sys_updated_on"]) + 1))}
            if old:
                rows.remove(old)
            rows.append(rec)
            self.tables["sysapproval_approver"] = [a for a in self.tables["sysapproval_approver"]
                                                   if a["sysapproval"] != sid]
            for who in approvers:
                self.tables["sysapproval_approver"].append({
                    "sys_id": sys_id(0xB0000 + len(self.tables["sysapproval_approver"])),
                    "sysapproval": sid, "approver": self.user(who),
                    "state": "approved" if approval == "approved" else "requested",
                    "source_table": "change_request", "sys_updated_on": rec["sys_updated_on"]})
            return rec

    def set_state(self, number, **fields):
        with self.lock:
            rec = next(r for r in self.tables["change_request"] if r["number"] == number)
            rec.update(fields)
            rec["sys_updated_on"] = sn_time(max(time.time(), _parse(rec["sys_updated_on"]) + 1))
            return rec

    def delete(self, number):
        with self.lock:
            self.tables["change_request"] = [r for r in self.tables["change_request"]
                                             if r["number"] != number]

    def queries(self, table):
        with self.lock:
            return [q for t, q in self.calls if t == table]

    # -- the Table API -------------------------------------------------------------------------
    def _get(self, h):
        send = lambda status, body, headers=(): _reply(h, status, body, headers)

        expected = "Basic " + base64.b64encode(("%s:%s" % (self.USER, self.PASSWORD)).encode()).decode()
        if h.headers.get("Authorization") != expected:
            return send(401, {"error": {"message": "User Not Authenticated",
                                        "detail": "Required to provide Auth information"},
                              "status": "failure"})
        u = urlsplit(h.path)
        m = re.fullmatch(r"/api/now/table/([a-z_]+)", u.path)
        if not m or m.group(1) not in self.tables:
            return send(404, {"error": {"message": "Invalid table", "detail": ""}, "status": "failure"})
        table = m.group(1)
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        offset, limit = int(q.get("sysparm_offset", "0")), int(q.get("sysparm_limit", "10000"))
        if offset < 0:
            return send(400, {"error": {"message": "Invalid offset", "detail": ""}, "status": "failure"})
        with self.lock:
            self.calls.append((table, q.get("sysparm_query", "")))
            rows = [r for r in self.tables[table] if _matches(r, q.get("sysparm_query", ""))]
        page = rows[offset:offset + limit]
        raw = q.get("sysparm_display_value", "false") == "false"
        fields = [f for f in q.get("sysparm_fields", "").split(",") if f]
        out = []
        for r in page:
            rec = {k: v for k, v in r.items() if not fields or k in fields}
            if not raw:  # display values: the user's format and timezone, never to be parsed
                rec = {k: (_display(v) if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", v) else v)
                       for k, v in rec.items()}
            if q.get("sysparm_exclude_reference_link") != "true":
                for k in ("requested_by", "assigned_to", "approver", "sysapproval"):
                    if k in rec and rec[k]:
                        rec[k] = {"link": "%s/api/now/table/sys_user/%s" % (self.url, rec[k]),
                                  "value": rec[k]}
            out.append(rec)
        headers = [("X-Total-Count", str(len(rows)))]
        links = []
        base = "%s%s?%s" % (self.url, u.path, "&".join(
            "%s=%s" % (k, v) for k, v in sorted(parse_qs(u.query, keep_blank_values=True).items())
            if k != "sysparm_offset" for v in v))
        if offset + limit < len(rows):
            links.append('<%s&sysparm_offset=%d>;rel="next"' % (base, offset + limit))
        links.append('<%s&sysparm_offset=0>;rel="first"' % base)
        if links:
            headers.append(("Link", ",".join(links)))
        send(200, {"result": out}, headers)


def _parse(s):
    import calendar
    return calendar.timegm(time.strptime(s, "%Y-%m-%d %H:%M:%S"))


def _display(v):
    return time.strftime("%d/%m/%Y %I:%M:%S %p", time.gmtime(_parse(v)))


def _matches(row, query):
    """ServiceNow's encoded query, the parts the broker uses: ^-joined field=value and
    fieldINa,b. As on a real instance, a condition on an unknown field is silently dropped."""
    for cond in filter(None, unquote(query).split("^")):
        m = re.fullmatch(r"([a-z_]+)(IN|=)(.*)", cond)
        if not m or m.group(1) not in row:
            continue
        field, op, value = m.groups()
        if op == "IN" and row[field] not in value.split(","):
            return False
        if op == "=" and row[field] != value:
            return False
    return True


class Jira(_Served):
    USER, TOKEN = "jitbroker@example.com", "jira-api-token-1"
    FIELDS = {"subjects": "customfield_10050", "access": "customfield_10051",
              "window_start": "customfield_10052", "window_end": "customfield_10053"}

    def __init__(self, directory):
        self.lock = threading.Lock()
        self.issues, self.approvals, self.calls = {}, {}, []
        super().__init__(directory)

    def issue(self, key, status=("3", "In Progress", "indeterminate"), decision="approved",
              subjects=("repo:acme/api:environment:prod",), access="deploy", start=-3600, end=3600):
        now = time.time()
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(t))
        with self.lock:
            old = self.issues.get(key)
            updated = now if not old else max(now, old["_updated"] + 1)
            self.issues[key] = {
                "_updated": updated, "id": str(15000 + len(self.issues)), "key": key,
                "self": "%s/rest/api/2/issue/%s" % (self.url, key),
                "fields": {"status": {"id": status[0], "name": status[1],
                                      "statusCategory": {"key": status[2]}},
                           "issuetype": {"id": "10100", "name": "Change"},
                           "reporter": {"accountId": "557058:alice", "displayName": "Alice"},
                           "updated": iso(updated),
                           self.FIELDS["subjects"]: [{"value": s} for s in subjects],
                           self.FIELDS["access"]: access,
                           self.FIELDS["window_start"]: iso(now + start),
                           self.FIELDS["window_end"]: iso(now + end)}}
            self.approvals[key] = [{
                "id": "1", "name": "Change manager", "finalDecision": decision,
                "canAnswerApproval": False,
                "approvers": [{"approver": {"accountId": "557058:bob", "displayName": "Bob"},
                               "approverDecision": decision}],
                "createdDate": {"epochMillis": int(now * 1000) - 60000}}]
            return self.issues[key]

    def _get(self, h):
        send = lambda status, body: _reply(h, status, body)

        expected = "Basic " + base64.b64encode(("%s:%s" % (self.USER, self.TOKEN)).encode()).decode()
        if h.headers.get("Authorization") != expected:
            return send(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
        u = urlsplit(h.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        with self.lock:
            self.calls.append(u.path)
            m = re.fullmatch(r"/rest/api/2/issue/([A-Z]+-\d+)", u.path)
            if m:
                i = self.issues.get(m.group(1))
                if not i:
                    return send(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})
                fields = q.get("fields", "").split(",")
                return send(200, {k: v for k, v in i.items() if not k.startswith("_")} |
                            {"fields": {k: v for k, v in i["fields"].items() if k in fields}})
            m = re.fullmatch(r"/rest/servicedeskapi/request/([A-Z]+-\d+)/approval", u.path)
            if m:
                if m.group(1) not in self.approvals:
                    return send(404, {"errorMessage": "Request does not exist", "i18nErrorMessage": {}})
                values, start, limit = self.approvals[m.group(1)], int(q.get("start", 0)), int(q.get("limit", 50))
                page = values[start:start + limit]
                return send(200, {"size": len(page), "start": start, "limit": limit,
                                  "isLastPage": start + limit >= len(values), "values": page})
        send(404, {"errorMessages": ["Not found"], "errors": {}})

    def delivery(self, key, event="jira:issue_updated"):
        """A webhook body as Jira Cloud sends it."""
        i = self.issues[key]
        return json.dumps({"timestamp": int(time.time() * 1000), "webhookEvent": event,
                           "issue_event_type_name": "issue_generic",
                           "user": {"accountId": "557058:carol", "displayName": "Carol"},
                           "issue": {"id": i["id"], "key": key, "self": i["self"],
                                     "fields": {"status": i["fields"]["status"]}},
                           "changelog": {"id": "10100", "items": [{
                               "field": "status", "fieldtype": "jira", "fieldId": "status",
                               "from": "3", "fromString": "In Progress",
                               "to": i["fields"]["status"]["id"],
                               "toString": i["fields"]["status"]["name"]}]}}).encode()
