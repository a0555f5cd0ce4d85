# Helpers for bench/run (sourced). Every process started here is recorded in PIDS and killed
# by `cleanup`, which bench/run installs as its EXIT trap.

PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

# stop PID: ends one process started here and waits for it.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL [SECONDS]: polls until URL answers (any status).
wait_http() {
  local i
  for ((i = 0; i < ${2:-20} * 20; i++)); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "no answer from $1" >&2
  return 1
}

# record KEY JSON: one result line for the report.
record() {
  printf '%s %s\n' "$1" "$2" >>"$RESULTS"
  printf '  %-28s %s\n' "$1" "$2" >&2
}

rss_kb() {
  awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# sample_rss PID FILE: writes the peak VmRSS (kB) of PID to FILE every 100 ms until killed.
sample_rss() {
  local peak=0 now
  while kill -0 "$1" 2>/dev/null; do
    now=$(rss_kb "$1")
    ((now > peak)) && peak=$now && echo "$peak" >"$2"
    sleep 0.1
  done
}

# start_sim PORT ARGS...: the Domo simulator, in the background.
start_sim() {
  local port=$1
  shift
  "$BIN/domo-group-sync" domo-sim --listen "127.0.0.1:$port" "$@" >"$WORK/sim-$port.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/_sim/state"
}

# write_config FILE PORT SIM_PORT STORE_URL GROUP_COMMIT WORKERS
write_config() {
  cat >"$1" <<EOF
[server]
listen = "127.0.0.1:$2"

[store]
url = "$4"
group_commit = $5

[domo]
api_base = "http://127.0.0.1:$3"
client_id = "sim-client"
client_secret = "sim-secret"
requests_per_second = 100000
max_in_flight = 256

[worker]
concurrency = $6
poll_interval_ms = 200

[[sources]]
name = "bench"
format = "canonical"
scheme = "standard-webhooks"
secrets = ["$SECRET"]

[[rules]]
when = { group = "Marketing" }
domo_groups = ["Marketing"]

[[rules]]
when = { group = "team-*" }
domo_groups = ["{group}"]
EOF
}

# start_service CONFIG PORT: starts `serve`, records the start-to-ready time, sets SVC_PID.
start_service() {
  local out
  out=$("$BIN/examples/ready" --url "http://127.0.0.1:$2/readyz" --log "$WORK/serve-$2.log" \
    -- "$BIN/domo-group-sync" serve --config "$1") || {
    cat "$WORK/serve-$2.log" >&2
    return 1
  }
  SVC_PID=$(jq -r .pid <<<"$out")
  READY_MS=$(jq -r .ready_ms <<<"$out")
  PIDS+=("$SVC_PID")
}

# load KEY URL ARGS...: one loadgen run, recorded under KEY.
load() {
  local key=$1 url=$2 out
  shift 2
  out=$("$BIN/examples/loadgen" --url "$url" --secret "$SECRET" --size 1024 --json "$@")
  record "$key" "$out"
}

# ingest_suite PREFIX CONFIG PORT SIM_PORT: the three ingest loads against a running service.
# The workers are parked first (the simulator answers after 10 min), so the figures are the
# front door alone: verification, parsing and the durable commit.
ingest_suite() {
  local prefix=$1 port=$3 sim=$4 url rss_file sampler
  url="http://127.0.0.1:$port/webhooks/bench"
  curl -sf -X PUT -H 'content-type: application/json' -d '{"latency_ms":600000}' \
    "http://127.0.0.1:$sim/_sim/faults" >/dev/null
  load "$prefix.c64" "$url" --concurrency 64 --requests "$N64"
  rss_file="$WORK/rss-$port"
  echo 0 >"$rss_file"
  sample_rss "$SVC_PID" "$rss_file" &
  sampler=$!
  load "$prefix.c256" "$url" --concurrency 256 --requests "$N256"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  record "$prefix.rss_load_kb" "$(cat "$rss_file")"
  load "$prefix.rate1000" "$url" --concurrency 64 --rate "$RATE" --requests "$NRATE"
}
