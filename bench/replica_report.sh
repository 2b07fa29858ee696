# Sourced by bench/run: writes the "Replicas on PostgreSQL" section of docs/benchmarks.md from
# $tmp/replicas.txt (bench/replica_bench.sh). Every number comes from that file; the reasoning
# is fixed text.

rf() { grep "^loadgen scenario=$1 " "$tmp/replicas.txt" | grep -o " $2=[^ ]*" | cut -d= -f2; }
rlag() { grep "^replag replica=$2 replicas=$1 " "$tmp/replicas.txt" | grep -o " $3=[^ ]*" | cut -d= -f2; }
rclose() { grep "^replag close replicas=$1 " "$tmp/replicas.txt" | grep -o " $2=[^ ]*" | cut -d= -f2; }
rcalc() { awk "BEGIN { printf \"$1\", $2 }"; }
# rsent N MS: a time in ms from A's answer, as ms from the close being sent.
rsent() { rcalc %.0f "$2 - ($(rclose "$1" sent_ms))"; }
rratio() { rcalc %.2f "$(rf "rep-$1-$2" throughput) / $(rf "rep-$1-1" throughput)"; }
rlocks() { echo "$(rf "$1" pg_wait_lock)/$(rf "$1" pg_waits)"; }

replica_row() {  # KIND N LABEL
  local s=rep-$1-$2
  echo "| $2 | $3 | $(rf "$s" connections) | $(rf "$s" requests) | $(rf "$s" errors) ($(rf "$s" error_statuses)) | $(rf "$s" per_replica) | $(rf "$s" throughput) | $(rratio "$1" "$2")× | $(rf "$s" p50_ms) | $(rf "$s" p99_ms) | $(rf "$s" replica_cpu_cores) | $(rf "$s" replica_us_per_req) | $(rf "$s" pg_cpu_cores) | $(rf "$s" pg_us_per_req) | $(rcalc %.2f "$(rf "$s" pg_commits) / ($(rf "$s" requests) + 200)") / $(rcalc %.2f "$(rf "$s" pg_wal_syncs) / ($(rf "$s" requests) + 200)") | $(rlocks "$s") | $(rf "$s" loadgen_cpu_cores) | $(rf "$s" other_cpu_cores) |"
}

replica_lag_rows() {
  local n r i applied
  for n in 1 2 3; do
    i=0
    for r in A B C; do
      [ "$i" -lt "$n" ] || break
      i=$((i + 1))
      applied=$(rcalc %.0f "$(rclose "$n" ended_min_ms) - ($(rclose "$n" sent_ms)) + $(rlag "$n" $r fanout_mean_ms)")
      echo "| $n | $r | $(rclose "$n" revoked) | $(rclose "$n" close_ms) | $(rsent "$n" "$(rclose "$n" ended_min_ms)") | $(rsent "$n" "$(rlag "$n" $r last_active_ms)") – $(rsent "$n" "$(rlag "$n" $r first_inactive_ms)") | $(rlag "$n" $r active_after_first) / $(rlag "$n" $r never_inactive) | $(rlag "$n" $r p50_ms) / $(rlag "$n" $r p99_ms) / $(rlag "$n" $r max_ms) | $(rlag "$n" $r ocsp_max_ms) | $(rlag "$n" $r resolution_ms) | $(rlag "$n" $r fanout_count) | $applied | $(rcalc %.3f "$(rlag "$n" $r fanout_mean_ms) / 1000") (≤ $(rlag "$n" $r fanout_p50_le) / $(rlag "$n" $r fanout_p99_le) / $(rlag "$n" $r fanout_max_le)) |"
    done
  done
}

replica_reading() {
  local cores t1 rep_us pg_us used other
  cores=$(nproc)
  t1=rep-spread-1
  rep_us=$(rf $t1 replica_us_per_req)
  pg_us=$(rf $t1 pg_us_per_req)
  used=$(rcalc %.2f "$(rf $t1 replica_cpu_cores) + $(rf $t1 pg_cpu_cores) + $(rf $t1 loadgen_cpu_cores)")
  other=$(rf $t1 other_cpu_cores)
  echo "- **One ticket and one subject: the replicas queue on its quota counts.** In the token and"
  echo "  certificate rows every request is the same caller on the same ticket. A lease insert"
  echo "  raises that subject's and that ticket's rows in \`lease_counts\` in its transaction, so"
  echo "  two replicas' commits cannot overlap: one waits for the other's commit, WAL flush"
  echo "  included. Sampled five times a second, the database's active backends were waiting on a"
  echo "  lock in $(rlocks rep-token-1) samples with one replica, $(rlocks rep-token-2) with two and $(rlocks rep-token-3) with three (token rows)."
  echo "  The *spread* rows send the same token exchange for $rep_spread callers, each on a ticket of"
  echo "  its own (as many distinct rows as a busy broker's many tickets have): $(rlocks rep-spread-1),"
  echo "  $(rlocks rep-spread-2) and $(rlocks rep-spread-3), and 2 ÷ 1 = $(rratio spread 2)×, 3 ÷ 1 = $(rratio spread 3)×. A single ticket"
  echo "  of heavy automated use is the case where replicas serialise."
  local k
  per() { rcalc %.2f "$(rf "rep-spread-$1" "$2") / ($(rf "rep-spread-$1" requests) + 200)"; }
  echo "- **Each replica commits its own groups.** A replica's store writer commits the issuances"
  echo "  waiting for it as one transaction with one WAL flush (group commit, as one broker does"
  echo "  with one writer: \`PgOptions::async_workers\`). The same $rep_conns connections over more replicas"
  echo "  make more, smaller groups: in the spread rows PostgreSQL committed $(per 1 pg_commits), $(per 2 pg_commits) and"
  echo "  $(per 3 pg_commits) transactions per request with 1, 2 and 3 replicas, and synced its WAL $(per 1 pg_wal_syncs),"
  echo "  $(per 2 pg_wal_syncs) and $(per 3 pg_wal_syncs) times per request; CPU per token rose with them, the"
  echo "  replicas' from $(rf rep-spread-1 replica_us_per_req) to $(rf rep-spread-2 replica_us_per_req) and $(rf rep-spread-3 replica_us_per_req) µs, PostgreSQL's from"
  echo "  $(rf rep-spread-1 pg_us_per_req) to $(rf rep-spread-2 pg_us_per_req) and $(rf rep-spread-3 pg_us_per_req) µs."
  echo "- **On $cores cores more replicas cannot add throughput.** They add no CPU: with one replica"
  echo "  the replica, PostgreSQL and the load generator used $used of the $cores cores in the spread"
  echo "  row ($(rf $t1 replica_cpu_cores), $(rf $t1 pg_cpu_cores), $(rf $t1 loadgen_cpu_cores); other work on the machine $other), and"
  echo "  a second or third replica shares the same cores, with its own overheads (its pool of"
  echo "  store connections, its store poll, leader renewal and revocation fan-out). The ratios"
  echo "  measure what replication costs on one machine, not how it scales."
  if awk -v a="$used" -v o="$other" 'BEGIN { exit !(a + o < 1.7) }'; then
    echo "  The one replica left CPU idle (its requests wait for their commit's WAL flush), which"
    echo "  more requests in flight can fill: more replicas do that no better than more connections"
    echo "  to one (the HTTP section's 64-connection rows)."
  fi
  echo "- **What would scale on more cores.** Per token (spread, one replica) the replica spent"
  echo "  $rep_us µs of CPU and PostgreSQL $pg_us µs. A replica needs nothing from the others on"
  echo "  the request path (keys, leases and quotas are in the store), so each core given to"
  echo "  replicas adds about $(rcalc %.0f "1e6 / $rep_us") tokens/s, until the store bounds it: every token is"
  echo "  a commit there (the lease, its quota counts, its audit records) costing $pg_us µs of"
  echo "  PostgreSQL's CPU on the backend of the replica's pooled connection. Backends are"
  echo "  processes, so PostgreSQL's share spreads over cores too, but WAL insertion and the flush"
  echo "  at commit are shared by every replica: PostgreSQL's commit rate is the ceiling (about"
  echo "  $(rcalc %.0f "1e6 / $pg_us") tokens/s per core it spends at this cost; concurrent commits share a flush)."
  echo "  At these costs replicas need $(rcalc %.1f "$rep_us / $pg_us") cores per core of PostgreSQL. Certificates cost the"
  echo "  replica more ($(rf rep-certificate-1 replica_us_per_req) µs: the CSR's verify and the signature) for a"
  echo "  commit of the same kind ($(rf rep-certificate-1 pg_us_per_req) µs), so they would gain more from"
  echo "  replicas before the store bounds them."
}

replica_lag_text() {
  echo
  echo "### Revocation lag across replicas"
  echo
  echo "For each replica count, on the same database after the rows above: a ticket REV with"
  echo "$(rclose 1 leases) active leases, $(rcalc %.0f "$(rclose 1 leases) - $(rclose 1 sample)") of them token leases inserted by SQL"
  echo "(\`bench/replica_bench.sh\`, as \`lease_bench\` loads them: unique ids and \`jti\`s, the quota"
  echo "counts raised to match; rows every replica reads, though no client holds their tokens) and"
  echo "$(rclose 1 sample) leases issued over HTTP through the replicas in turn (the sample: $(rclose 1 certificates)"
  echo "certificates for one CSR, each its own serial, and $(rcalc %.0f "$(rclose 1 sample) - $(rclose 1 certificates)") tokens). \`bench/revocation_lag.py\` asks"
  echo "every replica for the state of the whole sample in a loop (introspection for a token, OCSP"
  echo "for a certificate, checked with \`cryptography\`; 2 connections per replica, each over half"
  echo "the sample), then closes REV at replica A with a signed ticket event; A's answer counted"
  echo "the revoked leases (column 3)."
  echo
  echo "What is measured, in ms from the close being sent unless said otherwise:"
  echo "- *ended_at*: the time the closing statement stamped on the leases (from the store)."
  echo "- *visible*: at that replica, the send time of the last read that found a sample lease"
  echo "  active – the answer time of the first that found one inactive. Introspection and OCSP"
  echo "  read the lease from the store on every request, so the end shows everywhere when the"
  echo "  close's transaction commits. *Late / never*: sample leases read active by a request sent after"
  echo "  that first inactive answer, and sample leases never read inactive (both 0: every lease"
  echo "  of the sample ended at that instant)."
  echo "- *Sample inactive*: ms after A's answer (negative: before it) at which each sample lease"
  echo "  was first read inactive there: an upper bound per lease, which the poller's sweep over"
  echo "  its share sets (*resolution*: the median gap between a lease's last active and first"
  echo "  inactive read), not the broker. *OCSP max*: the latest of these among the certificates."
  echo "- *Fan-out*: the replica's \`jitbroker_revocation_fanout_lag_seconds\` over the close (read"
  echo "  from /metrics before and after): events applied (one per lease), when they were applied"
  echo "  (ended_at plus the histogram's mean), and the bucket bounds holding its p50, p99 and"
  echo "  maximum. This is the replica's caches (CRL, SSH KRL, ticket cache) learning of the end,"
  echo "  woken by the NOTIFY the commit sends; its lag counts from ended_at, so it includes the"
  echo "  closing statement's own run up to the commit. The close stamps one ended_at on all its"
  echo "  leases and one poll applies them, so they share one lag: the mean is every lease's (its"
  echo "  p50, p99 and maximum fall in the same bucket)."
  echo
  echo "| replicas | replica | revoked (A's answer) | close: sent → A's answer | ended_at | visible | late / never | sample inactive p50 / p99 / max (after A's answer) | OCSP max | resolution | fan-out events | fan-out applied | fan-out lag s: mean (buckets of p50 / p99 / max) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  replica_lag_rows
  echo
  local n r vis fan
  echo "Where the time goes, per replica count: the close's transaction (from ended_at to the end"
  echo "being visible: the ticket's write, one UPDATE of every lease of the ticket with the"
  echo "quota-count and revocation-event triggers, and the ended leases' audit records on A's chain,"
  echo "all in one transaction), then A's answer (after its listeners), and"
  echo "the fan-out (each replica reads the event's ended leases back, all of them, and applies"
  echo "them to its caches):"
  for n in 1 2 3; do
    vis=$(for r in $(echo A B C | cut -d' ' -f1-"$n"); do rlag "$n" $r first_inactive_ms; done | sort -g | tail -n 1)
    fan=$(for r in $(echo A B C | cut -d' ' -f1-"$n"); do rlag "$n" $r fanout_mean_ms; done | sort -g | tail -n 1)
    echo "- $n replica(s), $(rclose "$n" leases) leases: transaction $(rcalc %.0f "$vis - ($(rclose "$n" ended_min_ms))") ms to the commit, A's"
    echo "  answer $(rcalc %.0f "0 - ($vis)") ms after it, every replica's fan-out done $(rcalc %.0f "$(rclose "$n" ended_min_ms) + $fan - ($vis)") ms after it."
  done
  echo "Introspection and OCSP showed the end at every replica at the same instant, the commit: what"
  echo "grows with the ticket's leases is the closing transaction's own run (\"Leases\" above times"
  echo "the same statement alone) and, after it, the fan-out to the replicas' caches, which reads"
  echo "every ended lease back. The p99 of the fan-out histogram is that whole span, for every lease."
}

replica_report() {
  echo
  echo "## Replicas on PostgreSQL"
  echo
  echo "\`bench/replica_bench.sh\` (from \`bench/run\`; alone: \`bench/replica_bench.sh build-release\`,"
  echo "with its own PostgreSQL): 1, 2 and 3 \`jitbroker serve\` replicas of one broker on the durable"
  echo "PostgreSQL above, a fresh database per replica count (\`keys: {kek_file}\`, one \`public_url\`,"
  echo "each replica its own port, \`data_dir\` and \`store.replica_id\`), on the same $(nproc) cores as"
  echo "PostgreSQL and the load generator. One loadgen drives every replica at once: its"
  echo "$rep_conns connections are dealt over the replicas' URLs in turn (over 3: 6, 5 and 5), and its"
  echo "figures are over every request of the run (the p99 of the union, not a mean of p99s)."
  echo "Each row: $rep_secs s after 200 warm-up requests. CPU from /proc over the run: the replicas'"
  echo "processes together, PostgreSQL's (the postmaster and its children: one backend per pooled"
  echo "connection), the load generator's, and the rest of the machine's (*other*); µs/request"
  echo "counts the warm-up requests too, as does *answered by* (each replica's request counter). *Lock waits*: samples (5 a second, \`pg_stat_activity\`) of"
  echo "the database's active backends that were waiting on a lock, of all samples of active ones."
  echo "*Commits / WAL syncs*: \`pg_stat_database.xact_commit\` and \`pg_stat_wal.wal_sync\` over the"
  echo "run (every client of the database, warm-up included), per request."
  echo
  echo "| replicas | scenario | connections | requests | errors | answered by A / B / C | req/s | ÷ 1 replica | p50 ms | p99 ms | replicas' CPU (cores) | replicas' CPU µs/request | PostgreSQL CPU (cores) | PostgreSQL CPU µs/request | PostgreSQL commits / WAL syncs per request | lock waits | loadgen CPU (cores) | other CPU (cores) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  local n
  for n in 1 2 3; do replica_row token "$n" "token exchange, one caller and ticket"; done
  for n in 1 2 3; do replica_row certificate "$n" "certificate, one caller and ticket"; done
  for n in 1 2 3; do replica_row spread "$n" "token exchange, $rep_spread callers and tickets (*spread*)"; done
  echo
  echo "Ratios, 2 replicas ÷ 1 and 3 ÷ 1: tokens $(rratio token 2)× and $(rratio token 3)×, certificates"
  echo "$(rratio certificate 2)× and $(rratio certificate 3)×, spread tokens $(rratio spread 2)× and $(rratio spread 3)×."
  echo
  replica_reading
  replica_lag_text
  echo
  echo "This section took $rep_seconds s. Commands (\$TMP is the run's scratch folder, \$URL each"
  echo "replica's address; the configs are \$TMP/replicas-N/rI.yaml):"
  echo
  echo '```'
  echo "JITB_PG_DURABLE=1 scripts/pg start \$TMP/pg; psql -d URI -c 'CREATE DATABASE jitb_replicas_N'"
  echo "$dir/jitbroker serve --config \$TMP/replicas-N/r0.yaml   # then r1, r2 with r0's admin.token, webhook.secret"
  cat "$tmp/replica-commands.txt"
  echo '```'
}
