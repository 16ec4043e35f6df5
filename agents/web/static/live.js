// Live updates without a reload: poll /changes; when the read model changed, fetch this
// page's #live region again and swap it in. A region with a form being filled in is left
// alone (a notice says there is a newer version), and focus is put back where it was.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var body = document.body;
  var period = parseInt(body.getAttribute("data-poll-ms") || "2000", 10);
  var seq = parseInt(body.getAttribute("data-seq") || "0", 10);
  var announce = document.getElementById("announce");
  var busy = false;
  window.carepathLoadedAt = window.carepathLoadedAt || Date.now();
  window.carepathSwaps = 0;

  function editing() {
    var el = document.activeElement;
    if (!live || !el || !live.contains(el)) return false;
    if (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT") return true;
    var areas = live.querySelectorAll("textarea, input[type=text]");
    for (var i = 0; i < areas.length; i++) if (areas[i].value) return true;
    return false;
  }

  function swap() {
    var focused = document.activeElement && document.activeElement.id;
    return fetch(window.location.href, { headers: { "X-Carepath-Fragment": "1" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        live.innerHTML = html;
        window.carepathSwaps += 1;
        if (focused) { var el = document.getElementById(focused); if (el) el.focus(); }
        if (announce) {
          var counts = document.getElementById("counts");
          announce.textContent = "Updated" + (counts ? ": " + counts.textContent.replace(/\s+/g, " ").trim() : "");
        }
      });
  }

  function tick() {
    if (busy || document.hidden) return;
    busy = true;
    fetch("/changes", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/login"; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data || data.seq === seq) return null;
        if (editing()) {
          if (announce) announce.textContent = "A newer version is available; it appears when you leave the form.";
          return null;
        }
        seq = data.seq;
        return swap();
      })
      .catch(function () { /* offline for a moment: try again next time */ })
      .then(function () { busy = false; });
  }

  if (live) window.setInterval(tick, period);
})();
