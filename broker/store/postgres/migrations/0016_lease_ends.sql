-- A lease's end is a row of its own, in a narrow table that is only inserted into, instead of
-- an update of the lease's row. Every end rewrote the whole row (claims, caller claims and all)
-- to change three columns, and found it again by id: revoking one ticket's 100,000 leases spent
-- about 300 ms of its 650-850 ms statement there. lease_active now also carries what an end
-- returns (kind, jti, serial), so an end reads and writes nothing of `leases`: it deletes the
-- active rows, inserts their ends and returns the deleted rows (pg::PG_END_LEASES). In psql on
-- a durable 2-core server, the statement for 100,000 leases went from 780-860 ms to 420-480 ms.
--
-- leases keeps what a lease was issued as; its state, ended_at and reason are those of a lease
-- stored already ended, or of an end written before this migration. lease_rows gives a lease
-- as it is now, and every read of the store goes through it.
CREATE TABLE lease_ends (
  id TEXT COLLATE "C" PRIMARY KEY,
  state SMALLINT NOT NULL,
  ended_at BIGINT NOT NULL,
  reason TEXT NOT NULL);

CREATE VIEW lease_rows AS
  SELECT l.id, l.kind, l.ticket, l.grant_name, l.subject,
         coalesce(e.state, l.state) AS state, l.issued_at, l.expires_at,
         coalesce(e.ended_at, l.ended_at) AS ended_at, coalesce(e.reason, l.reason) AS reason,
         l.jti, l.serial, l.claims, l.review, l.caller_issuer, l.caller_claims
  FROM leases l LEFT JOIN lease_ends e ON e.id = l.id;

ALTER TABLE lease_active ADD COLUMN kind SMALLINT, ADD COLUMN jti TEXT COLLATE "C",
  ADD COLUMN serial TEXT COLLATE "C";
UPDATE lease_active a SET kind = l.kind, jti = l.jti, serial = l.serial
  FROM leases l WHERE l.id = a.id;
ALTER TABLE lease_active ALTER COLUMN kind SET NOT NULL;

-- Half of each page was kept free for the new versions that ends wrote (0002); no end writes
-- one now, so new pages are filled.
ALTER TABLE leases SET (fillfactor = 100);

-- The group insert (0014), now writing kind, jti and serial into lease_active. The generic plan
-- of 0015 is set here again: CREATE OR REPLACE takes the settings it names.
CREATE OR REPLACE FUNCTION insert_leases(
  p_id TEXT[], p_kind INT[], p_ticket TEXT[], p_grant TEXT[], p_subject TEXT[], p_state INT[],
  p_issued BIGINT[], p_expires BIGINT[], p_ended BIGINT[], p_reason TEXT[], p_jti TEXT[],
  p_serial TEXT[], p_claims TEXT[], p_review INT[], p_caller_issuer TEXT[],
  p_caller_claims TEXT[], per_subject BIGINT, per_ticket BIGINT)
RETURNS TABLE (refused TEXT, t_found BOOLEAN, t_state TEXT, t_window BIGINT, t_json TEXT)
LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  n_leases INT := coalesce(array_length(p_id, 1), 0);
  k INT;
  j INT;
  si INT;
  ti INT;
  tid TEXT[];
  tstate TEXT[];
  twin BIGINT[];
  tjson TEXT[];
  cscope TEXT[];
  ckey TEXT[];
  cn BIGINT[];
  cn0 BIGINT[];
  refusals TEXT[] := array_fill(NULL::TEXT, ARRAY[n_leases]);
BEGIN
  -- Every ticket of the group first, FOR SHARE, and read once: a putTicket changing one holds
  -- it FOR UPDATE until it commits, so this waits and reads its outcome; one that comes after
  -- waits for this group to commit, so the revocation that follows it sees the leases. All of
  -- them before any count row: a revocation holds its ticket, then locks the counts its ended
  -- leases lower, so taking a ticket while holding counts could deadlock with it.
  SELECT array_agg(t.id), array_agg(t.state), array_agg(t.window_end), array_agg(t.json)
    INTO tid, tstate, twin, tjson
    FROM (SELECT id, state, window_end, json FROM tickets WHERE id = ANY(p_ticket)
          ORDER BY id FOR SHARE) t;
  -- The count rows of the active leases' keys, created at 0 when new, then locked in (scope,
  -- key) order as ending leases lock them, so that two groups (or a group and an end) sharing
  -- keys queue instead of deadlocking. Locked, they are counted here and written once each at
  -- the end: raising a row once per lease would leave a chain of row versions in this
  -- transaction that each later update walks (quadratic in the group).
  INSERT INTO lease_counts (scope, key, n)
    SELECT u.scope, u.key, 0
    FROM (SELECT 'subject' AS scope, s AS key FROM unnest(p_subject, p_state) AS x(s, st)
            WHERE st = 0
          UNION
          SELECT 'ticket', t FROM unnest(p_ticket, p_state) AS x(t, st) WHERE st = 0) u
    ORDER BY u.scope, u.key
    ON CONFLICT (scope, key) DO NOTHING;
  SELECT array_agg(c.scope), array_agg(c.key), array_agg(c.n) INTO cscope, ckey, cn
    FROM (SELECT scope, key, n FROM lease_counts
          WHERE (scope = 'subject' AND key = ANY(p_subject))
             OR (scope = 'ticket' AND key = ANY(p_ticket))
          ORDER BY scope, key FOR UPDATE) c;
  cn0 := cn;
  -- In the group's order, as if one by one: a lease is admitted while both its counts are
  -- below their limits (a limit of 0 or less admits none), and a refusal takes no slot.
  FOR k IN 1 .. n_leases LOOP
    CONTINUE WHEN p_state[k] <> 0;
    si := NULL;
    ti := NULL;
    FOR j IN 1 .. coalesce(array_length(ckey, 1), 0) LOOP
      IF cscope[j] = 'subject' AND ckey[j] = p_subject[k] THEN si := j; END IF;
      IF cscope[j] = 'ticket' AND ckey[j] = p_ticket[k] THEN ti := j; END IF;
    END LOOP;
    IF si IS NULL OR ti IS NULL THEN
      RAISE EXCEPTION 'insert_leases: no count row for lease %', p_id[k];
    END IF;
    IF cn[si] >= per_subject THEN
      refusals[k] := 'subject';
    ELSIF cn[ti] >= per_ticket THEN
      refusals[k] := 'ticket';
    ELSE
      cn[si] := cn[si] + 1;
      cn[ti] := cn[ti] + 1;
    END IF;
  END LOOP;
  INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, expires_at,
                      ended_at, reason, jti, serial, claims, review, caller_issuer,
                      caller_claims)
    SELECT u.id, u.kind, u.ticket, u.grant_name, u.subject, u.state, u.issued, u.expires,
           u.ended, u.reason, nullif(u.jti, ''), nullif(u.serial, ''), u.claims, u.review,
           u.caller_issuer, u.caller_claims
    FROM unnest(p_id, p_kind, p_ticket, p_grant, p_subject, p_state, p_issued, p_expires,
                p_ended, p_reason, p_jti, p_serial, p_claims, p_review, p_caller_issuer,
                p_caller_claims, refusals)
      AS u(id, kind, ticket, grant_name, subject, state, issued, expires, ended, reason, jti,
           serial, claims, review, caller_issuer, caller_claims, refused)
    WHERE u.refused IS NULL;
  INSERT INTO lease_active (id, ticket, subject, expires_at, kind, jti, serial)
    SELECT u.id, u.ticket, u.subject, u.expires, u.kind, nullif(u.jti, ''), nullif(u.serial, '')
    FROM unnest(p_id, p_ticket, p_subject, p_expires, p_kind, p_jti, p_serial, p_state,
                refusals)
      AS u(id, ticket, subject, expires, kind, jti, serial, st, refused)
    WHERE u.st = 0 AND u.refused IS NULL;
  UPDATE lease_counts c SET n = u.n
    FROM unnest(cscope, ckey, cn, cn0) AS u(scope, key, n, n0)
    WHERE c.scope = u.scope AND c.key = u.key AND u.n <> u.n0;
  FOR k IN 1 .. n_leases LOOP
    refused := refusals[k];
    j := array_position(tid, p_ticket[k]);
    t_found := j IS NOT NULL;
    t_state := tstate[j];
    t_window := twin[j];
    t_json := tjson[j];
    RETURN NEXT;
  END LOOP;
END $$;
