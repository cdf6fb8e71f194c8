// tcptrace report: the anomaly list's filters and pages, links to the
// ladders, and the timeline's read-out. Plain JavaScript, no libraries;
// every text from the capture goes in with textContent, never as HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);

  // Anomaly rows: [conn, severity, kind, side, time, packet, count, detail, client, server, hasLadder].
  var rows = data.anomalies || [];
  var perPage = data.perPage || 100;
  var page = 0;
  var list = document.getElementById("anomaly-list");

  function openLadder(id) {
    var d = document.getElementById("conn-" + id);
    if (d && d.tagName === "DETAILS") {
      d.open = true;
      d.scrollIntoView({block: "start"});
    }
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }

  function matching() {
    var sev = {};
    var boxes = document.querySelectorAll("#anomaly-filters input[name=sev]");
    for (var i = 0; i < boxes.length; i++) { sev[boxes[i].value] = boxes[i].checked; }
    var kind = document.getElementById("filter-kind").value;
    var text = document.getElementById("filter-text").value.trim().toLowerCase();
    return rows.filter(function (r) {
      if (!sev[r[1]]) { return false; }
      if (kind && r[2] !== kind) { return false; }
      if (text) {
        var hay = ("#" + r[0] + " " + r[2] + " " + r[7] + " " + r[8] + " " + r[9]).toLowerCase();
        if (hay.indexOf(text) < 0) { return false; }
      }
      return true;
    });
  }

  function render() {
    if (!list) { return; }
    var shown = matching();
    var pages = Math.max(1, Math.ceil(shown.length / perPage));
    page = Math.min(page, pages - 1);
    var body = list.tBodies[0];
    while (body.firstChild) { body.removeChild(body.firstChild); }
    shown.slice(page * perPage, (page + 1) * perPage).forEach(function (r) {
      var tr = document.createElement("tr");
      var id = cell(tr, "", "num");
      if (r[10]) {
        var a = document.createElement("a");
        a.href = "#conn-" + r[0];
        a.textContent = "#" + r[0];
        a.addEventListener("click", function () { openLadder(r[0]); });
        id.appendChild(a);
      } else {
        id.textContent = "#" + r[0];
      }
      cell(tr, r[1], "v-" + r[1]);
      cell(tr, r[6] > 1 ? r[2] + " ×" + r[6] : r[2]);
      cell(tr, r[3]);
      cell(tr, r[4].toFixed(6), "num");
      cell(tr, r[5] ? String(r[5]) : "–", "num");
      cell(tr, r[8] + " → " + r[9]);
      cell(tr, r[7]);
      body.appendChild(tr);
    });
    document.getElementById("anomaly-count").textContent =
      shown.length === rows.length ? rows.length + " listed" : shown.length + " of " + rows.length + " match";
    document.getElementById("page-info").textContent = "page " + (page + 1) + " of " + pages;
    document.getElementById("page-prev").disabled = page === 0;
    document.getElementById("page-next").disabled = page >= pages - 1;
  }

  if (list) {
    var form = document.getElementById("anomaly-filters");
    form.addEventListener("input", function () { page = 0; render(); });
    form.addEventListener("change", function () { page = 0; render(); });
    document.getElementById("page-prev").addEventListener("click", function () { page--; render(); });
    document.getElementById("page-next").addEventListener("click", function () { page++; render(); });
    render();
  }

  var m = /^#conn-(\d+)$/.exec(window.location.hash);
  if (m) { openLadder(m[1]); }

  // Timeline read-out: the counts at the instant under the pointer.
  var tl = data.timeline;
  var svg = document.getElementById("timeline-svg");
  var cursor = document.getElementById("timeline-cursor");
  var readout = document.getElementById("timeline-readout");
  if (svg && cursor && readout && tl && tl.t && tl.t.length) {
    var box = svg.viewBox.baseVal;
    svg.addEventListener("mousemove", function (ev) {
      var rect = svg.getBoundingClientRect();
      var x = (ev.clientX - rect.left) * box.width / rect.width;
      if (x < tl.x0 || x > tl.x1) { return; }
      var t = tl.span > 0 ? (x - tl.x0) / (tl.x1 - tl.x0) * tl.span : 0;
      var lo = 0, hi = tl.t.length - 1;
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (tl.t[mid] <= t) { lo = mid; } else { hi = mid - 1; }
      }
      var lines = ["t = " + t.toFixed(6) + " s"];
      var counts = tl.counts[lo];
      for (var i = counts.length - 1; i >= 0; i--) {
        if (counts[i] > 0) { lines.push((tl.states[i] + "           ").slice(0, 12) + counts[i]); }
      }
      if (lines.length === 1) { lines.push("no open endpoint"); }
      readout.textContent = lines.join("\n");
      readout.hidden = false;
      cursor.setAttribute("x1", x);
      cursor.setAttribute("x2", x);
      cursor.setAttribute("visibility", "visible");
    });
    svg.addEventListener("mouseleave", function () {
      readout.hidden = true;
      cursor.setAttribute("visibility", "hidden");
    });
  }

  document.documentElement.setAttribute("data-ready", "yes");
})();
