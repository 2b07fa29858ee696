-- A group of lease inserts and their audit records in one statement (PgStore::insertGroup).
-- With the chain in the store, a group took six round trips: BEGIN, insert_leases, lock the
-- chain's head, insert the records, move the head, COMMIT. A replica that knows its chain's head
-- (it moves it itself) computes the records' seq, prev and hash before it sends them, so the
-- group is one statement, its own transaction. What the replica assumed is checked here under
-- the head's row lock, taken last as every append takes it (after the tickets and the counts,
-- which a ticket close's end takes before it appends the event's record):
-- a head that another transaction moved, or a lease of the group refused by a quota (the
-- records were chained as if none were), raises 'JB001' and the statement leaves nothing. The
-- replica then runs the group the locked way, and learns the head.
CREATE FUNCTION insert_leases_audited(
  p_id TEXT[], p_kind INT[], p_ticket TEXT[], p_grant TEXT[], p_subject TEXT[], p_state INT[],
  p_issued BIGINT[], p_expires BIGINT[], p_ended BIGINT[], p_reason TEXT[], p_jti TEXT[],
  p_serial TEXT[], p_claims TEXT[], p_review INT[], p_caller_issuer TEXT[],
  p_caller_claims TEXT[], per_subject BIGINT, per_ticket BIGINT,
  p_replica TEXT, p_after_seq BIGINT, p_after_hash TEXT, p_seqs BIGINT[], p_prevs TEXT[],
  p_hashes TEXT[], p_records TEXT[], p_time BIGINT)
RETURNS TABLE (refused TEXT, t_found BOOLEAN, t_state TEXT, t_window BIGINT, t_json TEXT)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  o RECORD;
  head_seq BIGINT;
  head_hash TEXT;
  n INT := coalesce(array_length(p_seqs, 1), 0);
BEGIN
  FOR o IN SELECT * FROM insert_leases(p_id, p_kind, p_ticket, p_grant, p_subject, p_state,
      p_issued, p_expires, p_ended, p_reason, p_jti, p_serial, p_claims, p_review,
      p_caller_issuer, p_caller_claims, per_subject, per_ticket) LOOP
    IF o.refused IS NOT NULL THEN
      RAISE EXCEPTION 'a lease of the group was refused (%)', o.refused USING ERRCODE = 'JB001';
    END IF;
    refused := o.refused;
    t_found := o.t_found;
    t_state := o.t_state;
    t_window := o.t_window;
    t_json := o.t_json;
    RETURN NEXT;
  END LOOP;
  SELECT last_seq, last_hash INTO head_seq, head_hash
    FROM audit_chains WHERE replica_id = p_replica FOR UPDATE;
  IF NOT FOUND OR head_seq <> p_after_seq OR head_hash <> p_after_hash THEN
    RAISE EXCEPTION 'the audit chain of % moved', p_replica USING ERRCODE = 'JB001';
  END IF;
  IF n = 0 THEN
    RETURN;
  END IF;
  INSERT INTO audit_records (replica_id, seq, prev, hash, record, time)
    SELECT p_replica, s, p, h, r, p_time FROM unnest(p_seqs, p_prevs, p_hashes, p_records)
      AS u(s, p, h, r);
  UPDATE audit_chains SET last_seq = p_seqs[n], last_hash = p_hashes[n]
    WHERE replica_id = p_replica;
END $$;

-- Audit records and claims above about 2 KB were compressed with pglz, 8% of the database's
-- CPU per token; lz4 compresses as well at a fraction of it (and the id list of a revocation
-- event, 2.5 MB for 100,000 leases). Rows written before keep theirs. A server built without
-- lz4 keeps pglz, and so does one older than 14 (no SET COMPRESSION: a syntax error there).
DO $$
BEGIN
  -- EXECUTE: parsed when run, so that a server without the syntax reaches the handler.
  EXECUTE 'ALTER TABLE audit_records ALTER COLUMN record SET COMPRESSION lz4';
  EXECUTE 'ALTER TABLE revocation_events ALTER COLUMN lease_ids SET COMPRESSION lz4';
  EXECUTE 'ALTER TABLE leases ALTER COLUMN claims SET COMPRESSION lz4';
  EXECUTE 'ALTER TABLE leases ALTER COLUMN caller_claims SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
  NULL;
END $$;

-- insert_leases' UPDATE of the counts got a custom plan on every call (PostgreSQL keeps
-- choosing one when it estimates the unnest from the arrays' contents), about a tenth of the
-- call; its generic plan is the same index lookup.
ALTER FUNCTION insert_leases(TEXT[], INT[], TEXT[], TEXT[], TEXT[], INT[], BIGINT[], BIGINT[],
                             BIGINT[], TEXT[], TEXT[], TEXT[], TEXT[], INT[], TEXT[], TEXT[],
                             BIGINT, BIGINT)
  SET plan_cache_mode = force_generic_plan;
