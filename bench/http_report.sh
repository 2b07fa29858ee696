# Sourced by bench/run: writes the HTTP section of docs/benchmarks.md from $tmp/load.txt and
# the variables http_bench left (url, dsync_ms, profile_*, leases_at_end).

# lg SCENARIO KEY: a field of a scenario's main line.
lg() { grep "^loadgen scenario=$1 connections=" "$tmp/load.txt" | grep -o " $2=[^ ]*" | cut -d= -f2; }
lgpart() { grep "^loadgen scenario=$1 part=$2 " "$tmp/load.txt" | grep -o " $3=[^ ]*" | cut -d= -f2; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# dso PATTERN: the share of the profile's samples in the first library matching PATTERN (an awk
# regex), or nothing without a profile run.
dso() { awk -v p="$1" '$0 ~ p {print $1; exit}' "$tmp/perf-dso.txt" 2>/dev/null || true; }

scenario_row() {  # SCENARIO LABEL
  local s=$1
  echo "| $2 | $(lg "$s" mode) | $(lg "$s" connections) | $(lg "$s" requests) | $(lg "$s" errors) ($(lg "$s" error_statuses)) | $(lg "$s" throughput) | $(lg "$s" p50_ms) | $(lg "$s" p99_ms) | $(lg "$s" p999_ms) | $(lg "$s" server_cpu_cores) | $(lg "$s" server_us_per_req) | $(calc %.1f "$(lg "$s" server_peak_rss_kb) / 1024") | $(lg "$s" client_cpu_s) | $(lg "$s" other_cpu_cores) | $(lg "$s" steal_cores) |"
}

# One line per alternating pair (http_bench_pg): its number, SQLite's and PostgreSQL's req/s,
# PostgreSQL's p99, the steal over both runs, and the ratio (last, for the median).
pg_pairs() {
  local k=1
  while [ -n "$(lg "pair$k-pg" throughput)" ]; do
    echo "$k $(lg "pair$k-sqlite" throughput) $(lg "pair$k-pg" throughput) $(lg "pair$k-pg" p99_ms)" \
      "$(calc %.2f "($(lg "pair$k-sqlite" steal_cores) + $(lg "pair$k-pg" steal_cores)) / 2")" \
      "$(calc %.2f "$(lg "pair$k-pg" throughput) / $(lg "pair$k-sqlite" throughput)")"
    k=$((k + 1))
  done
}

verdict() {  # MEASURED TARGET higher|lower UNIT
  local ok
  ok=$(awk -v m="$1" -v t="$2" -v d="$3" 'BEGIN { print (d == "higher" ? m >= t : m < t) ? 1 : 0 }')
  if [ "$ok" = 1 ]; then echo "met"; return; fi
  if [ "$3" = higher ]; then
    echo "missed: $(calc %.0f "100 * $1 / $2")% of the target ($(calc %.2f "$2 / $1")× short)"
  else
    echo "missed by $(calc %.2f "$1 - $2") $4 ($(calc %.1f "$1 / $2")× the target)"
  fi
}

http_report() {
  local cert_ratio token_ratio p99
  cert_ratio=$(calc %.2f "$(lg certificate throughput) / $(lg cfssl-sign throughput)")
  token_ratio=$(calc %.2f "$(lg token throughput) / $(lg cfssl-sign throughput)")
  p99=$(lg token-1000rps p99_ms)
  echo
  echo "## HTTP: the broker against CFSSL"
  echo
  echo "A real broker (\`jitbroker serve\`, default threads: one I/O thread per core, which runs"
  echo "issuance, and 64 handler threads for routes that may block; SQLite with synchronous=FULL,"
  echo "audit log on; malloc: ${broker_malloc:-?}) in a fresh data dir, driven over loopback by \`$dir/loadgen\` (Boost.Beast,"
  echo "keep-alive, connections opened and warmed up with 200 requests before the clock starts)."
  echo "The load generator shares the two cores with the server (its CPU is a column). Each"
  echo "issuance is durably recorded as a lease (synced) and written to the audit log (synced right"
  echo "after, off the answer's path) before it is answered; at the end the broker held"
  echo "$leases_at_end active leases. Limits raised in the config so quotas never refuse."
  echo "Closed-loop rows send the next request when the previous answer arrives; the 1,000 req/s"
  echo "row is open-loop, latency counted from each request's scheduled send time (no"
  echo "coordinated omission). Latencies count 2xx answers; errors are listed by HTTP status."
  echo
  echo "The peer is CFSSL $(cfssl version 2>/dev/null | awk '/^Version/ {print $2}') (Debian's"
  echo "golang-cfssl): \`cfssl genkey -initca\` with an ECDSA P-256 CA, \`cfssl serve\` on loopback"
  echo "(plain HTTP: no TLS cost, no durable write), \`POST /api/v1/cfssl/sign\` with the same CSR"
  echo "the broker signs, a 1 h client profile, the same connection count."
  echo
  echo "| scenario | mode | connections | requests | errors | req/s | p50 ms | p99 ms | p99.9 ms | server CPU (cores) | server CPU µs/request | server peak RSS MiB | loadgen CPU s | other CPU (cores) | stolen (cores) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  scenario_row token "token exchange (POST /v1/token)"
  scenario_row certificate "certificate (POST /v1/certificates, CSR)"
  scenario_row introspect "introspection (POST /v1/introspect)"
  scenario_row ocsp "OCSP (POST /v1/ocsp)"
  scenario_row mixed "mixed: 90 token : 10 certificate : 50 introspection"
  scenario_row token-c64 "token exchange, 64 connections"
  scenario_row certificate-c64 "certificate, 64 connections"
  scenario_row token-1000rps "token exchange at 1,000 req/s"
  scenario_row token-pg "token exchange, **PostgreSQL** store"
  scenario_row certificate-pg "certificate, **PostgreSQL** store"
  scenario_row token-pg-c64 "token exchange, PostgreSQL store, 64 connections"
  scenario_row certificate-pg-c64 "certificate, PostgreSQL store, 64 connections"
  scenario_row cfssl-sign "**CFSSL** sign (POST /api/v1/cfssl/sign)"
  scenario_row cfssl-sign-c64 "**CFSSL** sign, 64 connections"
  echo
  echo "Mixed run by kind: token $(lgpart mixed token throughput) req/s (p99 $(lgpart mixed token p99_ms) ms),"
  echo "certificate $(lgpart mixed certificate throughput) req/s (p99 $(lgpart mixed certificate p99_ms) ms),"
  echo "introspection $(lgpart mixed introspect throughput) req/s (p99 $(lgpart mixed introspect p99_ms) ms)."
  echo "Server CPU is utime+stime from /proc/PID/stat over the run (warm-up included in µs/request);"
  echo "peak RSS is VmHWM, reset through /proc/PID/clear_refs before each scenario. *Other CPU* is"
  echo "what the rest of the machine used meanwhile; *stolen* is the time the hypervisor ran"
  echo "something else on our cores (/proc/stat's steal), which slows everything above unevenly."
  echo "The raw ceiling of one P-256 signature is"
  echo "$p256_speed sign/s per core (\`openssl speed ecdsap256\`, above)."
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| certificates: jitbroker ÷ CFSSL ≥ 1.5× | $cert_ratio× | $(verdict "$cert_ratio" 1.5 higher) |"
  echo "| tokens: jitbroker token exchange ÷ CFSSL sign ≥ 2× | $token_ratio× | $(verdict "$token_ratio" 2 higher) |"
  echo "| token p99 at 1,000 req/s < 5 ms | $p99 ms | $(verdict "$p99" 5 lower ms) |"
  local pg_ratio pairs
  pairs=$(pg_pairs)
  pg_ratio=$(awk '{print $NF}' <<< "$pairs" | sort -n | awk '{r[NR] = $1} END {print r[int((NR + 1) / 2)]}')
  echo "| tokens on PostgreSQL ÷ on SQLite ≥ 0.6 (16 connections; the database shares the 2 cores; median of the alternating pairs below) | $pg_ratio× | $(verdict "$pg_ratio" 0.6 higher) |"
  echo
  echo "The two stores' token rates, in alternating 16-connection runs against both brokers (each"
  echo "pair's runs back to back; the rows of the table above are minutes apart, and this VM's speed"
  echo "drifts in between):"
  echo
  echo "| pair | SQLite req/s | PostgreSQL req/s | PostgreSQL p99 ms | stolen (cores) | PostgreSQL ÷ SQLite |"
  echo "|---|---|---|---|---|---|"
  awk '{printf "| %s | %s | %s | %s | %s | %s× |\n", $1, $2, $3, $4, $5, $6}' <<< "$pairs"
  echo
  echo "At 64 connections: certificates $(calc %.2f "$(lg certificate-c64 throughput) / $(lg cfssl-sign-c64 throughput)")×,"
  echo "tokens $(calc %.2f "$(lg token-c64 throughput) / $(lg cfssl-sign-c64 throughput)")× CFSSL at 64 connections."
  echo
  echo "Commands (\$TMP is the run's scratch folder; the broker's URL is on a free port):"
  echo
  echo '```'
  echo "$dir/jitbroker serve --config \$TMP/broker.yaml"
  echo "JITB_PG_DURABLE=1 scripts/pg start \$TMP/pg   # then, with store: {postgres: URI} added:"
  echo "$dir/jitbroker serve --config \$TMP/broker-pg.yaml"
  sed 's|https://127.0.0.1:[0-9]*|$URL|; s|http://127.0.0.1:[0-9]*|$CFSSL_URL|' "$tmp/commands.txt"
  echo "cfssl serve -address 127.0.0.1 -port \$PORT -ca ca.pem -ca-key ca-key.pem -config config.json"
  echo '```'
  echo
  echo "Request templates (bench/loadgen.cc explains the \`{{...}}\` placeholders):"
  echo
  echo '```'
  for r in token certificate introspect ocsp cfssl-sign; do
    echo "== $r.req"
    cat "$fx/$r.req"
    echo
  done
  echo '```'
  http_profile_text
  http_analysis
}

http_profile_text() {
  echo
  echo "### Where the time goes"
  echo
  local f="$tmp/fsync.txt"
  echo "One 4 KiB append plus fdatasync in the data dir (\`fsync_probe\`, before the scenarios):"
  echo "p50 $(grep -o 'p50_ms=[0-9.]*' "$f" | cut -d= -f2) ms, p99 $(grep -o 'p99_ms=[0-9.]*' "$f" | cut -d= -f2) ms, max $(grep -o 'max_ms=[0-9.]*' "$f" | cut -d= -f2) ms."
  if [ -n "${profile_requests:-}" ]; then
    echo "In an unmeasured token run under \`perf\` (same connections,"
    echo "$profile_requests requests), the broker made $profile_fsyncs fdatasync calls:"
    echo "$(calc %.2f "$profile_fsyncs / $profile_requests") per request. CPU by library and the"
    echo "hottest symbols (\`perf record -F 499 -p PID\`, \`perf report --no-children --sort dso\`):"
    echo
    echo '```'
    cat "$tmp/perf-dso.txt"
    echo
    cat "$tmp/perf-sym.txt"
    echo '```'
  fi
}

# What each throughput target leaves the broker per request: two cores' CPU at the target's
# rate, less what the load generator spent per request, against what the broker spent.
# Args: the broker's µs per token and per certificate, its cores and the load generator's in
# the token run.
http_budget() {
  local tok_us=$1 cert_us=$2 cores=$3 client=$4
  local cf tok_rps cert_rps lg_tok lg_cert tok_left cert_left sign_us=? verify_us=?
  cf=$(lg cfssl-sign throughput)
  tok_rps=$(calc %.0f "2 * $cf")
  cert_rps=$(calc %.0f "1.5 * $cf")
  lg_tok=$(calc %.0f "1e6 * $(lg token client_cpu_s) / $(lg token requests)")
  lg_cert=$(calc %.0f "1e6 * $(lg certificate client_cpu_s) / $(lg certificate requests)")
  tok_left=$(calc %.0f "2e6 / $tok_rps - $lg_tok")
  cert_left=$(calc %.0f "2e6 / $cert_rps - $lg_cert")
  [ -n "${p256_speed:-}" ] && sign_us=$(calc %.0f "1e6 / $p256_speed")
  [ -n "${p256_verify:-}" ] && verify_us=$(calc %.0f "1e6 / $p256_verify")
  echo "- **What the targets leave per request.** Twice CFSSL's $cf signatures/s is $tok_rps tokens/s:"
  echo "  two cores fully used give $(calc %.0f "2e6 / $tok_rps") µs of CPU per token, the load generator"
  echo "  spent $lg_tok µs of it, leaving the broker $tok_left µs against the $tok_us µs it spent:"
  if awk -v a="$tok_us" -v b="$tok_left" 'BEGIN { exit !(a > b) }'; then
    echo "  $(calc %.0f "100 * ($tok_us - $tok_left) / $tok_us")% to cut, with no idle CPU at all."
  elif awk -v a="$(lg token throughput)" -v b="$tok_rps" 'BEGIN { exit !(a < b) }'; then
    echo "  the CPU per token fits, so at 16 connections the target is missed on idle CPU (the"
    echo "  broker and the load generator used $cores and $client of the 2 cores), not on cost."
  else
    echo "  the CPU per token fits, and the target is met."
  fi
  echo "  One ES256 signature is $sign_us µs (\`openssl speed\` above). 1.5× CFSSL is $cert_rps certificates/s:"
  echo "  $cert_left µs for the broker (load generator $lg_cert µs) against $cert_us µs spent. A"
  echo "  certificate costs what a token costs plus one ECDSA verify of the CSR, $verify_us µs in"
  echo "  \`openssl speed\`: $(calc %.0f "$tok_us + $verify_us") µs on today's token path, so this target needs"
  echo "  the whole issuance path well under what a token costs now."
}

# The reading of the figures above: what bounds each missed target and the next lever. The
# reasoning is fixed text; every number in it comes from this run.
http_analysis() {
  local tok_us cert_us cf_us kern libc alloc crypto d99 dmax cores client bound worst
  tok_us=$(lg token server_us_per_req)
  cert_us=$(lg certificate server_us_per_req)
  cf_us=$(lg cfssl-sign server_us_per_req)
  kern=$(dso kernel)
  libc=$(dso 'libc\\.so')
  alloc=$(dso 'libjemalloc|libtcmalloc')
  crypto=$(dso libcrypto)
  d99=$(grep -o 'p99_ms=[0-9.]*' "$tmp/fsync-during.txt" | cut -d= -f2)
  dmax=$(grep -o 'max_ms=[0-9.]*' "$tmp/fsync-during.txt" | cut -d= -f2)
  cores=$(lg token server_cpu_cores)
  client=$(calc %.2f "$(lg token client_cpu_s) / $(lg token seconds)")
  # Server plus load generator near both cores: CPU-bound; well below: waiting on syncs.
  local other
  other=$(lg token other_cpu_cores)
  bound=$(awk -v s="$cores" -v c="$client" -v o="$other" \
    'BEGIN { print (s + c >= 1.7) ? "cpu" : (s + c + o >= 1.7) ? "shared" : "disk" }')
  # The half second of the 1,000 req/s run with the worst latency, from loadgen --trace.
  worst=$(awk '{b = int($1 / 500); if ($2 > m[b]) m[b] = $2; s[b] += $2; n[b]++}
    END {for (k in m) if (m[k] > best) {best = m[k]; at = k}
         printf "%.1f-%.1f s: mean %.1f ms, max %.1f ms", at / 2, at / 2 + 0.5, s[at] / n[at], best}' \
    "$tmp/trace-1000rps.txt")
  echo
  echo "### Reading the figures"
  echo
  if [ "$bound" = cpu ]; then
    echo "- **Token exchange at 16 connections is CPU-bound.** The broker used $cores cores and the"
    echo "  load generator $client of the 2; group commit shares each sync among the requests"
    echo "  waiting (${profile_fsyncs:-?} fdatasync calls for ${profile_requests:-?} tokens in the profile run)."
  elif [ "$bound" = shared ]; then
    echo "- **Token exchange at 16 connections ran out of CPU shared with other work.** The broker"
    echo "  used $cores cores, the load generator $client and the rest of the machine $other of the 2;"
    echo "  this row is lower than on an idle machine. Group commit shares each sync among the"
    echo "  requests waiting (${profile_fsyncs:-?} fdatasync calls for ${profile_requests:-?} tokens in the profile run)."
  else
    echo "- **Token exchange at 16 connections leaves CPU idle.** The broker used only $cores of 2"
    echo "  cores (load generator $client): each issuance waits for the lease's SQLite commit (WAL,"
    echo "  synchronous=FULL). One writer thread commits back to back, each commit a group of"
    echo "  whatever waits (${profile_fsyncs:-?} fdatasync calls for ${profile_requests:-?} tokens in the profile run,"
    echo "  the audit log's few included), so with 16 requests in flight each waits one to two"
    echo "  commits while the cores run short of work; with 64 in flight the same broker did"
    echo "  $(lg token-c64 throughput) tokens/s."
  fi
  echo "  CFSSL writes nothing durable and answers in plain HTTP, so its CPU is all signing and JSON."
  echo "- **CPU per request.** The broker spent $tok_us µs per token and $cert_us µs per certificate,"
  echo "  CFSSL $cf_us µs per signature: with nothing else on the machine two cores would cap tokens"
  echo "  near $(calc %.0f "2e6 / $tok_us")/s and certificates near $(calc %.0f "2e6 / $cert_us")/s, CFSSL near $(calc %.0f "2e6 / $cf_us")/s. In the profile the kernel took ${kern:-?}"
  echo "  (syncs, thread hand-offs, loopback TLS records), libcrypto ${crypto:-?} (signatures, TLS),"
  echo "  libc ${libc:-?} and the allocator (${broker_malloc:-?}) ${alloc:-its share in libc}."
  http_budget "$tok_us" "$cert_us" "$cores" "$client"
  echo "- **The p99 at 1,000 req/s follows the disk's tail.** p50 was $(lg token-1000rps p50_ms) ms. A 4 KiB"
  echo "  fdatasync probed every 10 ms beside that run took up to $dmax ms (p99 $d99 ms), and a token"
  echo "  waits for the lease's sync; while one stalls, requests keep arriving on schedule and queue. The"
  echo "  worst half second ($worst) is such a stall. The rest of the machine used"
  echo "  $(lg token-1000rps other_cpu_cores) cores during that run (other engineers' builds can share this disk and CPU)."
  echo
  echo "How an issuance runs now: on the I/O thread that read it (a request that may wait on the"
  echo "network, an issuer's keys or a ticket source, moves to the handler pool), up to the lease"
  echo "insert and the audit append, which complete by callback; the later of the two answers."
  echo "No thread waits for a sync. The audit records of an issuance count once written; the"
  echo "log's own thread syncs them within 10 ms, and after a power loss the store restores any"
  echo "the log lost (docs/operations.md). On 2026-12-02 that took the token p50 and p99 at"
  echo "1,000 req/s from 2.3-2.6 and 5.3-6.5 ms to 1.0-1.25 and 2.5-3.8 ms (quick runs, same"
  echo "machine): a request no longer waits for the slower of two syncs. Token ids (\`jti\`) and certificate serials start with the"
  echo "issuance time in milliseconds (then 80 and 72 random bits), like the lease ids: a group"
  echo "commit of N leases used to dirty one random page of the jti or serial index per lease,"
  echo "and now appends at one end. On 2026-12-02 that cut the store's commit from about 1.5 ms"
  echo "to 0.5-1.1 ms at 64 connections and raised tokens by 10-20% (A/B on the same machine)."
  echo
  echo "Later the same day, four changes cut what each token costs the kernel, which a profile"
  echo "had put at half the broker's CPU on this VM (a system call costs about 1 µs here before"
  echo "it does anything, and waking a thread on the other core about 13 µs):"
  echo "- the audit log's issuance records are synced at most every 10 ms instead of once per"
  echo "  written batch (the log synced three times as often as the store, and one fdatasync"
  echo "  costs about 160 µs of CPU here): 260-296 → 237-257 µs of broker CPU per token;"
  echo "- the thread that appends an audit record writes the queue itself when no write is under"
  echo "  way, instead of waking a writer thread per batch (7% of the samples); the writer thread"
  echo "  takes over after a few rounds and for rotations;"
  echo "- a SQLite VFS gathers a commit's WAL frames into one write at the sync: 5 pwrite calls"
  echo "  per token became 0.44, 19 system calls per token 14;"
  echo "- random bytes for ids come from a per-thread pool of OpenSSL DRBG output (RAND_bytes"
  echo "  took 3.6% of the samples), and audit records are written out without an extra JSON"
  echo "  object each."
  echo "Together, in quick runs on the same machine: tokens at 16 connections from 4,600-5,000 to"
  echo "5,850-6,460 req/s when the VM was in its faster state (the same build measured 3,870-5,570"
  echo "in one series), and the kernel's share of the broker's samples from 47% to 34%."
  echo
  echo "The figures above those lines were measured on an AMD EPYC VM. Later that day the"
  echo "project ran on another machine of the same kind (2 cores, an Intel Xeon VM), idle but for"
  echo "this work; the A/B figures from here on are from it, old build against new. Two more"
  echo "changes. The decision's basis (about 2 KB of JSON a token, kept by the audit log and now also"
  echo "returned with a denial, as docs/api.md#errors says) is written once as JSON text instead of"
  echo "built as an object and serialized (4.2% and 1.5% of a token's CPU in the profile), and"
  echo "SHA-256 is fetched once instead of looked up under a lock on every call (1%). A/B,"
  echo "alternating runs: tokens 9,885-11,337 → 10,345-12,197 req/s (higher in 7 of 7 pairs),"
  echo "broker CPU per token 126-135 → 112-121 µs; certificates 244-246 → 235-237 µs, throughput"
  echo "within noise."
  echo
  echo "Then jemalloc. Where the broker's threads slept (\`perf record -e sched:sched_switch\` with"
  echo "call graphs, 4 s of tokens): 4,066 times in glibc's malloc arena lock, 3,458 of them the"
  echo "store's writer thread freeing what the I/O threads had allocated (each lease's strings, the"
  echo "batch's callbacks), which takes the allocating thread's arena lock. With Debian's jemalloc"
  echo "preloaded, alternating runs: tokens 10,955-11,676 → 12,819-12,833 req/s at 16 connections"
  echo "and 13,519-13,732 → 15,242-15,601 at 64, broker CPU per token 112-121 → 94-101 µs;"
  echo "certificates 5,872-6,104 → 6,416-6,564 (235-240 → 217-219 µs). tcmalloc measured the"
  echo "same. \`jitbroker\` now links jemalloc (\`libjemalloc-dev\`; sanitizer builds keep"
  echo "their own malloc), and a test checks that libstdc++'s and libcrypto's malloc bind to it."
  echo
  echo "The run at the top of this page is on an AMD EPYC VM again (2026-12-02 afternoon). Its disk"
  echo "syncs more slowly (\`fsync_probe\` p50 0.32 ms against 0.165 ms on the Intel VM) and entering"
  echo "its kernel costs more (a paravirtualised guest: \`pvm_irq_enable\` alone took 18.7% of the"
  echo "broker's samples in a token run), so the same build makes fewer tokens per second at more CPU"
  echo "each (150-220 µs against 94-105 µs in quick runs). In a certificate run's profile the"
  echo "fdatasync calls themselves (writing the pages, notifying the virtual disk) were 10% of the"
  echo "broker's CPU. Per thread in two token runs (5 s of /proc/PID/task/*/schedstat at 4,400-6,500"
  echo "tokens/s): the two I/O threads used 0.37-0.39 cores each, the store's writer 0.21-0.29 (45-49"
  echo "µs per token, about half of it the fdatasync's own CPU in the profile) and the audit log's"
  echo "syncer 0.02-0.03. No thread is saturated: the writer, counting its waits for the disk (about"
  echo "1,100 syncs a second of 0.33 ms, their CPU included), is occupied about half the time, and the"
  echo "rest is threads waiting on one another. (This VM's per-thread tick counts in"
  echo "/proc/PID/task/*/stat added up to half again the process's own; schedstat's run times add up.)"
  echo
  echo "Levers measured by A/B and rejected (alternating runs of the same build; these VMs vary ±15%"
  echo "from run to run, the AMD one of the afternoon more, so a lever must beat that to count):"
  echo "- no audit fdatasync at all (for measurement only): -10% to +13% closed-loop, noise, in"
  echo "  two sessions and after the index change (the latency it bought at 1,000 req/s is now"
  echo "  had by syncing after the answer, above);"
  echo "- no WAL auto-checkpoint (\`wal_autocheckpoint=0\`, for measurement only): noise;"
  echo "- holding a group commit open 0.5-1 ms: fdatasync calls per token fell from 0.53 to"
  echo "  0.16-0.22, throughput fell;"
  echo "- 3 or 4 I/O threads instead of 2: noise. (jemalloc and tcmalloc also measured as noise"
  echo "  there, on the busy AMD VM; on the Intel one they are not, above.)"
  echo "- 1 I/O thread instead of 2 (\`threads: 1\`, AMD VM, alternating 6 s runs): tokens at 16"
  echo "  connections higher in 5 of 6 pairs (4,908-7,550 against 4,161-7,123 req/s) at less CPU per"
  echo "  token, but certificates at 64 connections fell by a third (3,363-3,618 against 5,118-5,332):"
  echo "  one thread saturates. Fewer threads waking one another helps a light request and caps a"
  echo "  heavy one; the default stays one I/O thread per core."
  echo "- no WAL fdatasync at all (for measurement only: not durable): tokens +5-10% at 16"
  echo "  connections on the Intel VM, with glibc's malloc (per thread, the two I/O threads used"
  echo "  0.55-0.64 cores each, the store's writer 0.33 and the load generator 0.18); on the AMD VM"
  echo "  (above) tokens +18-35% and certificates +17-27%: the bound on what any change to the sync"
  echo "  could win;"
  echo "- a pipelined commit (built in e4a423a, reverted in 070442e): the writer committed the next"
  echo "  group while a second thread fdatasynced the WAL through its own descriptor, each answer"
  echo "  still after a sync begun after its commit. Alternating runs on the AMD VM: 5,242-8,136"
  echo "  tokens/s without it against 4,361-6,964 with it at 16 connections, 6,687-9,496 against"
  echo "  6,211-7,301 at 64. Under strace the writer made 2,523 commits for 1,246 syncs: a writer"
  echo "  that no longer waits for the sync commits smaller groups, each with its own BEGIN, COMMIT,"
  echo "  locks and hand-off, and a token still waits for one whole sync begun after its commit."
  echo
  echo "What remains is spread thin. A perf profile with call graphs of the token run on the"
  echo "Intel VM (2026-12-02, before the basis change and jemalloc), as shares of the broker's CPU: the"
  echo "ES256 signature 17% (about 22 µs, \`openssl speed\`'s rate), the store's writer thread 22%"
  echo "(SQLite's insert into seven b-trees, the WAL write, and fdatasync 8.6%), sending the answer"
  echo "(TLS record and sendmsg) 10%, the audit append 7.5%, the policy's evaluation 5%, the"
  echo "caller's token (a cache hit) 2.7%, the access log 2.4%; the kernel's 30% is spread over"
  echo "all of them (syncs, thread hand-offs, loopback TCP), and malloc and free are about 8% as"
  echo "leaves. In the certificate run, the CSR's ECDSA verify is 28% (about 60 µs, as in"
  echo "\`openssl speed\`), the certificate's signature 8%."
  echo
  echo "Next levers, largest first:"
  echo "- tokens at 16 connections wait on the store's syncs while CPU idles, on average about one"
  echo "  and a half syncs each (the one under way, then their own). Starting a sync as soon as a"
  echo "  group is written, while another is still under way, would cut that to about one at the"
  echo "  cost of more syncs, each with its CPU (above); not built, as the pipelined commit showed"
  echo "  how quickly extra commits and hand-offs eat such a gain;"
  echo "- fewer pages per commit, which shortens each commit: a token's lease row touches the"
  echo "  table, its id index and several more, seven WAL pages for a commit of one lease; a WITHOUT"
  echo "  ROWID lease table and one ticket index instead of two would drop two of those b-trees (a"
  echo "  schema migration);"
  echo "- allocation: with jemalloc the allocator is ${alloc:-?} of the profile, spread over request"
  echo "  parsing, the policy's decision, JSON and Beast's buffers; a per-request arena"
  echo "  (\`std::pmr\`) for the decision and the response would take part of it;"
  echo "- certificates: the CSR's verify costs 61 µs in process against 67 µs in \`openssl speed\`, so"
  echo "  only its key setup can go (an \`EC_KEY\` on a shared group measured 54 µs, through a"
  echo "  deprecated API). Beyond that, certificates would need a cheaper signature check than"
  echo "  OpenSSL's, which this project will not write."
  echo
  echo "**On PostgreSQL** (2026-12-03) a token's lease goes in a group that the store's insert worker"
  echo "writes while the previous group commits (~7 leases a group at 16 connections). With the audit"
  echo "chain in the store, a group took six round trips: BEGIN, \`insert_leases\`, lock the chain's"
  echo "head, insert the records, move the head, COMMIT. Three changes, each in the figures of"
  echo "\`pg_stat_statements\` and \`perf\` of a token run:"
  echo "- the replica keeps the chain's head its own commits left, chains a group's records before"
  echo "  sending them, and sends the group as one statement, which checks the head under its lock"
  echo "  (migration 0015; a moved head or a refused lease sends the group the locked way);"
  echo "- array parameters go in PostgreSQL's binary format: \`array_in\` had taken a tenth of the"
  echo "  server's CPU and quoting the arrays was the broker's top own symbol;"
  echo "- \`insert_leases\`' count update is planned once instead of on every call (a tenth of the"
  echo "  call), and audit records compress with lz4 instead of pglz (8% of the server's CPU)."
  echo "  A durable server, 8 s token runs against SQLite and PostgreSQL back to back: PostgreSQL ÷"
  echo "  SQLite 0.46-0.60 (median 0.50, 5 runs) before, 0.35-0.82 (median 0.68, 12 runs) after;"
  echo "  the slow runs were those with CPU stolen by the hypervisor (1.5-2.2 s in 8 s) where it"
  echo "  was recorded. PostgreSQL's CPU per token (its backends' utime+stime) 168-171 → 135 µs."
  echo
  echo "Revoking one ticket's 100,000 leases on PostgreSQL: the end statement itself took 770-843 ms"
  echo "in the server's log at 22:10 (0.63-0.73 s in psql earlier that day); the broker's part after"
  echo "it (commit, 100,000 rows over the wire, the lease manager) is about 125 ms. The statement's"
  echo "transactions raise \`work_mem\` for themselves (it spilled 16 MB to temporary files), and"
  echo "a revocation by ticket or by ids finds its leases by index instead of joining with every"
  echo "active lease (with 2,000,000 ended leases of other tickets in the table: 1.1-1.3 → 0.6 s)."
  echo "That left 0.98-1.07 s in the day's runs, about 3 µs a lease of it to rewrite the lease's"
  echo "wide row (93% of the updates HOT). Since migration 0016 an end is a narrow row of"
  echo "\`lease_ends\`, and \`lease_active\` carries what an end returns (kind, jti, serial), so the"
  echo "end statement reads and writes nothing of \`leases\`; reads see a lease through the view"
  echo "\`lease_rows\`. The statement for 100,000 leases in psql on the durable server: 780-860 ms"
  echo "before, 420-480 ms after (EXPLAIN: 95 ms to delete the active rows, 186 ms to insert the"
  echo "ends, most of it the key's index, 79 ms the end trigger). The restart now reads the active"
  echo "leases by merging \`lease_active\` with \`leases\` from the page's first id (3 ms a page of"
  echo "5,000)."
}
