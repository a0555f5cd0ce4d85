"""Starting the real service and the Domo simulator for the browser suite: the debug binary,
a private SQLite file, free ports on 127.0.0.1, and a config with an admin and a read-only
token. Everything stops when the suite ends."""

import hashlib
import json
import os
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("DGS_BIN", os.path.join(TARGET, "debug", "domo-group-sync"))

ADMIN_TOKEN = "dgs-browser-admin-token-0123456789"
VIEWER_TOKEN = "dgs-browser-viewer-token-0123456789"
SOURCE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, limit=30.0):
    deadline = time.time() + limit
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.time() > deadline:
            raise RuntimeError(f"{url} did not answer within {limit} s")
        time.sleep(0.1)


def http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def config(port, sim_port, db, extra=""):
    sha = lambda t: hashlib.sha256(t.encode()).hexdigest()
    return f"""
[server]
listen = "127.0.0.1:{port}"

[store]
url = "sqlite://{db}"

[domo]
api_base = "http://127.0.0.1:{sim_port}"
client_id = "sim-client"
client_secret = "sim-secret"
user_wait_secs = 1
requests_per_second = 500

[worker]
backoff_base_ms = 50
backoff_max_secs = 1
poll_interval_ms = 50

[reconcile]
max_removals = 0

[[sources]]
name = "hr"
format = "canonical"
scheme = "standard-webhooks"
secrets = ["{SOURCE_SECRET}"]

[[rules]]
when = {{ group = "Marketing" }}
domo_groups = ["Marketing"]

[[rules]]
when = {{ group = "eng-*" }}
domo_groups = ["Engineering"]

[[api.tokens]]
name = "ops-admin"
sha256 = "{sha(ADMIN_TOKEN)}"
scopes = ["read", "write", "admin"]

[[api.tokens]]
name = "auditor"
sha256 = "{sha(VIEWER_TOKEN)}"
scopes = ["read"]
{extra}
"""


class Service:
    """The simulator and the service, started in `workdir`."""

    def __init__(self, workdir, users=("ada@example.com", "grace@example.com", "alan@example.com")):
        self.workdir = workdir
        self.sim_port = free_port()
        self.port = free_port()
        self.base = f"http://localhost:{self.port}"
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        self.db = os.path.join(workdir, "console.db")
        seed = os.path.join(workdir, "users.json")
        with open(seed, "w") as f:
            json.dump([{"email": u, "name": u.split("@")[0].title(), "role": "Participant"} for u in users], f)
        self.logs = open(os.path.join(workdir, "service.log"), "w")
        self.sim_proc = subprocess.Popen(
            [BIN, "domo-sim", "--listen", f"127.0.0.1:{self.sim_port}", "--seed-users", seed, "--seed", "7"],
            stdout=self.logs, stderr=subprocess.STDOUT)
        wait_http(f"{self.sim}/_sim/state")
        self.config_path = os.path.join(workdir, "config.toml")
        with open(self.config_path, "w") as f:
            f.write(config(self.port, self.sim_port, self.db))
        self.proc = None
        self.start()

    def start(self):
        env = dict(os.environ, RUST_LOG="warn")
        self.proc = subprocess.Popen([BIN, "serve", "--config", self.config_path],
                                     stdout=self.logs, stderr=subprocess.STDOUT, env=env)
        wait_http(f"http://127.0.0.1:{self.port}/healthz")

    def stop_service(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def stop(self):
        self.stop_service()
        self.sim_proc.terminate()
        self.sim_proc.wait(timeout=10)
        self.logs.close()

    def api(self, method, path, body=None, token=ADMIN_TOKEN):
        return http(method, f"http://127.0.0.1:{self.port}{path}", body,
                    {"authorization": f"Bearer {token}"})

    def submit(self, event):
        status, body = self.api("POST", "/api/v1/events", event)
        assert status == 202, body
        return body["events"][0]["id"]

    def event(self, id):
        status, body = self.api("GET", f"/api/v1/events/{id}")
        assert status == 200, body
        return body

    def wait_status(self, id, want, limit=30.0):
        deadline = time.time() + limit
        while self.event(id)["status"] != want:
            assert time.time() < deadline, f"event {id} never became {want}: {self.event(id)}"
            time.sleep(0.1)

    def wait_idle(self, limit=30.0):
        deadline = time.time() + limit
        while True:
            _, q = self.api("GET", "/api/v1/events?status=queued&limit=1")
            _, r = self.api("GET", "/api/v1/events?status=running&limit=1")
            if not q["events"] and not r["events"]:
                return
            assert time.time() < deadline, "the queue never drained"
            time.sleep(0.1)

    def sim_call(self, method, path, body=None):
        return http(method, f"{self.sim}{path}", body)

    def sim_user_id(self, email):
        _, state = self.sim_call("GET", "/_sim/state")
        return next(u["id"] for u in state["users"] if u["email"] == email)
