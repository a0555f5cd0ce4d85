#!/usr/bin/env python3
"""The console's page time with many stored events: server time per console Events page
against `GET /api/v1/events` of the same page (same filter, same cursor), measured in the
same run, as a ratio. The store is filled directly (one SQLite transaction of done events,
after the service has created the schema), so the figure is about reading, not ingest.

    .venv/bin/python bench/console_pages.py --events 100000 --requests 40

Prints a Markdown table (the BENCHMARKS.md figure) and exits non-zero only on an error.
"""

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
from http.cookiejar import CookieJar

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "browser"))
from service import ADMIN_TOKEN, Service  # noqa: E402


def seed(db, n):
    """`n` done events over 50 users and three types, received over the last 30 days."""
    now = int(time.time() * 1000)
    types = ["user.onboarded", "user.updated", "group.member_added"]
    con = sqlite3.connect(db)
    rows = []
    for i in range(n):
        email = f"user{i % 50}@example.com"
        kind = types[i % 3]
        at = now - (n - i) * 25_000
        payload = json.dumps({"id": f"bench_{i}", "type": kind, "occurred_at": "2026-12-01T00:00:00Z",
                              "user": {"email": email}, "groups": ["Marketing"]})
        rows.append(("hr", f"bench_{i}", kind, f"user:{email}", email, at * 1000, at, payload,
                     "done", 1, at, at))
    con.executemany("INSERT INTO events (source, event_id, event_type, job_key, user_key, occurred_at, "
                    "received_ms, payload, status, attempts, run_at_ms, updated_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def opener_signed_in(base):
    jar = CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = op.open(f"{base}/console/sign-in").read().decode()
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    data = urllib.parse.urlencode({"token": ADMIN_TOKEN, "csrf": csrf, "next": "/console"}).encode()
    req = urllib.request.Request(f"{base}/console/sign-in", data=data, headers={"Origin": base})
    op.open(req).read()
    return op


def timed(fetch, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fetch()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), sorted(times)[int(len(times) * 0.9) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=40)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        s = Service(d)
        try:
            s.stop_service()
            seed(s.db, a.events)
            s.start()
            base = f"http://127.0.0.1:{s.port}"
            op = opener_signed_in(base)
            api = lambda q: urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/v1/events?{q}", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})).read()
            # A deep page: follow the cursor 20 pages in.
            cursor = ""
            for _ in range(20):
                cursor = json.loads(api(f"limit=50&cursor={cursor}"))["next_cursor"]
            cases = [
                ("first page, no filter", "", "limit=50"),
                ("page 21 (cursor)", f"cursor={cursor}", f"limit=50&cursor={cursor}"),
                ("one user, last 7 days", "email=user7%40example.com&since=7d",
                 f"limit=50&email=user7%40example.com&received_after="
                 f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 7 * 86400))}"),
            ]
            print(f"\n{a.events} stored events, {a.requests} requests per figure (median, p90 ms; debug build)\n")
            print("| page | console | API | ratio (median) |")
            print("|---|---|---|---|")
            for name, cq, aq in cases:
                page = op.open(f"{base}/console/events?{cq}").read().decode()
                assert page.count('<td><a href="/console/events/') == 50, name
                for _ in range(3):  # warm up
                    op.open(f"{base}/console/events?{cq}").read()
                    api(aq)
                c_med, c_p90 = timed(lambda: op.open(f"{base}/console/events?{cq}").read(), a.requests)
                a_med, a_p90 = timed(lambda: api(aq), a.requests)
                print(f"| {name} | {c_med:.1f} / {c_p90:.1f} | {a_med:.1f} / {a_p90:.1f} | {c_med / a_med:.2f} |")
        finally:
            s.stop()


if __name__ == "__main__":
    main()
