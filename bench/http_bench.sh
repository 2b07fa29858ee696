# Sourced by bench/run: the HTTP scenarios against a real broker and against CFSSL.
# Needs: $dir (release build), $tmp (scratch, removed by the caller), $quick (empty or 1).
# Leaves one line per scenario in $tmp/load.txt (loadgen's line plus server_cpu_s, server_cpu_cores,
# server_us_per_req, server_peak_rss_kb) and the exact commands in $tmp/commands.txt.

hz=$(getconf CLK_TCK)
pids=()
stop_servers() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
steal_ticks() { awk '/^cpu / {print $9}' /proc/stat; }  # time the hypervisor gave elsewhere

# run_load SCENARIO PID LOADGEN-ARGS...: one loadgen run, with the server's CPU (utime+stime
# delta) and peak RSS (VmHWM, reset first through clear_refs) over the run appended.
run_load() {
  local name=$1 pid=$2
  shift 2
  echo 5 > "/proc/$pid/clear_refs" 2>/dev/null || true
  local c0 c1 t0 t1 m0 m1 s0 s1
  c0=$(cpu_ticks "$pid")
  m0=$(machine_busy_ticks)
  s0=$(steal_ticks)
  t0=$(date +%s.%N)
  echo "$dir/loadgen --scenario $name $*" | sed "s|$tmp|\$TMP|g" >> "$tmp/commands.txt"
  "$dir/loadgen" --scenario "$name" "$@" > "$tmp/lg-$name.txt"
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "$pid")
  m1=$(machine_busy_ticks)
  s1=$(steal_ticks)
  local hwm
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  local line
  line=$(head -n 1 "$tmp/lg-$name.txt")
  local reqs warm
  reqs=$(grep -o ' requests=[0-9]*' <<< "$line" | cut -d= -f2)
  warm=$(grep -o -- '--warmup [0-9]*' <<< "$*" | awk '{print $2}')
  # other_cpu_cores: what the rest of the machine used meanwhile (a busy machine lowers figures).
  awk -v l="$line" -v c0="$c0" -v c1="$c1" -v hz="$hz" -v t0="$t0" -v t1="$t1" -v n="$reqs" \
      -v w="${warm:-0}" -v hwm="$hwm" -v m0="$m0" -v m1="$m1" -v s0="$s0" -v s1="$s1" 'BEGIN {
    cpu = (c1 - c0) / hz
    per = (n + w > 0) ? 1e6 * cpu / (n + w) : 0
    match(l, /client_cpu_s=[0-9.]+/)
    client = substr(l, RSTART + 13, RLENGTH - 13)
    other = ((m1 - m0) / hz - cpu - client - (s1 - s0) / hz) / (t1 - t0)
    printf "%s server_cpu_s=%.2f server_cpu_cores=%.2f server_us_per_req=%.0f server_peak_rss_kb=%d other_cpu_cores=%.2f steal_cores=%.2f\n",
           l, cpu, cpu / (t1 - t0), per, hwm, (other > 0 ? other : 0), (s1 - s0) / hz / (t1 - t0) }' >> "$tmp/load.txt"
  tail -n +2 "$tmp/lg-$name.txt" >> "$tmp/load.txt"
  tail -n 1 "$tmp/load.txt" >&2
}

wait_for_line() {  # FILE PATTERN SECONDS
  for _ in $(seq $(($3 * 10))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: '$2' never appeared in $1:" >&2
  cat "$1" >&2
  return 1
}

b64url() { basenc --base64url | tr -d '=\n'; }

# A caller JWT from a fresh local issuer key (jitctl dev subject-token makes the key), and a
# JWKS for it, so that `jitbroker serve` (production start, configurable limits) trusts it.
make_caller() {
  mkdir -p "$data/dev-oidc"
  "$dir/jitctl" dev subject-token --data-dir "$data" --sub bench-caller --ttl 1h > "$fx/subject.jwt"
  local key kid header pub
  key=$(find "$data/dev-oidc" -name '*.pem' | sort | awk 'NR == 1')
  header=$(cut -d. -f1 "$fx/subject.jwt")
  while [ $((${#header} % 4)) -ne 0 ]; do header="$header="; done
  kid=$(tr '_-' '/+' <<< "$header" | base64 -d | sed 's/.*"kid":"\([^"]*\)".*/\1/')
  openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | tail -c 64 > "$tmp/pub.raw"
  printf '{"keys":[{"kty":"EC","crv":"P-256","kid":"%s","alg":"ES256","use":"sig","x":"%s","y":"%s"}]}\n' \
    "$kid" "$(head -c 32 "$tmp/pub.raw" | b64url)" "$(tail -c 32 "$tmp/pub.raw" | b64url)" \
    > "$tmp/caller.jwks.json"
}

# A bench broker's config: EXTRA's lines (a store, keys, a public_url) first, then a port of
# its own on loopback, DATA_DIR, the default policies, the bench caller's issuer and limits
# that never refuse.
broker_yaml() {  # DATA_DIR [EXTRA]
  cat <<EOF
${2:-}
listen: "127.0.0.1:0"
data_dir: "$1"
policies_dir: "$PWD/policies/default"
trust:
  - issuer: "jitbroker-dev"
    jwks_file: "$tmp/caller.jwks.json"
    audience: "jitbroker"
limits:
  # The scenarios issue hundreds of thousands of live leases to one subject and one ticket.
  max_active_leases_per_subject: 10000000
  max_active_leases_per_ticket: 100000000
EOF
}

# The broker's config is $tmp/broker$conf_suffix.yaml; $store_yaml (empty: SQLite in data_dir)
# names another store.
start_broker() {
  local conf="$tmp/broker${conf_suffix:-}.yaml"
  broker_yaml "$data" "${store_yaml:-}" > "$conf"
  local out="$tmp/broker${conf_suffix:-}.out"
  ${JITB_BENCH_WRAP:-} "$dir/jitbroker" serve --config "$conf" > "$out" 2> "$tmp/broker${conf_suffix:-}.log" &
  bpid=$!
  pids+=("$bpid")
  wait_for_line "$out" "listening on" 30
  url=$(grep -o 'https://[0-9.:]*' "$out" | tail -n 1)
  ca="$data/tls/ca.pem"
  # The broker's process (bpid may be a wrapper's): which malloc it runs with.
  local p
  p=$(pgrep -n -f "$dir/jitbroker serve --config $conf" || echo "$bpid")
  broker_malloc=glibc
  grep -q libjemalloc "/proc/$p/maps" 2>/dev/null && broker_malloc=jemalloc
  grep -q libtcmalloc "/proc/$p/maps" 2>/dev/null && broker_malloc=tcmalloc
  true
}

# Ticket, CSR, access token, issued certificate and OCSP request; then the request templates.
make_fixtures() {
  local j=("$dir/jitctl" --data-dir "$data" --broker "$url" --ca-file "$ca")
  "${j[0]}" dev ticket "${j[@]:1}" --id BENCH-1 --state approved --subject bench-caller \
    --access deploy --window 2h > /dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench-caller" \
    -keyout "$fx/csr.key" -out "$fx/csr.pem" 2>/dev/null
  JITBROKER_SUBJECT_TOKEN=$(cat "$fx/subject.jwt") "${j[0]}" token "${j[@]:1}" --ticket BENCH-1 \
    > "$fx/access.jwt"
  JITBROKER_SUBJECT_TOKEN=$(cat "$fx/subject.jwt") "${j[0]}" cert "${j[@]:1}" --ticket BENCH-1 \
    --cert-out "$fx/leaf.pem" --key-out "$fx/leaf.key" > /dev/null
  curl -sf --cacert "$ca" "$url/v1/ca/chain.pem" | awk '!done {print} /END CERTIFICATE/ {done = 1}' > "$fx/issuer.pem"
  openssl ocsp -issuer "$fx/issuer.pem" -cert "$fx/leaf.pem" -no_nonce -reqout "$fx/ocsp.der" > /dev/null
  cp "$data/admin.token" "$fx/admin.token"

  local te=urn%3Aietf%3Aparams%3Aoauth%3A
  printf 'POST /v1/token\nContent-Type: application/x-www-form-urlencoded\n\n%s' \
    "grant_type=${te}grant-type%3Atoken-exchange&subject_token={{file:subject.jwt}}&subject_token_type=${te}token-type%3Ajwt&ticket=BENCH-1" \
    > "$fx/token.req"
  printf 'POST /v1/certificates\nContent-Type: application/json\nAuthorization: Bearer {{file:subject.jwt}}\n\n%s' \
    '{"ticket": "BENCH-1", "csr": "{{json:csr.pem}}"}' > "$fx/certificate.req"
  printf 'POST /v1/introspect\nContent-Type: application/x-www-form-urlencoded\nAuthorization: Bearer {{file:admin.token}}\n\n%s' \
    'token={{form:access.jwt}}' > "$fx/introspect.req"
  printf 'POST /v1/ocsp\nContent-Type: application/ocsp-request\n\n{{raw:ocsp.der}}' > "$fx/ocsp.req"
  printf 'POST /api/v1/cfssl/sign\nContent-Type: application/json\n\n%s' \
    '{"certificate_request": "{{json:csr.pem}}"}' > "$fx/cfssl-sign.req"
}

# CFSSL with an ECDSA P-256 CA and a one-hour client profile, like the broker's default grant.
start_cfssl() {
  local c="$tmp/cfssl"
  mkdir -p "$c"
  echo '{"CN": "bench CFSSL CA", "key": {"algo": "ecdsa", "size": 256}}' > "$c/ca-csr.json"
  echo '{"signing": {"default": {"expiry": "1h", "usages": ["digital signature", "client auth"]}}}' \
    > "$c/config.json"
  (cd "$c" && cfssl genkey -initca ca-csr.json 2>/dev/null | cfssljson -bare ca)
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    ss -ltn | grep -q ":$port " || break
  done
  cfssl serve -address 127.0.0.1 -port "$port" -ca "$c/ca.pem" -ca-key "$c/ca-key.pem" \
    -config "$c/config.json" > "$tmp/cfssl.log" 2>&1 &
  cpid=$!
  pids+=("$cpid")
  cfssl_url="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -sf -o /dev/null -X POST -d '{}' "$cfssl_url/api/v1/cfssl/info" && return 0
    sleep 0.1
  done
  echo "bench: cfssl serve did not start:" >&2
  cat "$tmp/cfssl.log" >&2
  return 1
}

# A separate, unmeasured token run under perf: where the CPU goes, and how many fdatasync calls
# each request costs (the durable writes of the lease and of the audit record).
profile_tokens() {
  local secs=5
  [ -n "$quick" ] && secs=2
  perf stat -e syscalls:sys_enter_fdatasync -x, -o "$tmp/perf-stat.txt" -p "$bpid" -- sleep "$secs" &
  local sp=$!
  perf record -F 499 -o "$tmp/perf.data" -p "$bpid" -- sleep "$secs" > /dev/null 2>&1 &
  local rp=$!
  "$dir/loadgen" --scenario profile "$@" --duration "$secs" --request "$fx/token.req" > "$tmp/lg-profile.txt"
  wait "$sp" "$rp" || true
  perf report -i "$tmp/perf.data" --no-children --sort dso 2>/dev/null | awk '/%/ && n++ < 8' > "$tmp/perf-dso.txt"
  perf report -i "$tmp/perf.data" --no-children --sort dso,symbol 2>/dev/null | awk '/%/ && n++ < 15' |
    cut -c1-120 > "$tmp/perf-sym.txt"
  profile_fsyncs=$(awk -F, '/fdatasync/ {print $1}' "$tmp/perf-stat.txt")
  profile_requests=$(grep -o ' requests=[0-9]*' "$tmp/lg-profile.txt" | cut -d= -f2)
}

http_bench() {
  data="$tmp/data"
  fx="$tmp/fx"
  mkdir -p "$data" "$fx"
  : > "$tmp/load.txt"
  make_caller
  start_broker
  make_fixtures
  # The disk under the store, alone: every issuance waits for at least one such sync.
  echo "$dir/fsync_probe \$TMP/data 500" >> "$tmp/commands.txt"
  "$dir/fsync_probe" "$data" 500 > "$tmp/fsync.txt"
  local secs=${JITB_BENCH_SECONDS:-15} open_secs=20 conns=${JITB_BENCH_CONNECTIONS:-16}
  [ -n "$quick" ] && secs=${JITB_BENCH_SECONDS:-2} && open_secs=3
  local max=${JITB_BENCH_MAX_REQUESTS:-1000000}
  local common=(--url "$url" --ca-file "$ca" --connections "$conns" --warmup 200
                --requests "$max" --duration "$secs")
  run_load token "$bpid" "${common[@]}" --request "$fx/token.req"
  run_load certificate "$bpid" "${common[@]}" --request "$fx/certificate.req"
  run_load introspect "$bpid" "${common[@]}" --request "$fx/introspect.req"
  run_load ocsp "$bpid" "${common[@]}" --request "$fx/ocsp.req"
  run_load mixed "$bpid" "${common[@]}" --request "$fx/token.req:90" \
    --request "$fx/certificate.req:10" --request "$fx/introspect.req:50"
  # More concurrency: issuance waits on syncs, so throughput grows with requests in flight.
  local wide=(--url "$url" --ca-file "$ca" --connections 64 --warmup 200 --requests "$max"
              --duration "$secs")
  run_load token-c64 "$bpid" "${wide[@]}" --request "$fx/token.req"
  run_load certificate-c64 "$bpid" "${wide[@]}" --request "$fx/certificate.req"
  # The disk meanwhile: a sync every 10 ms beside the broker's, for the tail of the p99.
  "$dir/fsync_probe" "$data" 1000000 $((open_secs + 1)) 10 > "$tmp/fsync-during.txt" &
  local probe=$!
  echo "$dir/fsync_probe \$TMP/data 1000000 $((open_secs + 1)) 10   # beside the next run" >> "$tmp/commands.txt"
  run_load token-1000rps "$bpid" --url "$url" --ca-file "$ca" --connections "$conns" \
    --warmup 200 --rate 1000 --requests "$max" --duration "$open_secs" --request "$fx/token.req" \
    --trace "$tmp/trace-1000rps.txt"
  wait "$probe" || true
  if [ "${JITB_BENCH_PERF:-1}" != 0 ] && command -v perf > /dev/null; then
    profile_tokens "${common[@]}"
  fi
  leases_at_end=$(curl -sf --cacert "$ca" "$url/metrics" | awk '/^jitbroker_leases_active/ {s += $2} END {print s + 0}')
  # Left running for http_bench_pg's alternating pairs.
  sqlite_url=$url sqlite_ca=$ca sqlite_pid=$bpid
  http_bench_pg "$secs" "$max"

  start_cfssl
  run_load cfssl-sign "$cpid" --url "$cfssl_url" --connections "$conns" --warmup 200 \
    --requests "$max" --duration "$secs" --request "$fx/cfssl-sign.req"
  run_load cfssl-sign-c64 "$cpid" --url "$cfssl_url" --connections 64 --warmup 200 \
    --requests "$max" --duration "$secs" --request "$fx/cfssl-sign.req"
  stop_servers
}

# The same broker on PostgreSQL ($pg_uri: a server on loopback with fsync on, started by
# bench/run), token and certificate issuance at 16 and 64 connections, then token runs
# alternating with the SQLite broker http_bench left running. The database's CPU is not the
# broker's: it shows in the *other CPU* column.
http_bench_pg() {
  local secs=$1 max=$2 sqlite_data=$data sqlite_fx=$fx
  data="$tmp/data-pg"
  fx="$tmp/fx-pg"
  mkdir -p "$data" "$fx"
  cp "$sqlite_fx/subject.jwt" "$fx/"
  store_yaml="store: { postgres: \"$pg_uri\" }"
  conf_suffix=-pg
  start_broker
  make_fixtures
  for c in 16 64; do
    local args=(--url "$url" --ca-file "$ca" --connections "$c" --warmup 200 --requests "$max"
                --duration "$secs")
    local tag=""
    [ "$c" = 64 ] && tag=-c64
    run_load "token-pg$tag" "$bpid" "${args[@]}" --request "$fx/token.req"
    run_load "certificate-pg$tag" "$bpid" "${args[@]}" --request "$fx/certificate.req"
  done
  # The ratio of the two stores, measured in alternating runs against both brokers: this VM's
  # speed drifts from minute to minute (steal_cores says when the hypervisor took the CPU), so
  # each pair's two runs see the same machine, where the token rows above are minutes apart.
  local k pair=(--connections 16 --warmup 200 --requests "$max" --duration "$secs")
  for k in $(seq "${JITB_BENCH_PAIRS:-$([ -n "$quick" ] && echo 1 || echo 3)}"); do
    run_load "pair$k-sqlite" "$sqlite_pid" --url "$sqlite_url" --ca-file "$sqlite_ca" \
      "${pair[@]}" --request "$sqlite_fx/token.req"
    run_load "pair$k-pg" "$bpid" --url "$url" --ca-file "$ca" "${pair[@]}" \
      --request "$fx/token.req"
  done
  stop_servers
  data=$sqlite_data
  fx=$sqlite_fx
  store_yaml=""
  conf_suffix=""
}
