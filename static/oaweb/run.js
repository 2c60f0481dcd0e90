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
//
// A map's items are no rows nor nodes: an update carries the map's counts
// (#dag-update's data-nodes), which its node draws; the list of its items
// open in the step panel reloads itself, at most every ITEMS_REFRESH_MS.
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
    var nodes = {};
    messages.forEach(function (message) {
      // swapStyle none: only the out-of-band parts move; no settle delay, so all of it happens now.
      htmx.swap(target, message, { swapStyle: "none", swapDelay: 0, settleDelay: 0 });
      var update = document.getElementById("dag-update");
      if (update) {
        Object.assign(statuses, JSON.parse(update.getAttribute("data-statuses") || "{}"));
        Object.assign(nodes, JSON.parse(update.getAttribute("data-nodes") || "{}"));
        update.setAttribute("data-statuses", "{}");
        update.setAttribute("data-nodes", "{}");
      }
    });
    var svg = graph();
    if (svg && window.oawebDag && Object.keys(statuses).length) window.oawebDag.setStatuses(svg, statuses);
    if (svg && window.oawebDag && Object.keys(nodes).length) window.oawebDag.setNodes(svg, nodes);
    Object.keys(nodes).forEach(function (step) { if (nodes[step].items) refreshItems(step); });
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
    if (isLog(message)) { receiveLog(message); return; } // a step's log lines: no part of an update
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
    // A map's item ("M[3]") is no node: its map's is selected.
    if (svg && window.oawebDag) window.oawebDag.select(svg, step.replace(/\[[0-9]+\]$/, ""));
  }

  document.addEventListener("dag:select", function (event) { openStep(event.detail.step); });

  // --- step logs (issue 18): lines a running step writes, appended to its panel; the panel's filter ---
  // A batch (workflows/web/log_lines.py) is <div data-step-log data-attempt data-first> holding
  // <span data-n> lines, numbered from 0 in the attempt. Batches of running attempts are kept here
  // (bounded), so that a panel opened later shows the lines written before it opened.
  var LOG_KEEP_LINES = 20000;
  var logBatches = {}; // "step/attempt" -> [{first, spans}]
  var logOrder = []; // keys, oldest first, to drop the oldest past LOG_KEEP_LINES
  var logKept = 0;

  function isLog(message) { return /^\s*<div data-step-log=/.test(message); }

  function receiveLog(message) {
    var holder = document.createElement("template");
    holder.innerHTML = message; // inert: the server escaped the lines, and nothing in a template runs
    var batch = holder.content.firstElementChild;
    if (!batch) return;
    var step = batch.dataset.stepLog, attempt = batch.dataset.attempt;
    var entry = { first: parseInt(batch.dataset.first, 10) || 0, spans: Array.prototype.slice.call(batch.children) };
    keepLog(step + "/" + attempt, entry);
    var pre = logPre(step, attempt, true);
    if (pre) appendLog(pre, entry);
  }

  function keepLog(key, entry) {
    if (!logBatches[key]) { logBatches[key] = []; logOrder.push(key); }
    logBatches[key].push(entry);
    logKept += entry.spans.length;
    while (logKept > LOG_KEEP_LINES && logOrder.length > 1) {
      var oldest = logOrder.shift();
      logBatches[oldest].forEach(function (old) { logKept -= old.spans.length; });
      delete logBatches[oldest];
    }
  }

  // The <pre> of this attempt in the open panel; `make`: add it when the panel shows the step but not yet
  // this attempt (the panel was opened before the attempt started).
  function logPre(step, attempt, make) {
    var section = document.querySelector('#step-panel .step-log[data-step="' + CSS.escape(step) + '"]');
    if (!section) return null;
    var pre = section.querySelector('pre.step-log-lines[data-attempt="' + CSS.escape(attempt) + '"]');
    if (pre || !make) return pre;
    var heading = document.createElement("h4");
    heading.textContent = "Attempt " + attempt;
    pre = document.createElement("pre");
    pre.className = "step-log-lines";
    pre.tabIndex = 0;
    pre.style.whiteSpace = "pre-wrap";
    pre.style.overflowWrap = "anywhere";
    pre.dataset.attempt = attempt;
    pre.dataset.next = "0";
    pre.dataset.live = "true";
    var empty = section.querySelector(".log-empty");
    section.insertBefore(heading, empty);
    section.insertBefore(pre, empty);
    empty.hidden = true;
    section.querySelector(".log-search-row").hidden = false;
    return pre;
  }

  function appendLog(pre, entry) {
    var next = parseInt(pre.dataset.next, 10) || 0;
    var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    if (entry.first > next) {
      // This page's socket connected after those lines were sent: they are stored when the attempt ends.
      var gap = document.createElement("span");
      gap.className = "log-gap";
      gap.textContent = "… " + (entry.first - next) + " earlier line(s): reload once the step has finished\n";
      pre.appendChild(gap);
      next = entry.first;
    }
    entry.spans.forEach(function (span, i) {
      if (entry.first + i >= next) pre.appendChild(span.cloneNode(true));
    });
    pre.dataset.next = String(Math.max(next, entry.first + entry.spans.length));
    filterLog(pre.closest(".step-log"));
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  }

  // A panel just loaded: its running attempt gets the lines kept from before it opened.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.target || event.target.id !== "step-panel") return;
    event.target.querySelectorAll(".step-log pre.step-log-lines[data-live]").forEach(function (pre) {
      var key = pre.closest(".step-log").dataset.step + "/" + pre.dataset.attempt;
      (logBatches[key] || []).forEach(function (entry) { appendLog(pre, entry); });
    });
  });

  function filterLog(section) {
    if (!section) return;
    var needle = section.querySelector("input.log-search").value.toLowerCase();
    if (!needle && !section.dataset.filtered) return; // nothing hidden: nothing to do for new lines
    section.dataset.filtered = needle ? "true" : "";
    var shown = 0, total = 0;
    section.querySelectorAll("pre.step-log-lines > span[data-n]").forEach(function (line) {
      var hit = !needle || line.textContent.toLowerCase().indexOf(needle) !== -1;
      line.hidden = !hit;
      total += 1;
      if (hit) shown += 1;
    });
    section.querySelector(".log-count").textContent = needle ? shown + " of " + total + " lines" : "";
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches(".step-log input.log-search")) {
      filterLog(event.target.closest(".step-log"));
    }
  });

  // --- a map's items in the step panel (templates/runs/_map_items.html) ---
  // Reloaded (its data-src: the same filter and page) when an update says the map's counts moved: at once,
  // then at most every ITEMS_REFRESH_MS, one request at a time, the last change never left out.
  var ITEMS_REFRESH_MS = 500;
  var itemLists = {}; // map step -> {last, timer, busy, again}

  function itemsSection(step) {
    return document.querySelector('#step-panel .map-items[data-map-items="' + CSS.escape(step) + '"]');
  }

  function refreshItems(step) {
    if (!itemsSection(step)) return;
    var entry = itemLists[step] || (itemLists[step] = { last: 0, timer: 0, busy: false, again: false });
    if (entry.busy) { entry.again = true; return; }
    if (entry.timer) return;
    entry.timer = setTimeout(function () {
      entry.timer = 0;
      var section = itemsSection(step);
      if (!section) return;
      entry.busy = true;
      entry.last = Date.now();
      var done = function () {
        entry.busy = false;
        if (entry.again) { entry.again = false; refreshItems(step); }
      };
      htmx.ajax("GET", section.dataset.src, { target: section, swap: "outerHTML" }).then(done, done);
    }, Math.max(0, entry.last + ITEMS_REFRESH_MS - Date.now()));
  }

  // An item's link (or an item's link back to its map) in the panel opens that step in the panel;
  // with a modifier key, or on the step's own page, it is the plain link it is.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#step-panel a[data-open-step]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    openStep(link.dataset.openStep);
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#run-steps tr[data-step]");
    if (!row || event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab keeps the link's page
    event.preventDefault();
    openStep(row.dataset.step);
  });
})();
