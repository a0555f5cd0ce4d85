#!/usr/bin/env python3
"""Turns bench/run's result lines (`KEY JSON`) into the markdown table of BENCHMARKS.md.

Every figure that depends on the machine is shown next to a ratio against a bound measured in
the same run: the HTTP ceiling (bare axum), the fsync bound (concurrency / fsync time) or the
apply bound (worker concurrency / Domo latency).
"""

import json
import sys

rows, verify = {}, []
for line in open(sys.argv[1], encoding="utf-8"):
    key, _, value = line.strip().partition(" ")
    value = json.loads(value)
    if key == "verify":
        verify.append(value)
    else:
        rows[key] = value

out = []
emit = out.append


def target(ok, text):
    if ok is None:
        return text
    return f"{'✅' if ok else '❌'} {text}"


def ms(x):
    return f"{x:.2f} ms"


m = rows["machine"]
emit(f"Mode: **{rows['mode']}**. Machine: {m['cpu']}, {m['cores']} cores, {m['mem']}, "
     f"Linux {m['kernel']}, data on {m['fs']}, load average at start {m['load']}.\n")

if "fsync" not in rows or "baseline.c64" not in rows:
    # A partial run (BENCH_ONLY without limits): no bounds to take ratios against.
    print("\n".join(out + [f"    {k} {json.dumps(v)}" for k, v in rows.items()]))
    sys.exit(0)
fs = rows["fsync"]
fsync_s = fs["mean_ms"] / 1000
b64, b256 = rows["baseline.c64"], rows["baseline.c256"]
bound64 = 64 / fsync_s
emit("| figure | measured | ratio | limited by | target |")
emit("|---|---|---|---|---|")
emit(f"| HTTP ceiling (bare axum 202), c=64 | {b64['rps']:.0f} req/s; p50 {ms(b64['p50_ms'])}, "
     f"p99 {ms(b64['p99_ms'])} | 1 | CPU (2 cores shared by server and load generator) | |")
emit(f"| HTTP ceiling, c=256 | {b256['rps']:.0f} req/s | 1 | CPU | |")
if "baseline.rate1000" in rows:
    br = rows["baseline.rate1000"]
    emit(f"| HTTP ceiling, fixed {br['ok'] / br['seconds']:.0f} req/s (the noise floor for p99) | "
         f"p50 {ms(br['p50_ms'])}, p99 {ms(br['p99_ms'])}, p99.9 {ms(br['p999_ms'])} | | "
         f"scheduling on a shared machine | |")
emit(f"| fsync, 1 KB append | mean {ms(fs['mean_ms'])}, p50 {ms(fs['p50_ms'])}, p99 "
     f"{ms(fs['p99_ms'])} | | the disk | |")
emit(f"| fsync bound at c=64 (64 ÷ mean fsync) | {bound64:.0f} req/s | "
     f"{bound64 / b64['rps']:.2f} of the HTTP ceiling | the disk | |")


def ingest(name, label):
    for gc in ("true", "false"):
        p = f"{name}.gc_{gc}"
        if f"{p}.c64" not in rows:
            continue
        c64, c256, r = rows[f"{p}.c64"], rows[f"{p}.c256"], rows[f"{p}.rate1000"]
        gct = "group commit" if gc == "true" else "**no** group commit"
        errs = c64["errors"] + c256["errors"] + r["errors"]
        err = f" ({errs} errors)" if errs else ""
        fsr = c64["rps"] / bound64
        emit(f"| {label}, {gct}: c=64{err} | {c64['rps']:.0f} req/s; p50 {ms(c64['p50_ms'])}, "
             f"p99 {ms(c64['p99_ms'])}, p99.9 {ms(c64['p999_ms'])} | {c64['rps'] / b64['rps']:.2f} "
             f"of ceiling, {fsr:.2f} of fsync bound | {'CPU (parse, insert, commit on one writer)' if gc == 'true' else 'one commit (fsync) per request, serialised'} "
             f"| {target(fsr >= 0.9 if gc == 'true' and name == 'sqlite' else None, '≥ 0.9 of fsync bound')} |")
        ratio = c256["rps"] / b256["rps"]
        emit(f"| {label}, {gct}: c=256 | {c256['rps']:.0f} req/s; p99 {ms(c256['p99_ms'])} | "
             f"{ratio:.2f} of ceiling | {'CPU' if gc == 'true' else 'one commit per request'} | "
             f"{target(ratio >= 0.5 if gc == 'true' and name == 'sqlite' else None, '≥ 0.5 of ceiling')} |")
        ok = r["p99_ms"] <= 20 if gc == "true" and name == "sqlite" else None
        emit(f"| {label}, {gct}: fixed {r['ok'] / r['seconds']:.0f} req/s offered | p50 "
             f"{ms(r['p50_ms'])}, p99 {ms(r['p99_ms'])}, p99.9 {ms(r['p999_ms'])} | | one commit + scheduling "
             f"| {target(ok, 'p99 ≤ 20 ms')} |")


ingest("sqlite", "SQLite ingest")
if "postgres" in rows:
    emit(f"| PostgreSQL ingest | {rows['postgres']} | | | |")
else:
    ingest("postgres", "PostgreSQL ingest")

if "sqlite.ready_ms" in rows:
    ready = rows["sqlite.ready_ms"]
    idle = rows["sqlite.rss_idle_kb"] / 1024
    load = rows["sqlite.gc_true.rss_load_kb"] / 1024
    emit(f"| start → `/readyz` 200 (SQLite) | {ready:.0f} ms | | migrations, Domo token | "
         f"{target(ready <= 200, '≤ 200 ms')} |")
    anon = rows.get("sqlite.rss_idle_anon_kb", 0) / 1024
    emit(f"| RSS idle | {idle:.1f} MB, of which {anon:.1f} MB anonymous | | the rest is the "
         f"binary's code pages (file-backed, shared, reclaimable) | {target(idle <= 20, '≤ 20 MB')} |")
    emit(f"| RSS peak under load (c=256) | {load:.1f} MB | | connections, batches | |")

ab = rows.get("apply.bound", {})
for phase, label in (("add", "cold"), ("remove", "warm")):
    a = rows.get(f"apply.{phase}")
    if not a:
        continue
    ratio = a["changes_per_s"] / ab["changes_per_s"]
    emit(f"| apply {a['changes']} changes, {label} ({ab['concurrency']} workers, "
         f"{ab['latency_ms']} ms per Domo call) | {a['changes_per_s']:.0f} changes/s | {ratio:.2f} "
         f"of bound {ab['changes_per_s']:.0f}/s | Domo latency | "
         f"{target(ratio >= 0.9 if label == 'warm' else None, '≥ 0.9 of bound' if label == 'warm' else '')} |")
    if a.get("call_ms"):
        seen = ab["concurrency"] * 1000 / a["call_ms"]
        emit(f"| Domo call time seen by the workers, {label} | {a['call_ms']:.2f} ms mean "
             f"({ab['latency_ms']} ms added) | {a['changes_per_s'] / seen:.2f} of {seen:.0f}/s, "
             f"the bound at that call time | the simulator's timer and loopback HTTP | |")
    ok = a["calls_per_change"] <= 1.05 if label == "warm" else None
    emit(f"| Domo calls per change, {label} | {a['calls_per_change']:.3f} ({a['calls']} calls) | | "
         f"| {target(ok, '≤ 1.05' if label == 'warm' else '')} |")

for prov, label in (("okta", "Okta System Log"), ("workos", "WorkOS Events API")):
    f = rows.get(f"pull.feed.{prov}")
    if not f:
        continue
    emit(f"| pulled events, {label} ({f['events']} events, {f['pages']} pages) | "
         f"{f['service_eps']:.0f} events/s | {f['ratio']:.2f} of the simulator's answer rate "
         f"({f['bare_eps']:.0f}/s: the same pages read by a bare client) | mapping, and one "
         f"commit of events + cursor per page | |")
for phase, label in (("cold", "cold (every membership new)"), ("no_drift", "no drift"),
                     ("drift", "with drift")):
    d = rows.get(f"pull.dir.{phase}")
    if not d:
        continue
    domo = d["domo_calls"]["total"]
    per = f"{domo / d['events']:.2f} Domo calls per event" if d["events"] else "no Domo call"
    emit(f"| directory pass, {d['users']} users in {d['groups']} mapped groups (Okta), {label} | "
         f"{d['listing_requests']} listing requests ({d['provider_calls']['total']} provider calls "
         f"with the event pull); {d['events']} events (+{d['add']} −{d['remove']}, "
         f"offboard {d['offboard']}); {domo} Domo calls; pass {d['pass_s']:.2f} s | {per}; pass "
         f"{d['pass_ratio']:.2f}× a bare client reading the same {d['bare_requests']} pages "
         f"({d['bare_s']:.2f} s) | pages of 200; the diff against every known user; Domo: one "
         f"call per membership change (+ a user lookup, and group creation when cold) | |")

if "peer" in rows:
    emit(f"| peer (adnanh/webhook) | {rows['peer']} | | | |")
elif "peer.c64" in rows:
    p64, p256, pr = rows["peer.c64"], rows["peer.c256"], rows["peer.rate1000"]
    ours = rows.get("sqlite.gc_true.c64")
    vs = f", ours is {ours['rps'] / p64['rps']:.2f}×" if ours else ""
    emit(f"| peer: adnanh/webhook 2.8, payload-hmac-sha256, c=64 | {p64['rps']:.0f} req/s; p50 "
         f"{ms(p64['p50_ms'])}, p99 {ms(p64['p99_ms'])} | {p64['rps'] / b64['rps']:.2f} of ceiling"
         f"{vs} | a fork+exec per hook; stores nothing | |")
    emit(f"| peer, c=256 | {p256['rps']:.0f} req/s; p99 {ms(p256['p99_ms'])} | "
         f"{p256['rps'] / b256['rps']:.2f} of ceiling | | |")
    emit(f"| peer, fixed {pr['ok'] / pr['seconds']:.0f} req/s | p99 {ms(pr['p99_ms'])} | | | |")

if verify:
    emit("\n| verify, 1 KB body | time per call | × raw HMAC-SHA256 |")
    emit("|---|---|---|")
    for v in verify:
        emit(f"| {v['case']} | {v['ns'] / 1000:.2f} µs | {v['ratio_to_raw_hmac']:.2f} |")

print("\n".join(out))
