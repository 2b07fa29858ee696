#!/usr/bin/env bash
# Sourced by bench/run (after bench/http_bench.sh, whose helpers it uses): one, two and three
# replicas of one broker (`keys: {kek_file}`, one public_url, each its own port and data_dir)
# on the durable PostgreSQL server bench/run started ($pg_uri), a fresh database per replica
# count. For each count: token exchange and certificate issuance for one caller on one ticket,
# and token exchange for 64 callers each on a ticket of its own, with the load spread over the
# replicas (one loadgen, --url per replica, the same total connections: JITB_BENCH_CONNECTIONS,
# 16), JITB_BENCH_REPLICA_SECONDS (10; quick 2) each, with the CPU of the replicas, of
# PostgreSQL and of the load generator and PostgreSQL's lock waits; then the revocation lag
# across the replicas when a ticket with JITB_BENCH_REPLICA_LEASES (100,000; quick 10,000)
# active leases is closed at replica A (bench/revocation_lag.py). About 4 minutes (quick:
# 1.5). Leaves $tmp/replicas.txt; replica_report (bench/replica_report.sh) writes the page's
# section from it. bench/run skips both with JITB_BENCH_REPLICAS=0.
# Needs: $dir, $tmp, $quick, $pg_uri and $pg_dir (scripts/pg's folder, for PostgreSQL's pids).
# On its own, with a release build: bench/replica_bench.sh [BUILD_DIR] (its own PostgreSQL; the
# section to stdout, or to JITB_BENCH_OUT).

rep_pids=()
spread_reqs=()
rep_urls=()

# The server's processes: the postmaster and its children (one backend per pooled connection
# of each replica, which lives through a scenario, and PostgreSQL's own workers).
rep_pg_pids() {
  local pm
  pm=$(head -n 1 "$(cat "$pg_dir/tmp")/data/postmaster.pid")
  echo "$pm" $(pgrep -P "$pm")
}
rep_ticks() {  # PID...: their utime+stime, in ticks (a process gone meanwhile counts 0)
  local p s=0 t
  for p in "$@"; do
    t=$(cpu_ticks "$p" 2>/dev/null) || t=0
    s=$((s + t))
  done
  echo "$s"
}
# PostgreSQL's ticks since rep_pg_mark: a backend started meanwhile counts from zero; one that
# ended meanwhile is lost rather than subtracted (the replicas' pooled backends live on).
rep_pg_mark() {
  local p
  declare -gA rep_pg_t0=()
  for p in $(rep_pg_pids); do rep_pg_t0[$p]=$(rep_ticks "$p"); done
}
rep_pg_since() {
  local p s=0 t
  for p in $(rep_pg_pids); do
    t=$(cpu_ticks "$p" 2>/dev/null) || continue  # gone since it was listed
    s=$((s + t - ${rep_pg_t0[$p]:-0}))
  done
  echo "$s"
}

rep_start() {  # INDEX DB_URI
  local i=$1 d="$rt/r$1"
  mkdir -p "$d"
  chmod 700 "$d"
  broker_yaml "$d" "store: { postgres: \"$2\", replica_id: \"bench-r$i\" }
keys: { kek_file: \"$rt/kek\" }
${rep_urls[0]:+public_url: \"${rep_urls[0]}\"}" > "$rt/r$i.yaml"
  "$dir/jitbroker" serve --config "$rt/r$i.yaml" > "$rt/r$i.out" 2> "$rt/r$i.log" &
  rep_pids+=($!)
  pids+=($!)
  wait_for_line "$rt/r$i.out" "listening on" 60
  rep_urls+=("$(grep -o 'https://[0-9.:]*' "$rt/r$i.out" | tail -n 1)")
}

# N replicas on a fresh database, each on a port of its own choosing: A first (it migrates the
# schema and makes the keys, sealed under the KEK; its address is every replica's public_url),
# then the others with A's admin token and webhook secret (files, not in the
# store). Every replica's TLS certificate comes from the shared CA: A's ca.pem verifies all.
rep_cluster() {  # N
  local n=$1 db=jitb_replicas_$1 i
  rt="$tmp/replicas-$n"
  mkdir -p "$rt"
  head -c 32 /dev/urandom > "$rt/kek"
  chmod 600 "$rt/kek"
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$pg_uri" \
    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >&2
  rep_db="${pg_uri%/*}/$db"
    rep_pids=()
  rep_urls=()
  rep_start 0 "$rep_db"
  for i in $(seq 1 $((n - 1))); do
    mkdir -p "$rt/r$i"
    cp "$rt/r0/admin.token" "$rt/r0/webhook.secret" "$rt/r$i/"
    rep_start "$i" "$rep_db"
  done
  ca="$rt/r0/tls/ca.pem"
  url=${rep_urls[0]}
  data="$rt/r0"
  fx="$rt/fx"
  mkdir -p "$fx"
  cp "$tmp/fx/subject.jwt" "$fx/"
  make_fixtures  # ticket BENCH-1 and the request templates, through A
}

# The same token exchange spread over K callers, each with a ticket of its own (tickets made
# through A; the callers' tokens once, in $tmp/spread): as many tickets and subjects as
# connections at least, so that concurrent issuances rarely share a quota count row.
rep_spread_callers() {  # K
  mkdir -p "$tmp/spread"
  for k in $(seq "$1"); do
    [ -s "$tmp/spread/subject-$k.jwt" ] ||
      "$dir/jitctl" dev subject-token --data-dir "$tmp/data" --sub "bench-$k" --ttl 1h \
        > "$tmp/spread/subject-$k.jwt"
  done
}
rep_spread_fixtures() {  # K
  local k p te=urn%3Aietf%3Aparams%3Aoauth%3A jobs=()
  spread_reqs=()
  for k in $(seq "$1"); do
    "$dir/jitctl" dev ticket --data-dir "$data" --broker "$url" --ca-file "$ca" --id "SPREAD-$k" \
      --state approved --subject "bench-$k" --access deploy --window 2h > /dev/null &
    jobs+=($!)  # eight at a time (not `wait` alone: the replicas are jobs of this shell too)
    if [ ${#jobs[@]} -ge 8 ]; then
      for p in "${jobs[@]}"; do wait "$p"; done
      jobs=()
    fi
    cp "$tmp/spread/subject-$k.jwt" "$fx/"
    printf 'POST /v1/token\nContent-Type: application/x-www-form-urlencoded\n\n%s' \
      "grant_type=${te}grant-type%3Atoken-exchange&subject_token={{file:subject-$k.jwt}}&subject_token_type=${te}token-type%3Ajwt&ticket=SPREAD-$k" \
      > "$fx/token-$k.req"
    spread_reqs+=(--request "$fx/token-$k.req")
  done
  for p in "${jobs[@]}"; do wait "$p"; done
}

# Requests each replica has answered so far (its /metrics), space-separated: to show the load
# was spread.
rep_served() {
  local u
  for u in "${rep_urls[@]}"; do
    curl -sf --cacert "$ca" "$u/metrics" |
      awk '/^jitbroker_http_requests_total[{ ]/ {s += $NF} END {printf "%d ", s}'
  done
}

# The database's commits and WAL syncs so far. Backends publish their counts at most once a
# second, and within a second of going idle: the caller waits that out around a run.
rep_pg_counts() {
  psql -X -q -t -A -F ' ' -d "$rep_db" -c "SELECT (SELECT xact_commit FROM pg_stat_database
    WHERE datname = current_database()), (SELECT wal_sync FROM pg_stat_wal)"
}

# One loadgen over every replica's URL; the CPU of the replicas, PostgreSQL and the machine over
# the run. One line to $tmp/replicas.txt.
rep_load() {  # SCENARIO N LOADGEN-ARGS...
  local name=$1 n=$2
  shift 2
  local urls=() u pg r0 r1 p0 p1 m0 m1 t0 t1
  for u in "${rep_urls[@]}"; do urls+=(--url "$u"); done
  # The spread rows' 64 request files are written as one brace expansion.
  echo "$dir/loadgen --scenario $name ${urls[*]} $*" |
    sed -E "s|$tmp|\$TMP|g; s|https://127.0.0.1:[0-9]+|\$URL|g
            s#(--request \S+/token-)1\.req( --request \S+/token-[0-9]+\.req)+#\1{1..$((${#spread_reqs[@]} / 2))}.req#" \
    >> "$tmp/replica-commands.txt"
  # What the database's client backends wait on, five times a second, from one session.
  local q="SELECT coalesce(wait_event_type, 'CPU') FROM pg_stat_activity WHERE datname ="
  q="$q current_database() AND state = 'active' AND backend_type = 'client backend' AND pid <>"
  q="$q pg_backend_pid(); SELECT pg_sleep(0.2);"
  for _ in $(seq 3000); do echo "$q"; done > "$rt/waits.sql"
  psql -X -q -t -A -d "$rep_db" -f "$rt/waits.sql" > "$rt/waits-$name.txt" 2>/dev/null &
  local wpid=$!
  local served0 counts0
  served0=$(rep_served)
  sleep 1.2
  counts0=$(rep_pg_counts)
  r0=$(rep_ticks "${rep_pids[@]}")
  rep_pg_mark
  m0=$(machine_busy_ticks)
  t0=$(date +%s.%N)
  "$dir/loadgen" --scenario "$name" "${urls[@]}" "$@" > "$rt/lg-$name.txt"
  t1=$(date +%s.%N)
  kill "$wpid" 2>/dev/null || true
  wait "$wpid" 2>/dev/null || true
  r1=$(rep_ticks "${rep_pids[@]}")
  p0=0
  p1=$(rep_pg_since)
  m1=$(machine_busy_ticks)
  local line served counts
  sleep 1.2
  counts=$(paste -d' ' <(echo "$counts0") <(rep_pg_counts) |
    awk '{printf "pg_commits=%d pg_wal_syncs=%d", $3 - $1, $4 - $2}')
  # Each replica's share (the /metrics reads in between count one each).
  served=$(paste -d' ' <(tr ' ' '\n' <<< "$served0" | grep .) <(rep_served | tr ' ' '\n' | grep .) |
    awk '{printf "%s%d", (NR > 1 ? "/" : ""), $2 - $1 - 1}')
  line="$(head -n 1 "$rt/lg-$name.txt") $(awk '$1 != "" {n++; w[$1]++}
    END {printf "pg_waits=%d pg_wait_lock=%d pg_wait_io=%d pg_wait_cpu=%d", n, w["Lock"], w["IO"], w["CPU"]}' \
    "$rt/waits-$name.txt") per_replica=$served $counts"
  awk -v l="$line" -v n="$n" -v r0="$r0" -v r1="$r1" -v p0="$p0" -v p1="$p1" -v m0="$m0" \
      -v m1="$m1" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {
    match(l, / requests=[0-9]+/); reqs = substr(l, RSTART + 10, RLENGTH - 10) + 200  # + warm-up
    match(l, /client_cpu_s=[0-9.]+/); client = substr(l, RSTART + 13, RLENGTH - 13)
    s = t1 - t0; rep = (r1 - r0) / hz; pg = (p1 - p0) / hz
    other = ((m1 - m0) / hz - rep - pg - client) / s
    printf "%s replicas=%d replica_cpu_cores=%.2f replica_us_per_req=%.0f pg_cpu_cores=%.2f pg_us_per_req=%.0f loadgen_cpu_cores=%.2f loadgen_us_per_req=%.0f other_cpu_cores=%.2f\n",
      l, n, rep / s, 1e6 * rep / reqs, pg / s, 1e6 * pg / reqs, client / s, 1e6 * client / reqs,
      (other > 0 ? other : 0) }' >> "$tmp/replicas.txt"
  tail -n 1 "$tmp/replicas.txt" >&2
}

# The ticket REV with LEASES active leases: LEASES - SAMPLE token leases inserted by SQL (as
# lease_bench does: unique ids and jtis, the quota counts raised to match), and SAMPLE leases
# issued through the replicas by revocation_lag.py (a tenth certificates, polled by OCSP; the
# rest tokens, by introspection), which then closes REV at A and times it.
rep_lag() {  # N LEASES SAMPLE
  local n=$1 leases=$2 sample=$3 bulk=$(($2 - $3)) now
  "$dir/jitctl" dev ticket --data-dir "$data" --broker "$url" --ca-file "$ca" --id REV \
    --state approved --subject bench-caller --access deploy --window 2h > /dev/null
  now=$(($(date +%s%N) / 1000000))
  psql -X -q -v ON_ERROR_STOP=1 -d "$rep_db" >&2 <<EOF
INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, expires_at, jti, claims)
  SELECT 'lease_rev_' || lpad(i::text, 9, '0'), 0, 'REV', 'deploy', 'repo:acme/svc' || (i % 1000), 0,
         $now, $now + 3600000 + i % 600000, 'jlease_rev_' || lpad(i::text, 9, '0'), '{}'
  FROM generate_series(1, $bulk) AS i;
INSERT INTO lease_active (id, ticket, subject, expires_at, kind, jti, serial)
  SELECT id, ticket, subject, expires_at, kind, jti, serial FROM leases
  WHERE ticket = 'REV' AND state = 0;
INSERT INTO lease_counts (scope, key, n)
  SELECT 'subject', subject, count(*) FROM leases WHERE ticket = 'REV' GROUP BY subject
  ON CONFLICT (scope, key) DO UPDATE SET n = lease_counts.n + excluded.n;
INSERT INTO lease_counts (scope, key, n) VALUES ('ticket', 'REV', $bulk)
  ON CONFLICT (scope, key) DO UPDATE SET n = lease_counts.n + excluded.n;
ANALYZE leases; ANALYZE lease_active;
EOF
  local urls=() u
  for u in "${rep_urls[@]}"; do urls+=(--url "$u"); done
  echo "bench/revocation_lag.py ${urls[*]} --ca-file \$CA --data-dir \$A_DATA_DIR --subject-token subject.jwt --ticket REV --subject bench-caller --access deploy --sample $sample --certificates $((sample / 10)) --csr csr.pem --leases $leases --db-uri \$DB_URI" |
    sed "s|https://127.0.0.1:[0-9]*|\$URL|g" >> "$tmp/replica-commands.txt"
  python3 bench/revocation_lag.py "${urls[@]}" --ca-file "$ca" --data-dir "$data" \
    --subject-token "$fx/subject.jwt" --ticket REV --subject bench-caller --access deploy \
    --sample "$sample" --certificates $((sample / 10)) --csr "$fx/csr.pem" --leases "$leases" \
    --db-uri "$rep_db" > "$rt/lag.txt"
  cat "$rt/lag.txt" >> "$tmp/replicas.txt"
  cat "$rt/lag.txt" >&2
}

# Stops this cluster's replicas and takes them off the list bench/run's exit trap stops.
rep_stop() {
  local p q keep=()
  for p in "${rep_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${rep_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for q in "${rep_pids[@]}"; do [ "$p" = "$q" ] && continue 2; done
    keep+=("$p")
  done
  pids=("${keep[@]}")
  rep_pids=()
}

replica_bench() {
  local secs=${JITB_BENCH_REPLICA_SECONDS:-10} conns=${JITB_BENCH_CONNECTIONS:-16}
  local leases=${JITB_BENCH_REPLICA_LEASES:-100000} sample=2000 n spread=64
  if [ -n "$quick" ]; then
    secs=${JITB_BENCH_REPLICA_SECONDS:-2}
    leases=${JITB_BENCH_REPLICA_LEASES:-10000}
    sample=500
  fi
  # The HTTP section's fixtures stay as they were for its report.
  local saved=("${data:-}" "${fx:-}" "${url:-}" "${ca:-}")
  : > "$tmp/replicas.txt"
  : > "$tmp/replica-commands.txt"
  rep_t0=$(date +%s)
  rep_spread_callers "$spread"
  for n in 1 2 3; do
    rep_cluster "$n"
    local args=(--ca-file "$ca" --connections "$conns" --warmup 200 --requests 10000000
                --duration "$secs")
    rep_load "rep-token-$n" "$n" "${args[@]}" --request "$fx/token.req"
    rep_load "rep-certificate-$n" "$n" "${args[@]}" --request "$fx/certificate.req"
    rep_spread_fixtures "$spread"
    rep_load "rep-spread-$n" "$n" "${args[@]}" "${spread_reqs[@]}"
    rep_lag "$n" "$leases" "$sample"
    rep_stop
    psql -X -q -d "$pg_uri" -c "DROP DATABASE IF EXISTS jitb_replicas_$n WITH (FORCE)" >&2 || true
  done
  data=${saved[0]} fx=${saved[1]} url=${saved[2]} ca=${saved[3]}
  rep_seconds=$(($(date +%s) - rep_t0))
  rep_conns=$conns
  rep_secs=$secs
  rep_spread=$spread
}

# Standalone: a release build's binaries, a PostgreSQL of its own, only this section.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  dir=${1:-build-release}
  quick=${JITB_BENCH_QUICK:-}
  tmp=$(mktemp -d)
  . bench/http_bench.sh
  . bench/replica_report.sh
  trap 'stop_servers; scripts/pg stop "$tmp/pg" > /dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
  pg_dir="$tmp/pg"
  pg_uri=$(JITB_PG_DURABLE=1 scripts/pg start "$pg_dir")
  data="$tmp/data"
  fx="$tmp/fx"
  mkdir -p "$data" "$fx"
  make_caller
  replica_bench
  replica_report > "${JITB_BENCH_OUT:-/dev/stdout}"
fi
