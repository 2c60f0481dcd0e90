// Run page: the socket's updates are applied here, and choosing a step (a
// node of the graph, or a row of the table) opens its details beside the
// graph. The rows' links still work without JavaScript.
//
// One update of the server (workflows/web/live.py: run_update_messages) is
// its changed rows, in a message of their own that starts with <tr>, then
// the header, the progress, the timeline and the graph's statuses. Both are
// applied here in one go, graph included, so that no part of the page ever
// shows a state another part has left (htmx's ws extension would swap each
// message as it comes, and the graph after them).
(function () {
  "use strict";
  var held = []; // messages of one update not applied yet
  var heldSince = 0;
  var rowsSeen = 0;
  var selected = null; // the step whose details are open
  var GRAPH_WAIT_MS = 3000; // a graph still being drawn after this long doesn't hold the page back

  function live() { return document.getElementById("run-live"); }
  function graph() { return document.querySelector("#run-live svg.dag"); }
  function isRows(message) { return /^\s*<tr[\s>]/i.test(message); }

  function graphReady() {
    var svg = graph();
    return !svg || (window.oawebDag && svg.dataset.ready === "true");
  }

  // force: apply rows whose update never got its second message (see below).
  function apply(force) {
    if (!held.length || (!force && isRows(held[held.length - 1]))) return; // its second message is on its way
    if (!graphReady() && Date.now() - heldSince < GRAPH_WAIT_MS) {
      setTimeout(function () { apply(force); }, 50); // the layout of a big graph is still being drawn
      return;
    }
    var target = live();
    var messages = held;
    held = [];
    var statuses = {};
    messages.forEach(function (message) {
      // swapStyle none: only the out-of-band parts move; no settle delay, so all of it happens now.
      htmx.swap(target, message, { swapStyle: "none", swapDelay: 0, settleDelay: 0 });
      var update = document.getElementById("dag-update");
      if (update) {
        Object.assign(statuses, JSON.parse(update.getAttribute("data-statuses") || "{}"));
        update.setAttribute("data-statuses", "{}");
      }
    });
    var svg = graph();
    if (svg && window.oawebDag && Object.keys(statuses).length) window.oawebDag.setStatuses(svg, statuses);
    if (selected) {
      var row = document.getElementById("step-" + selected);
      if (row) row.classList.add("selected");
    }
    target.dispatchEvent(new CustomEvent("run:updated", { bubbles: true }));
  }

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    if (event.target !== live()) return;
    event.preventDefault(); // applied here, not by the extension
    var message = event.detail.message;
    if (!held.length) heldSince = Date.now();
    held.push(message);
    if (isRows(message)) {
      // The rest of the update follows at once; should it not, these rows wait no longer than this.
      var mark = ++rowsSeen;
      setTimeout(function () { if (mark === rowsSeen && held.length && isRows(held[held.length - 1])) apply(true); }, 1000);
      return;
    }
    apply(false);
  });

  // A dropped socket's next catch-up brings whatever was held: nothing to keep.
  document.addEventListener("htmx:wsClose", function (event) {
    if (event.target === live()) held = [];
  });

  function openStep(step) {
    var url = live().dataset.stepUrl.replace("__step__", encodeURIComponent(step));
    htmx.ajax("GET", url, { target: "#step-panel" });
    selected = step;
    document.querySelectorAll("#run-steps tr.selected").forEach(function (row) { row.classList.remove("selected"); });
    var row = document.getElementById("step-" + step);
    if (row) row.classList.add("selected");
    var svg = graph();
    if (svg && window.oawebDag) window.oawebDag.select(svg, step);
  }

  document.addEventListener("dag:select", function (event) { openStep(event.detail.step); });

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#run-steps tr[data-step]");
    if (!row || event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab keeps the link's page
    event.preventDefault();
    openStep(row.dataset.step);
  });
})();
