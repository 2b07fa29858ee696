-- Several replicas on one database (docs/replicas.md).
-- The audit log in the store: one hash chain per replica (audit_records.record is the whole
-- line as the file log writes it, the replica id in it), appended in the transaction of the
-- change it describes. audit_chains holds each chain's head: taken FOR UPDATE by every append,
-- so a replica's transactions join its chain one at a time and a rolled-back one leaves no
-- gap; and compared by verify with the chain's last record, so a record removed from the end
-- shows.
CREATE TABLE audit_records (
  replica_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  record TEXT NOT NULL,
  time BIGINT NOT NULL,
  PRIMARY KEY (replica_id, seq)
);
CREATE TABLE audit_chains (
  replica_id TEXT PRIMARY KEY,
  last_seq BIGINT NOT NULL,
  last_hash TEXT NOT NULL
);
-- Which replica does the work one replica should do (the CRL's regeneration): one row, taken
-- or renewed by a conditional UPDATE on its term and expiry (not a session advisory lock,
-- which a pooler breaks and a lost connection drops silently).
CREATE TABLE leader (
  id SMALLINT PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL,
  term BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
INSERT INTO leader (id, holder, term, expires_at) VALUES (1, '', 0, 0);
-- The CRL every replica serves, by issuer (hex SHA-256 of the CA certificate), built by one.
CREATE TABLE crls (
  issuer TEXT PRIMARY KEY,
  number BIGINT NOT NULL,
  this_update BIGINT NOT NULL,
  der_base64 TEXT NOT NULL
);
