# The pull benchmark (sourced by bench/run, `BENCH_ONLY=pull`): needs lib.sh's helpers, $BIN,
# $WORK, $RESULTS, and PULL_EVENTS, PULL_USERS, PULL_GROUPS, APPLY_WORKERS.
#
# 1. Pulled events per second, Okta and WorkOS: `examples/pull --mode feed` fills the provider
#    simulator with PULL_EVENTS membership events, reads them with a bare client (the
#    connector's requests, each page parsed), then has the service pull them (mapped, committed
#    page by page with the cursor), then the bare client again. The Domo simulator is parked
#    (10 min per call) so the workers do not share the writer with the pull.
# 2. A directory pass over PULL_USERS users in PULL_GROUPS mapped groups (the Okta simulator's
#    generated org; every group mapped to a Domo group of its name): cold, without drift, and
#    with a drift made silently at Okta; the provider's and Domo's calls of each.

PULL_TOKEN=bench-pull-token

# pull_config FILE PORT DOMO_PORT STORE_URL SOURCES: a service with pulling sources.
pull_config() {
  cat >"$1" <<EOF2
[server]
listen = "127.0.0.1:$2"

[store]
url = "$4"

[domo]
api_base = "http://127.0.0.1:$3"
client_id = "sim-client"
client_secret = "sim-secret"
requests_per_second = 100000
max_in_flight = 256

[worker]
concurrency = $APPLY_WORKERS
poll_interval_ms = 200

[reconcile]
max_removals = 1000000
max_removal_share = 1.0

[[rules]]
when = { group = "Group *" }
domo_groups = ["{group}"]

[[api.tokens]]
name = "bench"
sha256 = "$(printf %s "$PULL_TOKEN" | sha256sum | cut -d' ' -f1)"
scopes = ["read", "write", "admin"]

$5
EOF2
}

# pull_source NAME FORMAT BASE TOKEN: a pull-only source, pulled only on request.
pull_source() {
  printf '[[sources]]\nname = "%s"\nformat = "%s"\nscheme = "none"\n[sources.pull]\napi_base = "%s"\ntoken = "%s"\ninterval_secs = 0\ndirectory_interval_secs = 0\nbudget_share = 1.0\n\n' "$@"
}

# start_provider NAME PORT ARGS...: an IdP simulator subcommand, in the background (the Okta
# simulator generates 10,000 users in about 20 s on the debug build: up to 5 minutes allowed).
start_provider() {
  local name=$1 port=$2
  shift 2
  "$BIN/domo-group-sync" "$name" --listen "127.0.0.1:$port" "$@" >"$WORK/$name-$port.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/_sim/state" 300
}

pull_suite() {
  local okta workos sim port cfg line
  okta=$(free_port) workos=$(free_port) sim=$(free_port) port=$(free_port) cfg="$WORK/pull.toml"
  start_provider okta-sim "$okta" --logs-rate-limit 0 --rate-limit 0 --visibility-delay-ms 0
  start_provider workos-sim "$workos" --rate-limit 0 --visibility-delay-ms 0
  start_sim "$sim"
  pull_config "$cfg" "$port" "$sim" "sqlite://$WORK/pull-feed" \
    "$(pull_source okta okta "http://127.0.0.1:$okta" sim-okta-token)
$(pull_source workos workos "http://127.0.0.1:$workos" sk_test_sim)"
  start_service "$cfg" "$port"
  curl -sf -X PUT -H 'content-type: application/json' -d '{"latency_ms":600000}' \
    "http://127.0.0.1:$sim/_sim/faults" >/dev/null
  record pull.feed.okta "$("$BIN/examples/pull" --mode feed --provider okta --events "$PULL_EVENTS" \
    --service "http://127.0.0.1:$port" --token "$PULL_TOKEN" --sim "http://127.0.0.1:$okta" \
    --key sim-okta-token)"
  record pull.feed.workos "$("$BIN/examples/pull" --mode feed --provider workos --events "$PULL_EVENTS" \
    --service "http://127.0.0.1:$port" --token "$PULL_TOKEN" --sim "http://127.0.0.1:$workos" \
    --key sk_test_sim)"
  cleanup

  okta=$(free_port) sim=$(free_port) port=$(free_port) cfg="$WORK/pull-dir.toml"
  start_provider okta-sim "$okta" --logs-rate-limit 0 --rate-limit 0 --visibility-delay-ms 0 \
    --generate-users "$PULL_USERS" --generate-groups "$PULL_GROUPS"
  start_sim "$sim" --generate-users "$PULL_USERS"
  pull_config "$cfg" "$port" "$sim" "sqlite://$WORK/pull-dir" \
    "$(pull_source okta okta "http://127.0.0.1:$okta" sim-okta-token)"
  start_service "$cfg" "$port"
  while IFS= read -r line; do
    [[ $line == '{'* ]] && record "pull.dir.$(jq -r .phase <<<"$line")" "$line"
  done < <("$BIN/examples/pull" --mode directory --users "$PULL_USERS" --groups "$PULL_GROUPS" \
    --service "http://127.0.0.1:$port" --token "$PULL_TOKEN" --sim "http://127.0.0.1:$okta" \
    --domo "http://127.0.0.1:$sim")
  cleanup
}
