// Run page: the graph follows the live step statuses pushed over the socket,
// and a click on a node opens that step's details (the table rows do the same
// through htmx attributes).
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

  document.addEventListener("dag:select", function (event) {
    var live = document.getElementById("run-live");
    var url = live.dataset.stepUrl.replace("__step__", encodeURIComponent(event.detail.step));
    htmx.ajax("GET", url, { target: "#step-panel" });
  });
})();
