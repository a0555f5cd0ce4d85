"""The console in a real browser (headless Chromium): the operators' main flows with an admin
token, the same pages with a read-only token, keyboard-only use, axe-core on every page in
both colour schemes, and a screenshot of every page. Any CSP violation fails the test that
caused it (see conftest)."""

import base64
import hashlib
import hmac
import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from conftest import axe, new_context, shot, sign_in
from service import ADMIN_TOKEN, SOURCE_SECRET, VIEWER_TOKEN

XSS = "<script>alert('owned')</script><img src=x onerror=alert(1)>"


def signed_post(service, body):
    """Delivers `body` to the `hr` source, signed as Standard Webhooks signs."""
    msg_id, ts = f"msg_{time.time_ns()}", str(int(time.time()))
    key = base64.b64decode(SOURCE_SECRET.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest()).decode()
    req = urllib.request.Request(f"http://127.0.0.1:{service.port}/webhooks/hr", data=body.encode(), method="POST")
    for k, v in {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": ts,
                 "webhook-signature": f"v1,{sig}"}.items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202


def event(id, kind, email, groups=None, name=None):
    ev = {"id": id, "type": kind, "occurred_at": "2026-12-01T09:00:00Z", "user": {"email": email}}
    if name:
        ev["user"]["name"] = name
    if groups is not None:
        ev["groups"] = groups
    return ev


@pytest.fixture(scope="module")
def seeded(service):
    """Events of every kind, two dead letters (users Domo does not have) and a drifted group."""
    service.submit(event("evt_ada", "user.onboarded", "ada@example.com", ["Marketing", "eng-platform"], "Ada Lovelace"))
    service.submit(event("evt_grace", "user.onboarded", "grace@example.com", ["Finance"], "Grace Hopper"))
    signed_post(service, json.dumps(event("evt_<b>xss</b>", "user.updated", "alan@example.com", [XSS, "eng-web"], XSS)))
    ghost1 = service.submit(event("evt_ghost1", "user.onboarded", "ghost1@example.com", ["Marketing"]))
    ghost2 = service.submit(event("evt_ghost2", "user.onboarded", "ghost2@example.com", ["Marketing"]))
    service.wait_status(ghost1, "dead")
    service.wait_status(ghost2, "dead")
    service.wait_idle()
    # The cause of ghost1's dead letter is fixed: an admin creates the user in Domo. The
    # workers list Domo's users at most every 10 s; wait for the next look.
    status, _ = service.sim_call("POST", "/_sim/users", [{"email": "ghost1@example.com", "name": "Ghost", "role": "Participant"}])
    assert status == 201
    time.sleep(10.5)
    # Someone adds Grace to Marketing by hand: a reconcile would remove her (over the cap of 0).
    _, state = service.sim_call("GET", "/_sim/state")
    marketing = next(g["id"] for g in state["groups"] if g["name"] == "Marketing")
    status, _ = service.sim_call("PUT", f"/_sim/groups/{marketing}/users/{service.sim_user_id('grace@example.com')}")
    assert status == 204
    return {"ghost1": ghost1, "ghost2": ghost2}


def test_sign_in_gives_an_http_only_strict_session_cookie_and_never_keeps_the_token(page, context, service, seeded):
    page.goto(f"{service.base}/console/events")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next=%2Fconsole%2Fevents$"))
    axe(page, "sign-in")
    shot(page, "sign-in")
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{service.base}/console/events")
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["dgs_console"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert ADMIN_TOKEN not in json.dumps(context.storage_state())
    assert page.evaluate("document.cookie") == "", "no cookie is readable from script"


def test_overview_shows_the_queue_dead_letters_domo_and_sources(page, service, seeded):
    sign_in(page, service, ADMIN_TOKEN)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("#h-dead + p.big")).to_have_text("2")
    expect(page.get_by_text("obtainable")).to_be_visible()
    expect(page.locator("a[href='/console/sources#src-hr']")).to_be_visible()
    axe(page, "overview")
    shot(page, "overview")


def test_filter_events_open_one_and_see_markup_as_text(page, service, seeded):
    sign_in(page, service, ADMIN_TOKEN)
    page.click("nav >> text=Events")
    page.select_option("#f-type", "user.updated")
    page.fill("#f-email", "alan@example.com")
    page.select_option("#f-since", "24h")
    page.click("text=Apply filters")
    expect(page).to_have_url(re.compile(r"type=user.updated.*email=alan%40example.com.*since=24h"))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("tbody code")).to_have_text("evt_<b>xss</b>")
    axe(page, "events")
    shot(page, "events")
    # The permalink opens the same view in a new page.
    url = page.url
    page.goto(url)
    expect(page.locator("tbody tr")).to_have_count(1)
    rows.first.locator("a").first.click()
    expect(page.locator("h1")).to_have_text(re.compile(r"Event \d+"))
    expect(page.locator("pre.payload")).to_contain_text(XSS)
    assert page.locator("img[src=x]").count() == 0, "markup from the event is never rendered"
    expect(page.locator("table").first).to_contain_text("add_member")
    expect(page.locator("table").first).to_contain_text("rules[1]: IdP group `eng-*` → Engineering")
    axe(page, "event")
    shot(page, "event")


def test_replay_a_dead_letter_and_see_it_done(page, service, seeded):
    sign_in(page, service, ADMIN_TOKEN)
    page.click("nav >> text=Dead letters")
    expect(page.locator("#dead-table tbody tr")).to_have_count(2)
    axe(page, "dead-letters")
    shot(page, "dead-letters")
    page.click(f"button[aria-label='Replay event {seeded['ghost1']}']")
    expect(page.get_by_role("status")).to_contain_text("Replay queued")
    # The page follows the replay by itself (auto-refresh) until it is done.
    expect(page.locator("#event-facts .badge").first).to_have_text("done", timeout=30_000)
    expect(page.locator("#event-facts")).to_contain_text(f"event {seeded['ghost1']}")


def test_replay_all_dead_letters_that_match_after_a_preview(page, service, seeded):
    sign_in(page, service, ADMIN_TOKEN)
    page.goto(f"{service.base}/console/dead-letters?email=ghost2%40example.com")
    page.click("text=Replay all that match")
    expect(page.locator("main")).to_contain_text("1 dead letter(s) match this filter")
    axe(page, "replay-preview")
    shot(page, "replay-preview")
    page.click("text=Replay 1 dead letter(s)")
    expect(page.get_by_role("status")).to_have_text("1 dead letter(s) replayed.")
    expect(page).to_have_url(re.compile(r"email=ghost2%40example.com"))


def test_the_user_page_explains_groups_and_reads_domo_live(page, service, seeded):
    sign_in(page, service, ADMIN_TOKEN)
    page.click("nav >> text=Users")
    page.fill("#u-email", "ada@example.com")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("User ada@example.com")
    expect(page.locator("main")).to_contain_text("rules[0]: IdP group `Marketing` → Marketing")
    page.click("text=Read it from Domo now")
    expect(page.locator("main")).to_contain_text("read from Domo just now")
    axe(page, "user")
    shot(page, "user")


def test_approve_a_held_reconcile_plan(page, service, seeded):
    sign_in(page, service, ADMIN_TOKEN)
    page.click("nav >> text=Reconcile")
    page.click("text=Start and apply")
    expect(page.locator("#run-facts .badge").first).to_have_text("held")
    expect(page.locator("main")).to_contain_text("grace@example.com")
    axe(page, "reconcile-run-held")
    shot(page, "reconcile-run-held")
    page.click("text=Approve this plan")
    expect(page.locator("#run-facts")).to_contain_text("by console:ops-admin")
    expect(page.locator("text=Approve this plan")).to_have_count(0)
    page.click("text=All runs")
    axe(page, "reconcile")
    shot(page, "reconcile")


def test_sources_show_scheme_format_and_last_delivery_never_a_secret(page, service, seeded):
    sign_in(page, service, ADMIN_TOKEN)
    page.click("nav >> text=Sources")
    expect(page.locator("#src-hr")).to_have_text("hr")
    expect(page.locator("main")).to_contain_text("standard-webhooks")
    assert SOURCE_SECRET not in page.content()
    axe(page, "sources")
    shot(page, "sources")


def test_sign_out_ends_the_session(page, context, service, seeded):
    sign_in(page, service, ADMIN_TOKEN)
    page.click("text=Sign out")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert "dgs_console" not in {c["name"] for c in context.cookies()}
    page.goto(f"{service.base}/console")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))


def test_a_read_only_token_sees_no_buttons_and_a_forged_post_is_refused(page, context, service, seeded):
    sign_in(page, service, VIEWER_TOKEN)
    expect(page.locator(".who")).to_contain_text("auditor")
    page.goto(f"{service.base}/console/dead-letters")
    expect(page.locator("#dead-table tbody tr").first).to_be_visible()
    expect(page.locator("button", has_text="Replay")).to_have_count(0)
    expect(page.locator("text=Replay all that match")).to_have_count(0)
    page.goto(f"{service.base}/console/events/{seeded['ghost2']}")
    expect(page.locator("text=Replay this event")).to_have_count(0)
    page.goto(f"{service.base}/console/reconcile")
    expect(page.locator("text=Start a dry run")).to_have_count(0)
    page.goto(f"{service.base}/console/reconcile/1")
    expect(page.locator("main")).to_contain_text("reconcile")
    axe(page, "read-only-run")
    # A forged replay from the page itself (the right CSRF token, the right origin): the
    # server refuses it for the scope.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    status = page.evaluate("""async ([id, csrf]) => {
        const r = await fetch(`/console/events/${id}/replay`, {method: 'POST', redirect: 'manual',
            headers: {'content-type': 'application/x-www-form-urlencoded'}, body: `csrf=${csrf}`});
        return r.status; }""", [seeded["ghost2"], csrf])
    assert status == 403
    # And one from another site (its Origin), with the session cookie attached.
    resp = context.request.post(f"{service.base}/console/events/{seeded['ghost2']}/replay",
                                form={"csrf": csrf}, headers={"Origin": "http://evil.example"},
                                max_redirects=0)
    assert resp.status == 403
    before = service.event(seeded["ghost2"])["replays"]
    assert len(before) == 1, "only the admin's bulk replay exists"


def tab_to(page, selector, limit=80):
    """Presses Tab until `selector` has the focus (fails after `limit` presses)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_through_the_main_flow(page, service, seeded):
    page.goto(f"{service.base}/console")
    # The token field has the focus; type and submit with Enter.
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(ADMIN_TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{service.base}/console")
    # Skip link first, then to the Events entry of the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab_to(page, "nav a[href='/console/events']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{service.base}/console/events")
    tab_to(page, "#f-email")
    page.keyboard.type("ada@example.com")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"email=ada%40example.com"))
    tab_to(page, "tbody a[href^='/console/events/']")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(re.compile(r"Event \d+"))
    # The focus ring is visible (an outline is drawn).
    tab_to(page, "a[href^='/console/users?email=']")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("User ada@example.com")
    tab_to(page, ".who button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")


PAGES = ["/console", "/console/events", "/console/dead-letters", "/console/users?email=ada@example.com",
         "/console/reconcile", "/console/reconcile/1", "/console/sources", "/console/nowhere"]


def test_every_page_passes_axe_in_the_dark_scheme_too(browser, service, seeded):
    ctx, problems = new_context(browser, scheme="dark")
    page = ctx.new_page()
    sign_in(page, service, ADMIN_TOKEN)
    for path in PAGES:
        page.goto(f"{service.base}{path}")
        name = "dark " + path
        axe(page, name)
    page.goto(f"{service.base}/console/events")
    shot(page, "events-dark")
    ctx.close()
    assert not problems.items, problems.items
