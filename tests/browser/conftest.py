"""Fixtures of the console's browser suite: one service and one headless Chromium (Debian's,
driven by Playwright) for the whole run; a fresh browser context per test that fails the test
on any Content-Security-Policy violation or page error; axe-core and screenshot helpers."""

import json
import os
import tempfile

import pytest
from playwright.sync_api import sync_playwright

from service import ROOT, Service

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The networking flags stop Chromium calling Google hosts on this closed network.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]
AXE = os.environ.get("AXE_JS", os.path.join(ROOT, ".tools", "axe", "package", "axe.min.js"))
SHOTS = os.environ.get("SCREENSHOT_DIR", os.path.join(ROOT, "target", "browser", "screenshots"))
RESULTS = os.path.join(ROOT, "target", "browser")

# Reports every CSP violation to the console, where the context's listener sees it. Playwright
# injects init scripts outside the page's CSP, so this runs whatever the policy says.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="session")
def service():
    with tempfile.TemporaryDirectory() as d:
        s = Service(d)
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


class Problems:
    """CSP violations and page errors seen in a context."""

    def __init__(self):
        self.items = []

    def console(self, msg):
        text = msg.text
        if "Content Security Policy" in text or "CSP violation" in text or text.startswith("Refused to"):
            self.items.append(f"console: {text}")

    def error(self, err):
        self.items.append(f"page error: {err}")


def new_context(browser, scheme="light"):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1,
                              color_scheme=scheme, timezone_id="UTC", locale="en-US")
    ctx.add_init_script(CSP_LISTENER)
    problems = Problems()
    ctx.on("page", lambda page: (page.on("console", problems.console),
                                 page.on("pageerror", problems.error)))
    return ctx, problems


@pytest.fixture
def context(browser):
    ctx, problems = new_context(browser)
    yield ctx
    ctx.close()
    assert not problems.items, "CSP violations or page errors:\n" + "\n".join(problems.items)


@pytest.fixture
def page(context):
    return context.new_page()


def sign_in(page, service, token):
    page.goto(f"{service.base}/console")
    assert "/console/sign-in" in page.url
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{service.base}/console")


_axe_results = {}


def axe(page, name):
    """Runs axe-core (WCAG 2 A and AA) in the page; fails on a serious or critical violation.
    The page's CSP does not apply to `evaluate`, so the file is injected as it is."""
    with open(AXE) as f:
        page.evaluate(f.read())
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
    violations = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]),
                   "help": v["help"]} for v in result["violations"]]
    _axe_results[name] = {"passes": len(result["passes"]), "violations": violations}
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "axe-results.json"), "w") as f:
        json.dump(_axe_results, f, indent=2, sort_keys=True)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: axe found {json.dumps(bad, indent=2)}"


def shot(page, name):
    """A full-page screenshot (the README shows them)."""
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True,
                    animations="disabled", caret="hide")
