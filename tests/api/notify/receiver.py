"""A subscriber of domo-group-sync's outgoing events, for the tests: an HTTP server on
127.0.0.1 that verifies every request with the `standardwebhooks` package from PyPI (an
implementation independent of the service's) and reports each request as one JSON line on
stdout. The first line is {"port": N}.

Environment:
  WEBHOOK_SECRET   the subscriber's whsec_ secret
  FAIL_FIRST       answer 503 (with Retry-After: 0) to this many requests first (default 0)
  FAIL_WHILE       answer 503 while this file exists
  DELAY_SECS       wait this long before answering (a slow subscriber)

Each line: {"verified": bool, "wrong_secret_refused": bool, "tampered_refused": bool,
"id": webhook-id, "status": answered, "body": the parsed body (verified or not), "error": str}.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = os.environ["WEBHOOK_SECRET"]
WRONG = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
FAIL_FIRST = int(os.environ.get("FAIL_FIRST", "0"))
FAIL_WHILE = os.environ.get("FAIL_WHILE")
DELAY = float(os.environ.get("DELAY_SECS", "0"))
seen = {"n": 0}


def refused(secret, body, headers):
    try:
        Webhook(secret).verify(body, headers)
        return False
    except WebhookVerificationError:
        return True


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        line = {"id": headers.get("webhook-id"), "verified": False}
        try:
            Webhook(SECRET).verify(body, headers)
            line["verified"] = True
        except WebhookVerificationError as e:
            line["error"] = str(e)
        line["wrong_secret_refused"] = refused(WRONG, body, headers)
        line["tampered_refused"] = refused(SECRET, body + b" ", headers)
        try:
            line["body"] = json.loads(body)
        except ValueError:
            line["body"] = None
        seen["n"] += 1
        failing = seen["n"] <= FAIL_FIRST or (FAIL_WHILE and os.path.exists(FAIL_WHILE))
        if DELAY:
            time.sleep(DELAY)
        status = 503 if failing else (204 if line["verified"] else 401)
        line["status"] = status
        print(json.dumps(line), flush=True)
        self.send_response(status)
        if status == 503:
            self.send_header("Retry-After", "0")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(json.dumps({"port": server.server_address[1]}), flush=True)
server.serve_forever()
