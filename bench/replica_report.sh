# Sourced by bench/run: writes the "Replicas on PostgreSQL" section of docs/benchmarks.md from
# $tmp/replicas.txt (bench/replica_bench.sh). Every number comes from that file.

rf() { grep "^loadgen scenario=$1 " "$tmp/replicas.txt" | grep -o " $2=[^ ]*" | cut -d= -f2; }
rlag() { grep "^replag replica=$2 replicas=$1 " "$tmp/replicas.txt" | grep -o " $3=[^ ]*" | cut -d= -f2; }
rclose() { grep "^replag close replicas=$1 " "$tmp/replicas.txt" | grep -o " $2=[^ ]*" | cut -d= -f2; }
rcalc() { awk "BEGIN { printf \"$1\", $2 }"; }

replica_row() {  # KIND N
  local s=rep-$1-$2
  echo "| $2 | $1 | $(rf "$s" connections) | $(rf "$s" requests) | $(rf "$s" errors) ($(rf "$s" error_statuses)) | $(rf "$s" throughput) | $(rcalc %.2f "$(rf "$s" throughput) / $(rf "rep-$1-1" throughput)")× | $(rf "$s" p50_ms) | $(rf "$s" p99_ms) | $(rf "$s" replica_cpu_cores) | $(rf "$s" replica_us_per_req) | $(rf "$s" pg_cpu_cores) | $(rf "$s" pg_us_per_req) | $(rf "$s" loadgen_cpu_cores) | $(rf "$s" other_cpu_cores) |"
}

replica_lag_rows() {
  local n r i
  for n in 1 2 3; do
    i=0
    for r in A B C; do
      [ "$i" -lt "$n" ] || break
      i=$((i + 1))
      echo "| $n | $r | $(rclose "$n" revoked) of $(rclose "$n" leases) | $(rclose "$n" close_ms) | $(rlag "$n" $r last_active_ms) / $(rlag "$n" $r first_inactive_ms) | $(rlag "$n" $r p50_ms) / $(rlag "$n" $r p99_ms) / $(rlag "$n" $r max_ms) | $(rlag "$n" $r resolution_ms) | $(rlag "$n" $r active_after_first) | $(rlag "$n" $r never_inactive) | $(rlag "$n" $r fanout_count) | $(rlag "$n" $r fanout_p50_le) / $(rlag "$n" $r fanout_p99_le) / $(rlag "$n" $r fanout_max_le) |"
    done
  done
}

replica_report() {
  local cores t1 rep_us pg_us lg_cores used
  cores=$(nproc)
  t1=rep-token-1
  rep_us=$(rf $t1 replica_us_per_req)
  pg_us=$(rf $t1 pg_us_per_req)
  used=$(rcalc %.2f "$(rf $t1 replica_cpu_cores) + $(rf $t1 pg_cpu_cores) + $(rf $t1 loadgen_cpu_cores)")
  echo
  echo "## Replicas on PostgreSQL"
  echo
  echo "\`bench/replica_bench.sh\` (from \`bench/run\`; alone: \`bench/replica_bench.sh build-release\`,"
  echo "with its own PostgreSQL): 1, 2 and 3 \`jitbroker serve\` replicas of one broker on the durable"
  echo "PostgreSQL above, a fresh database per replica count (\`keys: {kek_file}\`, one \`public_url\`,"
  echo "each replica its own port, \`data_dir\` and \`store.replica_id\`), on the same $cores cores as"
  echo "PostgreSQL and the load generator. One loadgen drives every replica at once: its"
  echo "$rep_conns connections are dealt over the replicas' URLs in turn (over 3: 6, 5 and 5), and its"
  echo "figures are over every request of the run (the p99 of the union, not a mean of p99s)."
  echo "Each row: $rep_secs s after 200 warm-up requests. CPU from /proc over the run: the replicas'"
  echo "processes together, PostgreSQL's (the postmaster and its children: one backend per pooled"
  echo "connection), the load generator's; µs/request counts the warm-up requests too."
  echo
  echo "| replicas | scenario | connections | requests | errors | req/s | ÷ 1 replica | p50 ms | p99 ms | replicas' CPU (cores) | replicas' CPU µs/request | PostgreSQL CPU (cores) | PostgreSQL CPU µs/request | loadgen CPU (cores) | other CPU (cores) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for k in token certificate; do
    for n in 1 2 3; do replica_row "$k" "$n"; done
  done
  echo
  echo "Tokens: 2 replicas ÷ 1 = $(rcalc %.2f "$(rf rep-token-2 throughput) / $(rf rep-token-1 throughput)")×,"
  echo "3 ÷ 1 = $(rcalc %.2f "$(rf rep-token-3 throughput) / $(rf rep-token-1 throughput)")×. Certificates: 2 ÷ 1 ="
  echo "$(rcalc %.2f "$(rf rep-certificate-2 throughput) / $(rf rep-certificate-1 throughput)")×, 3 ÷ 1 = $(rcalc %.2f "$(rf rep-certificate-3 throughput) / $(rf rep-certificate-1 throughput)")×."
  echo
  echo "**On $cores cores more replicas cannot add throughput.** With one replica the replica,"
  echo "PostgreSQL and the load generator already used $used of the $cores cores in the token row"
  echo "($(rf $t1 replica_cpu_cores), $(rf $t1 pg_cpu_cores) and $(rf $t1 loadgen_cpu_cores)). A second or"
  echo "third replica shares the same cores and brings its own overheads (its pool of store"
  echo "connections, its store poll, leader renewal and revocation fan-out), so the ratios above"
  echo "measure what replication costs on one machine, not how it scales. What would scale, on"
  echo "more cores: per token the replica spent $rep_us µs of CPU and PostgreSQL $pg_us µs (one"
  echo "replica). The replica's part needs nothing from the other replicas (keys, leases and"
  echo "quotas are in the store), so each core given to a replica adds about"
  echo "$(rcalc %.0f "1e6 / $rep_us") tokens/s, until the store bounds it: every token is one commit"
  echo "there (the lease, its quota counts, its audit records), $pg_us µs of PostgreSQL's CPU, on"
  echo "whichever backend the replica's pooled connection has. PostgreSQL runs the replicas'"
  echo "connections on separate processes, so its CPU spreads over cores too, but WAL insertion"
  echo "and the flush at commit are shared by all: the ceiling is PostgreSQL's commit rate"
  echo "(group commit amortises the flush; one core of PostgreSQL at this cost is about"
  echo "$(rcalc %.0f "1e6 / $pg_us") tokens/s). At these costs a replica needs"
  echo "$(rcalc %.1f "$rep_us / $pg_us") cores for every core PostgreSQL spends on the same tokens."
  echo "Certificates cost the replica more ($(rf rep-certificate-1 replica_us_per_req) µs: the CSR's"
  echo "verify and the signature) for the same commit ($(rf rep-certificate-1 pg_us_per_req) µs), so they"
  echo "would scale further with replicas before the store bounds them."
  echo
  echo "### Revocation lag across replicas"
  echo
  echo "For each replica count, on the same database after the rows above: a ticket REV with"
  echo "$(rclose 1 leases) active leases, $(rcalc %.0f "$(rclose 1 leases) - $(rclose 1 sample)") of them token leases inserted by SQL"
  echo "(\`bench/replica_bench.sh\`, as \`lease_bench\` loads them: unique ids and \`jti\`s, the quota"
  echo "counts raised to match; rows every replica reads, though no client holds their tokens) and"
  echo "$(rclose 1 sample) tokens issued over HTTP through the replicas in turn (real JWTs and leases, the sample)."
  echo "Then \`bench/revocation_lag.py\` introspects the whole sample at every replica in a loop"
  echo "(2 connections per replica, each over half the sample) and closes REV at replica A with a"
  echo "signed ticket event; A's answer counted the revoked leases (column 3). A replica's"
  echo "introspection reads the lease from the store on every request, so it sees the end as soon as"
  echo "the close's one transaction commits at A; the revocation fan-out then applies the ended"
  echo "leases to each replica's caches (CRL, SSH KRL, ticket cache; polled every 500 ms and woken by"
  echo "a NOTIFY), which \`jitbroker_revocation_fanout_lag_seconds\` times from each lease's end to"
  echo "its application there (read from /metrics before and after: the bucket bounds holding its"
  echo "p50, p99 and maximum)."
  echo
  echo "Times are in ms from A's answer to the close (negative: before it; A answers after writing"
  echo "the ended leases' audit records, so B and C can see the end first). *Last active / first"
  echo "inactive*: the send time of the replica's last read that found a sample lease active and"
  echo "the answer time of its first read that found one inactive; the end became visible there"
  echo "between the two. *Sample inactive*: when each sample lease was first read inactive there"
  echo "(an upper bound per lease; *resolution*, the median gap between a lease's last active and"
  echo "first inactive read, is one sweep of the poller over its share). *Active after first*:"
  echo "leases read active by a request sent after that replica had answered inactive for another"
  echo "(0: all ended at once)."
  echo
  echo "| replicas | replica | revoked (A's answer) | close at A, send → answer ms | last active / first inactive ms | sample inactive p50 / p99 / max ms | resolution ms | active after first | never inactive | fan-out events applied | fan-out lag p50 / p99 / max (bucket ≤ s) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  replica_lag_rows
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
