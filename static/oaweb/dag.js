/* oaweb DAG picture: the step graph of the workflow and run pages.

   Markup (templates/workflows/_dag.html): div.dag-wrap holding the toolbar
   ([data-dag-action] buttons) and div.dag-view, the clipping box of
   <svg class="dag" data-graph="ID"> and the minimap canvas; plus
   <script type="application/json" id="ID"> holding
   {"nodes": [{"id", "component", "kind", "status"}], "edges": [[from, to]]}
   (a run's nodes may add "map": true and "items": {total, done, running, failed},
   or "waits": true with "detail" (a second line) and "note" (for the tooltip))
   (workflows/web/graphs.py; a JSON string holding that JSON is unwrapped too).
   Needs static/oaweb/dag_layout.js (where boxes go) and dag_view.js (zoom,
   pan, fit, minimap) loaded before it.

   Every svg.dag[data-graph] is drawn on DOMContentLoaded and after htmx adds
   one. A step is <g class="node st-STATUS kind-KIND" data-step="ID" tabindex="0">;
   a map step is one such node, of class "map", with data-counts="done:N running:N failed:N total:N";
   a collapsed fan-out is <g class="group" data-group="KEY" data-counts="STATUS:N ...">,
   expanded by a click (or Enter/Space) and collapsed again by its header
   (g.group-head). The orientation (left-right or top-down) is remembered in
   localStorage.
   API: window.oawebDag = {setStatuses(svg, {step: status}), setNodes(svg, {step: {items, detail, note}}), select(svg, step),
   draw(svg), layout, view(svg)}. Clicking a step, or Enter/Space on a focused
   one, dispatches a bubbling CustomEvent "dag:select" with detail {step} on the svg. */
(function () {
  "use strict";

  var Layout = window.oawebDagLayout;
  var View = window.oawebDagView;
  if (!Layout || !View) {
    console.error("oaweb: dag.js needs dag_layout.js and dag_view.js loaded before it");
    return;
  }
  var SIZES = Layout.sizes;
  var STATUS_RE = /^[a-z_-]+$/;
  var KIND_RE = /^[a-z_-]+$/;
  var ORIENTATION_KEY = "oaweb.dag.orientation";
  var MIN_VIEW_H = 200;
  var MAX_VIEW_VH = 0.7;
  // The order counts are listed in, and which status colours a group: the first one present.
  var LISTED = ["pending", "queued", "running", "retrying", "succeeded", "failed", "skipped", "cancelled"];
  var ATTENTION = ["failed", "retrying", "running", "queued", "cancelled", "pending", "skipped", "succeeded"];

  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (ch) {
      return ESCAPES[ch];
    });
  }

  function statusClass(status) {
    return status && STATUS_RE.test(status) ? " st-" + status : "";
  }

  /* The kind's glyph, a shape (no text to paint): agent a circle, tool a
     square, transform a diamond; centred at (PAD_X + 5, cy). A path, so that
     no rule for the box's rect reaches it. */
  function glyph(kind, cy) {
    var x = SIZES.PAD_X;
    var d;
    if (kind === "agent") d = "M" + x + " " + cy + "a5 5 0 1 0 10 0a5 5 0 1 0-10 0z";
    else if (kind === "tool") d = "M" + x + " " + (cy - 5) + "h10v10h-10z";
    else if (kind === "transform") d = "M" + (x + 5) + " " + (cy - 6) + "l6 6l-6 6l-6-6z";
    else return "";
    return '<path class="kind" d="' + d + '"/>';
  }

  function fitText(text, width) {
    var chars = Math.max(1, Math.floor((width - 2 * SIZES.PAD_X - SIZES.GLYPH_W) / SIZES.CHAR_W));
    return text.length > chars ? text.slice(0, chars - 1) + "\u2026" : text;
  }

  function describe(node, status, extra) {
    var text = String(node.id);
    if (node.component) text += ", " + node.component + (node.kind ? " (" + node.kind + ")" : "");
    if (status) text += ", " + status;
    var items = extra && extra.items;
    if (node.map) text += items ? ", map: " + items.done + " of " + items.total + " items done, " + items.running + " running, " + items.failed + " failed" : ", map";
    if (extra && extra.note) text += ", " + extra.note;
    return text;
  }

  function nodeClass(state, index) {
    var node = state.graph.nodes[index];
    var kind = node.kind && KIND_RE.test(node.kind) ? " kind-" + node.kind : "";
    var selected = state.selected === String(node.id) ? " selected" : "";
    return "node" + (node.map ? " map" : "") + statusClass(state.status[index]) + kind + selected;
  }

  /* A map's counts (before its items exist, or on a workflow's page, it says "map"): done, running,
     failed (as dots of their status's colour), then the total. */
  var ITEM_DOTS = [["done", "succeeded"], ["running", "running"], ["failed", "failed"]];
  function countsLine(items) {
    return ITEM_DOTS.map(function (pair) {
      return '<tspan class="dot st-' + pair[1] + '">\u25cf</tspan>\u2009' + (Number(items[pair[0]]) || 0) + "\u2002";
    }).join("") + "/ " + (Number(items.total) || 0);
  }

  function countsAttr(items) {
    if (!items) return "";
    return ["done", "running", "failed", "total"].map(function (k) { return k + ":" + (Number(items[k]) || 0); }).join(" ");
  }

  /* The inside of a step's box; its kind's glyph and its label only when drawn at a scale that shows them.
     A tall one (dag_layout.js isTall) has a second line: a map's counts, or what the step waits for. */
  function nodeInner(state, item) {
    var node = state.graph.nodes[item.index];
    var extra = state.extra[item.index];
    var tall = Layout.isTall(node);
    var cy = tall ? 16 : item.h / 2;
    var parts = [];
    if (node.map) parts.push('<rect class="stack" x="4" y="4" width="' + item.w + '" height="' + item.h + '" rx="5"/>');
    parts.push('<rect class="box" width="' + item.w + '" height="' + item.h + '" rx="4"/>');
    if (state.detailed) {
      parts.push(glyph(node.kind, cy));
      parts.push('<text x="' + (SIZES.PAD_X + SIZES.GLYPH_W) + '" y="' + cy + '" dy="0.35em">' + esc(fitText(String(node.id), item.w)) + "</text>");
      var second = node.map ? (extra.items ? countsLine(extra.items) : "map") : esc(fitText(extra.detail || "", item.w + SIZES.GLYPH_W));
      if (tall && second) parts.push('<text class="counts" x="' + SIZES.PAD_X + '" y="' + (item.h - 14) + '" dy="0.35em">' + second + "</text>");
    }
    return parts.join("");
  }

  function nodeMarkup(state, item) {
    var node = state.graph.nodes[item.index];
    var counts = node.map ? ' data-counts="' + countsAttr(state.extra[item.index].items) + '"' : "";
    return (
      '<g class="' + nodeClass(state, item.index) + '" data-step="' + esc(String(node.id)) + '"' + counts + ' tabindex="0" role="button"' +
      ' aria-label="' + esc(describe(node, state.status[item.index], state.extra[item.index])) + '"' +
      ' transform="translate(' + item.x + "," + item.y + ')">' + nodeInner(state, item) + "</g>"
    );
  }

  /* A collapsed group's statuses: {status: count}, "" for steps without one. */
  function counts(state, item) {
    var out = {};
    item.members.forEach(function (m) {
      var status = state.status[m] || "";
      out[status] = (out[status] || 0) + 1;
    });
    return out;
  }

  function listed(tally) {
    var extra = Object.keys(tally).filter(function (s) { return s && LISTED.indexOf(s) < 0 && STATUS_RE.test(s); });
    return LISTED.concat(extra.sort()).filter(function (s) { return tally[s]; });
  }

  function groupKind(state, item) {
    var kind = state.graph.nodes[item.members[0]].kind || "";
    return item.members.every(function (m) { return (state.graph.nodes[m].kind || "") === kind; }) ? kind : "";
  }

  /* The group's attributes that change with its members' statuses, and its inside. */
  function groupParts(state, item) {
    var tally = counts(state, item);
    var statuses = listed(tally);
    var lead = ATTENTION.filter(function (s) { return tally[s]; })[0] || "";
    var words = statuses.map(function (s) { return tally[s] + " " + s; }).join(", ");
    var line = statuses
      .map(function (s) { return '<tspan class="dot st-' + s + '">\u25cf</tspan>\u2009' + tally[s] + "\u2003"; })
      .join("");
    var cy = 16;
    var inner =
      '<rect class="stack" x="4" y="4" width="' + item.w + '" height="' + item.h + '" rx="5"/>' +
      '<rect class="box" width="' + item.w + '" height="' + item.h + '" rx="5"/>' + glyph(groupKind(state, item), cy) +
      '<text x="' + (SIZES.PAD_X + SIZES.GLYPH_W) + '" y="' + cy + '" dy="0.35em">' + esc(fitText("\u25b8 " + item.label, item.w)) + "</text>" +
      (line ? '<text class="counts" x="' + SIZES.PAD_X + '" y="' + (item.h - 14) + '" dy="0.35em">' + line + "</text>" : "");
    return {
      cls: "group" + statusClass(lead),
      counts: statuses.map(function (s) { return s + ":" + tally[s]; }).join(" "),
      label: item.label + (words ? ": " + words : "") + ". Expand",
      inner: inner,
    };
  }

  function groupMarkup(state, item) {
    var parts = groupParts(state, item);
    return (
      '<g class="' + parts.cls + '" data-group="' + esc(item.key) + '" data-counts="' + parts.counts + '"' +
      ' tabindex="0" role="button" aria-expanded="false" aria-label="' + esc(parts.label) + '"' +
      ' transform="translate(' + item.x + "," + item.y + ')">' + parts.inner + "</g>"
    );
  }

  function headerMarkup(item) {
    return (
      '<g class="group-head" data-group="' + esc(item.key) + '" tabindex="0" role="button" aria-expanded="true"' +
      ' aria-label="' + esc("Collapse " + item.label) + '" transform="translate(' + item.x + "," + item.y + ')">' +
      '<rect width="' + item.w + '" height="' + item.h + '" rx="4"/>' +
      '<text x="' + SIZES.PAD_X + '" y="' + item.h / 2 + '" dy="0.35em">' + esc(fitText("\u25be " + item.label, item.w + SIZES.GLYPH_W)) + "</text></g>"
    );
  }

  /* The inside of the svg as one string: frames, then edges, then the boxes
     in reading order (layer by layer), which is also the Tab order. */
  function toSvg(state, result) {
    var parts = ['<g class="viewport"><g class="frames">'];
    result.frames.forEach(function (f) {
      parts.push('<rect class="group-frame" x="' + f.x + '" y="' + f.y + '" width="' + f.w + '" height="' + f.h + '" rx="8"/>');
    });
    parts.push('</g><g class="edges">');
    result.edgePaths.forEach(function (d) { parts.push('<path class="edge" d="' + d + '"/>'); });
    parts.push('</g><g class="nodes">');
    result.order.forEach(function (i) {
      var item = result.items[i];
      parts.push(item.type === "node" ? nodeMarkup(state, item) : item.type === "group" ? groupMarkup(state, item) : headerMarkup(item));
    });
    if (!result.items.length) parts.push('<text x="16" y="24">No steps</text>');
    parts.push("</g></g>");
    return parts.join("");
  }

  var states = new WeakMap(); // svg -> its graph, statuses, layout, elements and view

  function readGraph(svg) {
    var holder = document.getElementById(svg.getAttribute("data-graph"));
    if (!holder) return null;
    var data = JSON.parse(holder.textContent);
    return typeof data === "string" ? JSON.parse(data) : data;
  }

  function savedOrientation() {
    try {
      return window.localStorage.getItem(ORIENTATION_KEY) === "tb" ? "tb" : "lr";
    } catch (error) {
      return "lr"; // storage refused (private mode, a sandbox): the default then
    }
  }

  /* The view's size for a new drawing, read before it goes in (see dag_view.js). A new
     graph or orientation (how.fit): as tall as the drawing is when it fits the width, so that
     a wide graph leaves no empty band, within MIN_VIEW_H and MAX_VIEW_VH; an opened group
     (how.grow): that, or the height it has if taller. */
  function viewSize(state, result, how) {
    var size = { w: state.viewEl.clientWidth || 1, h: state.viewEl.clientHeight || 1 };
    if (!how.fit && !how.grow) return size;
    var fitWidth = Math.min(1, (size.w - 24) / result.width);
    var height = Math.max(MIN_VIEW_H, Math.min(result.height * fitWidth + 24, window.innerHeight * MAX_VIEW_VH));
    if (how.grow) height = Math.max(height, size.h);
    size.h = Math.round(height);
    state.viewEl.style.height = size.h + "px";
    return size;
  }

  /* Lays out and draws the state's graph; how: see viewSize; how.fit also fits the drawing in the view. */
  function render(state, how) {
    var started = performance.now();
    var result = Layout.layout(state.graph, { orientation: state.orientation, expanded: state.expanded });
    state.result = result;
    var size = viewSize(state, result, how);
    // Far out (a big graph fitted), glyphs and labels would be specks: drawn when a zoom reaches them (onCommit).
    var scale = how.fit ? View.fitScaleOf(result.width, result.height, size) : state.view.k;
    state.detailed = scale >= View.FAR_K;
    state.svg.innerHTML = toSvg(state, result);
    var elements = state.svg.querySelector("g.nodes").children;
    state.nodeEls = new Map(); // step id -> <g>
    state.itemOf = new Map(); // <g> -> its item
    state.byKey = new Map(); // group key -> its item (the group, or the header when expanded)
    result.order.forEach(function (i, n) {
      var item = result.items[i];
      state.itemOf.set(elements[n], item);
      if (item.type === "node") state.nodeEls.set(String(state.graph.nodes[item.index].id), elements[n]);
      else state.byKey.set(item.key, item);
      item.el = elements[n];
    });
    state.view.setContent(state.svg.firstChild, result.width, result.height, size, how.fit);
    state.svg.dataset.renderMs = (performance.now() - started).toFixed(1);
    state.svg.dataset.orientation = state.orientation;
    state.svg.dataset.ready = "true";
  }

  /* The minimap's boxes, coloured by status. */
  function paintMinimap(state) {
    return function (ctx) {
      var style = getComputedStyle(state.wrap);
      var colour = function (status) {
        return (status && style.getPropertyValue("--st-" + status).trim()) || style.getPropertyValue("--muted").trim() || "#5f6b7a";
      };
      var result = state.result;
      if (!result) return;
      result.items.forEach(function (item) {
        var status = item.type === "node" ? state.status[item.index] : item.type === "group" ? groupLead(state, item) : "";
        ctx.fillStyle = colour(status);
        ctx.fillRect(item.x, item.y, item.w, item.h);
      });
    };
  }

  function groupLead(state, item) {
    var tally = counts(state, item);
    return ATTENTION.filter(function (s) { return tally[s]; })[0] || "";
  }

  function draw(svg) {
    var graph = readGraph(svg);
    if (!graph) return;
    var viewEl = svg.closest(".dag-view");
    var wrap = svg.closest(".dag-wrap");
    if (!viewEl || !wrap) return;
    var state = states.get(svg);
    if (!state) {
      state = { svg: svg, wrap: wrap, viewEl: viewEl, expanded: new Set(), selected: null };
      state.view = new View.View(viewEl, svg, {
        minimap: wrap.querySelector("canvas.dag-minimap"),
        paintMinimap: paintMinimap(state),
        onCommit: function (scale) {
          if (state.result && !state.detailed && scale >= View.FAR_K) redrawInPlace(state);
        },
      });
      states.set(svg, state);
      bind(state);
      watchTheme(state);
    }
    state.graph = { nodes: graph.nodes || [], edges: graph.edges || [] };
    state.status = state.graph.nodes.map(function (node) { return node.status ? String(node.status) : ""; });
    state.extra = state.graph.nodes.map(function (node) { return { items: node.items || null, detail: node.detail || "", note: node.note || "" }; });
    state.orientation = savedOrientation();
    showOrientation(state);
    render(state, { fit: true });
  }

  /* ---- statuses, selection, groups ---- */

  function updateNode(state, index) {
    var node = state.graph.nodes[index];
    var el = state.nodeEls.get(String(node.id));
    if (!el) return;
    el.setAttribute("class", nodeClass(state, index));
    el.setAttribute("aria-label", describe(node, state.status[index], state.extra[index]));
    if (!Layout.isTall(node)) return;
    if (node.map) el.setAttribute("data-counts", countsAttr(state.extra[index].items));
    el.innerHTML = nodeInner(state, state.itemOf.get(el));
  }

  function updateGroup(state, item) {
    var parts = groupParts(state, item);
    item.el.setAttribute("class", parts.cls);
    item.el.setAttribute("data-counts", parts.counts);
    item.el.setAttribute("aria-label", parts.label);
    item.el.innerHTML = parts.inner;
  }

  function setStatuses(svg, statuses) {
    var state = states.get(svg);
    if (!state || !state.result) return;
    var result = state.result;
    var groups = new Set();
    Object.keys(statuses).forEach(function (step) {
      var index = result.index.get(step);
      if (index === undefined) return;
      state.status[index] = statuses[step] ? String(statuses[step]) : "";
      var item = result.items[result.itemOf[index]];
      if (item.type === "group") groups.add(item);
      else updateNode(state, index);
    });
    groups.forEach(function (item) { updateGroup(state, item); });
    state.view.repaintMinimap();
  }

  /* What nodes show beyond their status, from the run page's live updates (workflows/web/live.py node_state):
     a map's counts, a waiting step's wait; {} clears them. Steps inside a collapsed group are kept for when
     it opens. */
  function setNodes(svg, nodes) {
    var state = states.get(svg);
    if (!state || !state.result) return;
    var result = state.result;
    Object.keys(nodes).forEach(function (step) {
      var index = result.index.get(step);
      if (index === undefined) return;
      var given = nodes[step] || {};
      state.extra[index] = { items: given.items || null, detail: given.detail || "", note: given.note || "" };
      if (result.items[result.itemOf[index]].type === "node") updateNode(state, index);
    });
  }

  /* Draws again at the same place and scale, keeping the focus on the same box. */
  function redrawInPlace(state) {
    var focused = boxOf(state, document.activeElement);
    var step = focused && focused.getAttribute("data-step");
    var key = focused && focused.getAttribute("data-group");
    render(state, {});
    var again = step ? state.nodeEls.get(step) : key && state.byKey.get(key) && state.byKey.get(key).el;
    if (again) again.focus({ preventScroll: true });
  }

  /* Opens or closes a group where it stands: the box clicked stays under the pointer. */
  function toggleGroup(state, key, open) {
    var before = state.byKey.get(key);
    if (!before) return null;
    var screen = state.view.screenOf(before.x, before.y);
    if (open) state.expanded.add(key);
    else state.expanded.delete(key);
    render(state, { grow: true });
    var after = state.byKey.get(key);
    state.view.keepAt(after.x, after.y, screen);
    return after;
  }

  function select(svg, step) {
    var state = states.get(svg);
    if (!state || !state.result) return false;
    var index = state.result.index.get(step);
    if (index === undefined) return false;
    var item = state.result.items[state.result.itemOf[index]];
    if (item.type === "group") toggleGroup(state, item.key, true); // a step inside: show it
    var previous = state.selected && state.nodeEls.get(state.selected);
    if (previous) previous.classList.remove("selected");
    state.selected = step;
    var el = state.nodeEls.get(step);
    el.classList.add("selected");
    state.view.reveal(state.itemOf.get(el));
    return true;
  }

  function activate(state, el) {
    var item = state.itemOf.get(el);
    if (item.type !== "node") {
      var next = toggleGroup(state, item.key, item.type === "group");
      if (next) next.el.focus({ preventScroll: true });
      return;
    }
    var step = el.getAttribute("data-step");
    select(state.svg, step);
    state.svg.dispatchEvent(new CustomEvent("dag:select", { bubbles: true, detail: { step: step } }));
  }

  function boxOf(state, target) {
    while (target && target !== state.svg) {
      if (state.itemOf.has(target)) return target;
      target = target.parentNode;
    }
    return null;
  }

  /* ---- the toolbar and the graph's own events ---- */

  function showOrientation(state) {
    var button = state.wrap.querySelector('[data-dag-action="orientation"]');
    if (button) button.setAttribute("aria-pressed", state.orientation === "tb" ? "true" : "false");
  }

  function onAction(state, action) {
    if (action === "zoom-in") state.view.zoomBy(View.STEP);
    else if (action === "zoom-out") state.view.zoomBy(1 / View.STEP);
    else if (action === "fit") state.view.fit();
    else if (action === "orientation") {
      state.orientation = state.orientation === "tb" ? "lr" : "tb";
      try {
        window.localStorage.setItem(ORIENTATION_KEY, state.orientation);
      } catch (error) {
        // not remembered, still switched
      }
      showOrientation(state);
      render(state, { fit: true });
    }
  }

  function bind(state) {
    var svg = state.svg;
    svg.addEventListener("click", function (event) {
      var el = boxOf(state, event.target);
      if (el) activate(state, el);
    });
    svg.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" && event.key !== " ") return;
      var el = boxOf(state, event.target);
      if (!el) return;
      event.preventDefault(); // Space would scroll
      activate(state, el);
    });
    svg.addEventListener("focusin", function (event) {
      var el = boxOf(state, event.target);
      if (el) state.view.reveal(state.itemOf.get(el));
    });
    // One tooltip for all boxes (a <title> in each would cost 5,000 more elements).
    state.viewEl.addEventListener("pointerover", function (event) {
      var el = boxOf(state, event.target);
      state.viewEl.title = el ? el.getAttribute("aria-label") : "";
    });
    state.wrap.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-dag-action]");
      if (button && state.wrap.contains(button)) onAction(state, button.getAttribute("data-dag-action"));
    });
  }

  /* The minimap's colours are the page's variables as they were when it was painted: a theme
     switch (data-theme on <html>, which static/oaweb/theme.js sets, the system's choice included) repaints it. */
  function watchTheme(state) {
    var repaint = function () { state.view.repaintMinimap(); };
    new MutationObserver(repaint).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  }

  function drawAll(root) {
    var found = root.querySelectorAll ? root.querySelectorAll("svg.dag[data-graph]") : [];
    var list = Array.prototype.slice.call(found);
    if (root.matches && root.matches("svg.dag[data-graph]")) list.push(root);
    list.forEach(function (svg) {
      if (svg.dataset.ready !== "true") draw(svg);
    });
  }

  window.oawebDag = {
    setStatuses: setStatuses,
    setNodes: setNodes,
    select: select,
    draw: draw,
    layout: Layout.layout,
    view: function (svg) {
      var state = states.get(svg);
      return state ? state.view.state() : null;
    },
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      drawAll(document);
    });
  } else {
    drawAll(document);
  }
  document.addEventListener("htmx:load", function (event) {
    drawAll(event.detail && event.detail.elt ? event.detail.elt : document);
  });
})();
