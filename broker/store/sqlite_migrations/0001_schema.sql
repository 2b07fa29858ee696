-- The first released schema. Created with IF NOT EXISTS and applied on every open, so databases
-- made before the schema was kept in numbered files (which counted only later changes in
-- PRAGMA user_version) open unchanged.
CREATE TABLE IF NOT EXISTS tickets (
  id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL,
  window_end INTEGER NOT NULL, json TEXT NOT NULL, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS leases (
  id TEXT PRIMARY KEY, kind INTEGER NOT NULL, ticket TEXT NOT NULL, grant_name TEXT NOT NULL,
  subject TEXT NOT NULL, state INTEGER NOT NULL, issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, ended_at INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',
  jti TEXT, serial TEXT, claims TEXT NOT NULL DEFAULT '', review INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS leases_active_ticket ON leases(ticket) WHERE state = 0;
CREATE INDEX IF NOT EXISTS leases_active_expiry ON leases(expires_at) WHERE state = 0;
CREATE INDEX IF NOT EXISTS leases_revoked_certs ON leases(expires_at) WHERE state = 2 AND kind = 1;
CREATE INDEX IF NOT EXISTS leases_ticket ON leases(ticket, id);
CREATE INDEX IF NOT EXISTS leases_subject ON leases(subject, id);
CREATE INDEX IF NOT EXISTS leases_review ON leases(id) WHERE review = 1;
CREATE UNIQUE INDEX IF NOT EXISTS leases_jti ON leases(jti) WHERE jti IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS leases_serial ON leases(serial) WHERE serial IS NOT NULL;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, lease_id TEXT NOT NULL, payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(next_at) WHERE state != 1;
CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_at ON deliveries(at);
