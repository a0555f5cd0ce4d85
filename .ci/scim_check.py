"""Runs scim2-tester against SCIM_URL with the bearer SCIM_TOKEN; prints one line per check and a
summary; exits 1 when any check is ERROR or CRITICAL. Arguments, if any, are tags to include."""

import collections
import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

http = Client(
    base_url=os.environ["SCIM_URL"],
    headers={"Authorization": f"Bearer {os.environ['SCIM_TOKEN']}"},
    timeout=30,
)
tags = set(sys.argv[1:]) or None
results = check_server(SyncSCIMClient(http), include_tags=tags)
counts = collections.Counter()
for r in results:
    counts[r.status.name] += 1
    reason = (r.reason or "").replace("\n", " ")
    print(f"{r.status.name:<10} {r.resource_type or '-':<6} {r.title or '-'}: {reason}")
print("summary: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
bad = counts["ERROR"] + counts["CRITICAL"]
print(f"scim2-tester: {counts['SUCCESS']} passed, {bad} failed")
sys.exit(1 if bad else 0)
