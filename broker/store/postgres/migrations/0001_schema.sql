-- The first schema: the SQLite store's tables, with its two later columns folded in.
-- Text keys compare bytewise (COLLATE "C") so that ids page in the order SQLite gives them,
-- whatever the database's locale.
CREATE TABLE tickets (
  id TEXT COLLATE "C" PRIMARY KEY,
  state TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  json TEXT NOT NULL,
  received_at BIGINT NOT NULL);

CREATE TABLE leases (
  id TEXT COLLATE "C" PRIMARY KEY,
  kind SMALLINT NOT NULL,
  ticket TEXT COLLATE "C" NOT NULL,
  grant_name TEXT COLLATE "C" NOT NULL,
  subject TEXT COLLATE "C" NOT NULL,
  state SMALLINT NOT NULL,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  ended_at BIGINT NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  jti TEXT COLLATE "C",
  serial TEXT COLLATE "C",
  claims TEXT NOT NULL DEFAULT '',
  review SMALLINT NOT NULL DEFAULT 0,
  caller_issuer TEXT NOT NULL DEFAULT '',
  caller_claims TEXT NOT NULL DEFAULT '');
CREATE INDEX leases_active_ticket ON leases (ticket) WHERE state = 0;
CREATE INDEX leases_active_expiry ON leases (expires_at) WHERE state = 0;
CREATE INDEX leases_revoked_certs ON leases (expires_at) WHERE state = 2 AND kind = 1;
CREATE INDEX leases_ticket ON leases (ticket, id);
CREATE INDEX leases_subject ON leases (subject, id);
CREATE INDEX leases_review ON leases (id) WHERE review = 1;
CREATE UNIQUE INDEX leases_jti ON leases (jti) WHERE jti IS NOT NULL;
CREATE UNIQUE INDEX leases_serial ON leases (serial) WHERE serial IS NOT NULL;

CREATE TABLE counters (name TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL);

CREATE TABLE jobs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lease_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  state SMALLINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '');
CREATE INDEX jobs_due ON jobs (next_at) WHERE state <> 1;

CREATE TABLE deliveries (key TEXT COLLATE "C" PRIMARY KEY, at BIGINT NOT NULL);
CREATE INDEX deliveries_at ON deliveries (at);
