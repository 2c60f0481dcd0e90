// Run page: the graph follows the live step statuses pushed over the socket,
// and choosing a step (a node of the graph, or a row of the table) opens its
// details beside the graph. The rows' links still work without JavaScript.
(function () {
  "use strict";
  var pending = {};

  function graph() { return document.querySelector("#run-live svg.dag"); }

  function flush() {
    var svg = graph();
    if (!svg || !window.oawebDag || svg.dataset.ready !== "true") {
      setTimeout(flush, 100); // the layout of a big graph is still being drawn
      return;
    }
    window.oawebDag.setStatuses(svg, pending);
    pending = {};
  }

  document.addEventListener("htmx:wsAfterMessage", function () {
    var update = document.getElementById("dag-update");
    if (!update) return;
    var changed = JSON.parse(update.getAttribute("data-statuses") || "{}");
    update.setAttribute("data-statuses", "{}");
    if (Object.keys(changed).length === 0) return;
    Object.assign(pending, changed);
    flush();
  });

  function openStep(step) {
    var live = document.getElementById("run-live");
    var url = live.dataset.stepUrl.replace("__step__", encodeURIComponent(step));
    htmx.ajax("GET", url, { target: "#step-panel" });
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
