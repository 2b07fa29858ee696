-- The statement triggers that follow an end, the quota counts (0011) and the revocation event
-- (0012), move from leases' UPDATE to lease_active's DELETE. Every end is one statement that
-- deletes the leases' lease_active rows and updates those leases (pg::PG_END_LEASES); on leases
-- the triggers made PostgreSQL keep every ended lease's whole row twice, old and new, as
-- transition tables, which the event trigger then joined by id. On lease_active each deleted
-- row is an active lease that ended, in a narrow row: revoking 100,000 leases of one ticket went
-- from 0.73-0.94 s to 0.55-0.79 s for the statement on a durable 2-core server. The counts need
-- the subject there, so lease_active keeps it and the inserts write it.
ALTER TABLE lease_active ADD COLUMN subject TEXT COLLATE "C";
UPDATE lease_active a SET subject = l.subject FROM leases l WHERE l.id = a.id;
ALTER TABLE lease_active ALTER COLUMN subject SET NOT NULL;

DROP TRIGGER lease_counts_end ON leases;
DROP TRIGGER lease_counts_delete ON leases;
DROP TRIGGER revocation_events_append ON leases;
DROP FUNCTION lease_counts_end();
DROP FUNCTION revocation_events_append();

-- Per statement: each key's count falls by its ended leases, the rows locked in (scope, key)
-- order as the inserts take them (0005 says why); then one event names every ended lease and
-- one NOTIFY wakes the other replicas (sent at commit, so never for a rolled-back end).
CREATE FUNCTION lease_active_ended() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
  scopes TEXT[];
  keys TEXT[];
  ended BIGINT[];
  ids TEXT[];
BEGIN
  SELECT array_agg(e.scope ORDER BY e.scope, e.key), array_agg(e.key ORDER BY e.scope, e.key),
         array_agg(e.d ORDER BY e.scope, e.key) INTO scopes, keys, ended
  FROM (SELECT 'subject' AS scope, subject AS key, count(*) AS d FROM old_rows GROUP BY subject
        UNION ALL
        SELECT 'ticket', ticket, count(*) FROM old_rows GROUP BY ticket) e;
  IF scopes IS NULL THEN
    RETURN NULL;  -- the statement ended no lease
  END IF;
  PERFORM 1 FROM lease_counts c JOIN unnest(scopes, keys) AS u(scope, key)
    ON c.scope = u.scope AND c.key = u.key
    ORDER BY c.scope, c.key FOR UPDATE OF c;
  UPDATE lease_counts c SET n = c.n - u.d FROM unnest(scopes, keys, ended) AS u(scope, key, d)
    WHERE c.scope = u.scope AND c.key = u.key;
  SELECT array_agg(id) INTO ids FROM old_rows;
  INSERT INTO revocation_events (lease_ids, created_at)
    VALUES (ids, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
  PERFORM pg_notify('jitb_revocations', '');
  RETURN NULL;
END $$;
CREATE TRIGGER lease_active_ended AFTER DELETE ON lease_active
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lease_active_ended();

-- The group insert (0010), now writing the subject into lease_active.
CREATE OR REPLACE FUNCTION insert_leases(
  p_id TEXT[], p_kind INT[], p_ticket TEXT[], p_grant TEXT[], p_subject TEXT[], p_state INT[],
  p_issued BIGINT[], p_expires BIGINT[], p_ended BIGINT[], p_reason TEXT[], p_jti TEXT[],
  p_serial TEXT[], p_claims TEXT[], p_review INT[], p_caller_issuer TEXT[],
  p_caller_claims TEXT[], per_subject BIGINT, per_ticket BIGINT)
RETURNS TABLE (refused TEXT, t_found BOOLEAN, t_state TEXT, t_window BIGINT, t_json TEXT)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
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
  INSERT INTO lease_active (id, ticket, subject, expires_at)
    SELECT u.id, u.ticket, u.subject, u.expires
    FROM unnest(p_id, p_ticket, p_subject, p_expires, p_state, refusals)
      AS u(id, ticket, subject, expires, st, refused)
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
