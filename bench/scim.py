"""SCIM costs that must not grow with a group's size (issue 18), as ratios measured in one run.

Starts `serve` (the binary given as argv[1], default target/release/domo-group-sync) with a
SCIM source and its built-in Domo simulator on free 127.0.0.1 ports, fills one group with
N users (default 5,000) and a second group with one, then times, each ROUNDS times (default 200):
- GET /Groups/{big}?excludedAttributes=members  vs  GET /Groups/{big} (every member);
- a one-member PATCH add+remove on the big group  vs  the same on the small group;
- Entra's membership probe `id eq … and members eq …` on the big group  vs  on the small one.
Prints a Markdown table of medians and ratios. Bounded, local only, stops what it starts.
Usage: python3 bench/scim.py [BIN] [N] [ROUNDS]"""

import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/domo-group-sync"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 200
TOKEN = "bench-token"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Content-Type", "application/scim+json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        text = resp.read()
        return resp.status, (json.loads(text) if text else None)


def drain(port):
    """Waits (at most 5 minutes) until the workers have no queued or running job, so that the
    timings do not share the writer with the fill's own events."""
    deadline = time.time() + 300
    while time.time() < deadline:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
        busy = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("dgs_jobs{") and ('state="queued"' in line or 'state="running"' in line)
        )
        if busy == 0:
            return
        time.sleep(0.5)
    raise SystemExit("the queue did not drain in 5 minutes")


def timed(a, b):
    """Medians of `a` and `b` in ms, alternated round by round so that drift (a checkpoint, the
    workers) weighs on both alike."""
    samples = ([], [])
    for _ in range(ROUNDS):
        for fn, out in ((a, samples[0]), (b, samples[1])):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def main():
    work = tempfile.mkdtemp()
    port, sim = free_port(), free_port()
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    config = os.path.join(work, "config.toml")
    with open(config, "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{port}"
max_body_bytes = 4194304
[store]
url = "sqlite://{work}/bench.db"
[domo]
sim_listen = "127.0.0.1:{sim}"
dry_run = true
[log]
level = "warn"
[[sources]]
name = "bench"
format = "scim"
scheme = "scim"
secrets = ["{digest}"]
""")
    proc = subprocess.Popen([BIN, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/scim/bench/v2"
        for _ in range(200):
            try:
                call(base, "GET", "/ServiceProviderConfig")
                break
            except Exception:
                time.sleep(0.1)
        ids = [call(base, "POST", "/Users", {"userName": f"u{i}@bench.example"})[1]["id"] for i in range(N)]
        big = call(base, "POST", "/Groups", {"displayName": "big", "members": [{"value": i} for i in ids]})[1]["id"]
        small = call(base, "POST", "/Groups", {"displayName": "small", "members": [{"value": ids[0]}]})[1]["id"]
        probe = ids[-1]
        drain(port)

        def patch(gid):
            def run():
                call(base, "PATCH", f"/Groups/{gid}", {"Operations": [{"op": "add", "path": "members", "value": [{"value": probe}]}]})
                call(base, "PATCH", f"/Groups/{gid}", {"Operations": [{"op": "remove", "path": f'members[value eq "{probe}"]'}]})
            return run

        def member_filter(gid):
            q = urllib.parse.quote(f'id eq "{gid}" and members eq "{ids[0]}"')
            return lambda: call(base, "GET", f"/Groups?excludedAttributes=members&filter={q}")

        rows = [
            ("GET a group", *timed(lambda: call(base, "GET", f"/Groups/{big}?excludedAttributes=members"),
                                   lambda: call(base, "GET", f"/Groups/{big}")), "excludedAttributes=members", "all members"),
            ("PATCH add + remove one member", *timed(patch(big), patch(small)), f"group of {N}", "group of 1"),
            ("membership probe (filter)", *timed(member_filter(big), member_filter(small)), f"group of {N}", "group of 1"),
        ]
        print(f"| SCIM, {N} members, {ROUNDS} rounds, median ms | measured | ms | baseline | ms | ratio |")
        print("|---|---|---|---|---|---|")
        for name, a, b, what_a, what_b in rows:
            print(f"| {name} | {what_a} | {a:.2f} | {what_b} | {b:.2f} | {a / b:.2f} |")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
