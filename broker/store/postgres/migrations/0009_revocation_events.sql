-- Revocation fan-out between replicas: every statement that ends leases appends one event per
-- lease it ended, in its own transaction, and wakes the other replicas with one NOTIFY (sent at
-- commit, so never for a rolled-back end). Replicas poll the table by seq (the NOTIFY is a hint
-- only) and re-read a few seconds back, since sequence values are taken before their
-- transactions commit, possibly out of order. Rows are pruned after a few minutes.
-- created_at is the insert's wall time (ms): sequences say nothing about time, and pruning
-- needs one.
CREATE TABLE revocation_events (
  seq BIGSERIAL PRIMARY KEY,
  lease_id TEXT COLLATE "C" NOT NULL,
  kind SMALLINT NOT NULL,
  state SMALLINT NOT NULL,
  jti TEXT COLLATE "C" NOT NULL DEFAULT '',
  serial TEXT COLLATE "C" NOT NULL DEFAULT '',
  ticket TEXT COLLATE "C" NOT NULL DEFAULT '',
  subject TEXT COLLATE "C" NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  expires_at BIGINT NOT NULL,
  ended_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL);

-- Once per statement, set-based over the transition tables (as lease_counts_end): revoking
-- 100,000 leases is one INSERT ... SELECT and one NOTIFY, not 100,000 of each. Only rows that
-- went from active to ended count, so an UPDATE that changes nothing else (claims, review) or
-- an end of a lease already ended appends nothing.
CREATE FUNCTION revocation_events_append() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_nestloop = off AS $$
DECLARE
  n BIGINT;
BEGIN
  INSERT INTO revocation_events
      (lease_id, kind, state, jti, serial, ticket, subject, reason, expires_at, ended_at,
       created_at)
    SELECT nw.id, nw.kind, nw.state, coalesce(nw.jti, ''), coalesce(nw.serial, ''), nw.ticket,
           nw.subject, nw.reason, nw.expires_at, nw.ended_at,
           (extract(epoch FROM clock_timestamp()) * 1000)::bigint
    FROM old_rows o JOIN new_rows nw ON nw.id = o.id
    WHERE o.state = 0 AND nw.state <> 0;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    PERFORM pg_notify('jitb_revocations', '');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER revocation_events_append AFTER UPDATE ON leases
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION revocation_events_append();
