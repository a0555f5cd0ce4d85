// The console's only script (the CSP allows scripts from this file alone; nothing inline).
// Auto-refresh: while the page is visible and refresh is on (the page was asked for with
// live=1, or the toggle was ticked), fetch the same URL every few seconds and swap in the
// regions marked data-live-region. Everything works without it: forms post, links link.
(function () {
  "use strict";
  var EVERY_MS = 5000;
  var timer = null;

  function liveOn() {
    return document.body.getAttribute("data-live") === "1";
  }

  function refresh() {
    if (document.visibilityState !== "visible") {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) {
        if (resp.redirected || !resp.ok) {
          return null; // signed out, or an error page: leave the page as it is
        }
        return resp.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (old) {
          var fresh = old.id ? doc.getElementById(old.id) : null;
          if (fresh) {
            old.replaceWith(document.importNode(fresh, true));
          }
        });
        if (doc.body && doc.body.getAttribute("data-live") !== "1") {
          stop(); // the server says there is nothing left to follow
          document.body.setAttribute("data-live", "0");
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  function start() {
    if (timer === null) {
      timer = window.setInterval(refresh, EVERY_MS);
    }
  }

  function stop() {
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  // The toggle rewrites the URL (so the view stays a permalink) and starts or stops.
  function setLive(on) {
    var url = new URL(window.location.href);
    if (on) {
      url.searchParams.set("live", "1");
    } else {
      url.searchParams.delete("live");
    }
    window.history.replaceState(null, "", url.toString());
    document.body.setAttribute("data-live", on ? "1" : "0");
    if (on) {
      start();
    } else {
      stop();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var label = document.querySelector("[data-auto-refresh-toggle]");
    var box = document.querySelector("[data-auto-refresh]");
    // With this script the title's toggle acts at once; the filter form's copy is for pages
    // read without JavaScript.
    document.querySelectorAll("[data-nojs]").forEach(function (el) { el.hidden = true; });
    if (label && box) {
      label.hidden = false;
      box.addEventListener("change", function () { setLive(box.checked); });
    }
    if (liveOn()) {
      start();
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && liveOn()) {
        refresh();
      }
    });
  });
})();
