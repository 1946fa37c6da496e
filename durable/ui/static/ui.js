// durable ui: the execution page. Selects a state (a node of the graph, a row of the history)
// to show its input and output, and follows a running execution by polling its JSON.
(function () {
  "use strict";
  var holder = document.getElementById("ui-data");
  if (!holder) return;
  var data = JSON.parse(holder.textContent);
  var current = null; // {name, index}

  function pretty(text) {
    if (text === null || text === undefined) return "—";
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return String(text); }
  }

  function nodes(name) {
    return Array.prototype.filter.call(document.querySelectorAll("#graph g.state"), function (g) {
      return g.getAttribute("data-name") === name;
    });
  }

  function show(name, index, eventId) {
    var visits = data.visits[name] || [];
    var body = document.getElementById("selection-body");
    document.getElementById("selection-hint").hidden = true;
    body.hidden = false;
    document.getElementById("sel-name").textContent = name;
    var status = document.getElementById("sel-status");
    var error = document.getElementById("sel-error");
    document.querySelectorAll(".selected").forEach(function (el) { el.classList.remove("selected"); });
    nodes(name).forEach(function (g) { g.classList.add("selected"); });
    if (!visits.length) {
      current = { name: name, index: -1 };
      status.textContent = "not-reached";
      status.className = "badge status-not-reached";
      document.getElementById("sel-visit").textContent = "never entered";
      document.getElementById("sel-input").textContent = "—";
      document.getElementById("sel-output").textContent = "—";
      error.hidden = true;
      history.replaceState(null, "", "#state=" + encodeURIComponent(name));
      return;
    }
    if (index === undefined || index < 0 || index >= visits.length) index = visits.length - 1;
    current = { name: name, index: index };
    var visit = visits[index];
    status.textContent = visit.status;
    status.className = "badge status-" + visit.status;
    document.getElementById("sel-visit").textContent = "visit " + (index + 1) + " of " + visits.length;
    document.getElementById("sel-input").textContent = pretty(visit.input);
    document.getElementById("sel-output").textContent = visit.exited === null ? "(not exited yet)" : pretty(visit.output);
    if (visit.error || visit.cause) {
      error.hidden = false;
      error.textContent = (visit.error || "") + (visit.cause ? ": " + visit.cause : "");
    } else {
      error.hidden = true;
    }
    var row = eventId ? document.getElementById("event-" + eventId) : document.getElementById("event-" + visit.entered);
    if (row) row.classList.add("selected");
    history.replaceState(null, "", eventId ? "#event=" + eventId : "#state=" + encodeURIComponent(name) + "&visit=" + index);
  }

  document.querySelectorAll("#graph g.state").forEach(function (g) {
    g.addEventListener("click", function () { show(g.getAttribute("data-name")); });
  });
  document.querySelectorAll("#history tr[data-state]").forEach(function (tr) {
    tr.addEventListener("click", function (ev) {
      if (ev.target.closest("summary")) return; // opening an event's details
      show(tr.getAttribute("data-state"), Number(tr.getAttribute("data-visit")), tr.getAttribute("data-event"));
    });
  });
  document.getElementById("sel-prev").addEventListener("click", function () {
    if (current && current.index > 0) show(current.name, current.index - 1);
  });
  document.getElementById("sel-next").addEventListener("click", function () {
    if (current && current.index >= 0) show(current.name, current.index + 1);
  });

  // a reload (the live updates) keeps what was selected, through the location's hash
  var hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("event") && data.eventVisit[hash.get("event")]) {
    var at = data.eventVisit[hash.get("event")];
    show(at[0], at[1], hash.get("event"));
  } else if (hash.get("state")) {
    var visit = hash.get("visit");
    show(hash.get("state"), visit === null ? undefined : Number(visit));
  }

  if (data.status === "RUNNING") {
    var timer = setInterval(function () {
      fetch(data.poll, { cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (now) {
          if (now.error) { clearInterval(timer); return; }
          if (now.status !== data.status || now.events !== data.events) location.reload();
        })
        .catch(function () { /* the server restarts: try again at the next tick */ });
    }, 1000);
  }
})();
