/* oaweb DAG picture: a layered (Sugiyama-style) drawing of a workflow's steps.

   Markup (templates/workflows/_dag.html):
     <svg class="dag" data-graph="ID"> + <script type="application/json" id="ID">
     holding {"nodes": [{"id", "component", "status"}], "edges": [[from, to]]}
     (workflows/web/graphs.py; json_script may wrap that JSON text in a JSON
     string, which is unwrapped here).
   Every svg.dag[data-graph] is drawn on DOMContentLoaded and after htmx adds
   one. A node is <g class="node st-STATUS" data-step="ID" tabindex="0">.
   API: window.oawebDag = {setStatuses(svg, {step: status}), select(svg, step), draw(svg)}.
   Clicking a node, or Enter/Space on a focused one, dispatches a bubbling
   CustomEvent "dag:select" with detail {step} on the svg.

   Why our own layout: dagre took 10-240 s and elkjs 5.5 s on a 2,000-step,
   6,000-edge workflow (static/vendor/README.md). This is linear per sweep:
   longest-path layers (Kahn), a few barycenter sweeps down and up, then
   positions; the SVG is built as one string and set once.
   `node bench/dag_layout.js` times layout() and toSvg() without a browser. */
(function () {
  "use strict";

  var NODE_H = 28;
  var GAP_X = 56;
  var GAP_Y = 12;
  var MARGIN = 16;
  var CHAR_W = 7; // average width of a 12px system-ui character: no text measuring
  var PAD_X = 10;
  var MIN_W = 64;
  var MAX_W = 200;
  var SWEEPS = 4;
  var MAX_CHARS = Math.floor((MAX_W - 2 * PAD_X) / CHAR_W);
  var STATUS_RE = /^[a-z_-]+$/;

  function label(text) {
    return text.length > MAX_CHARS ? text.slice(0, MAX_CHARS - 1) + "\u2026" : text;
  }

  /* The pure layout: {nodes: [{id, component, status, x, y, w, h, layer}],
     edges: [{from, to, d}], width, height}. Unknown endpoints, self-loops and
     duplicate edges are dropped; steps on a cycle (a definition being
     edited) keep the layer their other parents give them. */
  function layout(graph) {
    var input = (graph && graph.nodes) || [];
    var n = input.length;
    var index = new Map();
    var i, j, k;
    for (i = 0; i < n; i++) index.set(String(input[i].id), i);
    var parents = new Array(n);
    var children = new Array(n);
    for (i = 0; i < n; i++) {
      parents[i] = [];
      children[i] = [];
    }
    var edgeList = [];
    var seen = new Set();
    var rawEdges = (graph && graph.edges) || [];
    for (k = 0; k < rawEdges.length; k++) {
      var a = index.get(String(rawEdges[k][0]));
      var b = index.get(String(rawEdges[k][1]));
      if (a === undefined || b === undefined || a === b) continue;
      var key = a * n + b;
      if (seen.has(key)) continue;
      seen.add(key);
      parents[b].push(a);
      children[a].push(b);
      edgeList.push(a, b);
    }

    // Layers: longest path from the sources, in Kahn's topological order.
    var waiting = new Int32Array(n);
    var layerOf = new Int32Array(n);
    var order = new Int32Array(n);
    var head = 0;
    var tail = 0;
    for (i = 0; i < n; i++) {
      waiting[i] = parents[i].length;
      if (waiting[i] === 0) order[tail++] = i;
    }
    while (head < tail) {
      var v = order[head++];
      var kids = children[v];
      for (j = 0; j < kids.length; j++) {
        var c = kids[j];
        if (layerOf[v] + 1 > layerOf[c]) layerOf[c] = layerOf[v] + 1;
        if (--waiting[c] === 0) order[tail++] = c;
      }
    }
    for (i = 0; i < n && tail < n; i++) if (waiting[i] > 0) order[tail++] = i; // on a cycle
    var layerCount = 0;
    for (i = 0; i < n; i++) if (layerOf[i] + 1 > layerCount) layerCount = layerOf[i] + 1;
    var rows = new Array(layerCount);
    for (i = 0; i < layerCount; i++) rows[i] = [];
    for (k = 0; k < n; k++) rows[layerOf[order[k]]].push(order[k]);

    // pos: a node's place in its layer, centred on 0 so layers of different
    // sizes line up; barycenters average the neighbours' places.
    var pos = new Float64Array(n);
    var bary = new Float64Array(n);
    function place(row) {
      var mid = (row.length - 1) / 2;
      for (var p = 0; p < row.length; p++) pos[row[p]] = p - mid;
    }
    function byBarycenter(x, y) {
      return bary[x] - bary[y] || pos[x] - pos[y];
    }
    function sweep(row, neighbours) {
      for (var p = 0; p < row.length; p++) {
        var node = row[p];
        var list = neighbours[node];
        if (list.length === 0) {
          bary[node] = pos[node];
          continue;
        }
        var sum = 0;
        for (var q = 0; q < list.length; q++) sum += pos[list[q]];
        bary[node] = sum / list.length;
      }
      row.sort(byBarycenter);
      place(row);
    }
    for (i = 0; i < layerCount; i++) place(rows[i]);
    for (var round = 0; round < SWEEPS; round++) {
      for (i = 1; i < layerCount; i++) sweep(rows[i], parents);
      for (i = layerCount - 2; i >= 0; i--) sweep(rows[i], children);
    }

    // Coordinates: columns as wide as their widest node, rows centred.
    var widths = new Float64Array(n);
    var columnW = new Float64Array(layerCount);
    var maxRow = 0;
    for (i = 0; i < n; i++) {
      var chars = Math.min(String(input[i].id).length, MAX_CHARS);
      widths[i] = Math.max(MIN_W, chars * CHAR_W + 2 * PAD_X);
      if (widths[i] > columnW[layerOf[i]]) columnW[layerOf[i]] = widths[i];
    }
    var columnX = new Float64Array(layerCount);
    var x = MARGIN;
    for (i = 0; i < layerCount; i++) {
      columnX[i] = x;
      x += columnW[i] + GAP_X;
      if (rows[i].length > maxRow) maxRow = rows[i].length;
    }
    var width = layerCount ? x - GAP_X + MARGIN : 2 * MARGIN;
    var height = maxRow ? 2 * MARGIN + maxRow * (NODE_H + GAP_Y) - GAP_Y : 2 * MARGIN;
    var centre = (maxRow - 1) / 2;
    var nodes = new Array(n);
    for (i = 0; i < n; i++) {
      nodes[i] = {
        id: String(input[i].id),
        component: input[i].component ? String(input[i].component) : "",
        status: input[i].status ? String(input[i].status) : "",
        x: columnX[layerOf[i]],
        y: MARGIN + (pos[i] + centre) * (NODE_H + GAP_Y),
        w: widths[i],
        h: NODE_H,
        layer: layerOf[i],
      };
    }
    // Edges: cubic curves from a parent's right side to a child's left side.
    var edges = new Array(edgeList.length / 2);
    for (k = 0; k < edgeList.length; k += 2) {
      var from = nodes[edgeList[k]];
      var to = nodes[edgeList[k + 1]];
      var x1 = Math.round(from.x + from.w);
      var y1 = Math.round(from.y + NODE_H / 2);
      var x2 = Math.round(to.x);
      var y2 = Math.round(to.y + NODE_H / 2);
      var bend = Math.max(GAP_X / 2, Math.abs(x2 - x1) / 2);
      edges[k / 2] = {
        from: from.id,
        to: to.id,
        d: "M" + x1 + " " + y1 + "C" + (x1 + bend) + " " + y1 + " " + (x2 - bend) + " " + y2 + " " + x2 + " " + y2,
      };
    }
    return { nodes: nodes, edges: edges, width: Math.ceil(width), height: Math.ceil(height) };
  }

  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (ch) {
      return ESCAPES[ch];
    });
  }

  function statusClass(status) {
    return status && STATUS_RE.test(status) ? " st-" + status : "";
  }

  /* The inside of the svg as one string: edges first (under the nodes). */
  function toSvg(result) {
    var parts = ['<g class="edges">'];
    var i;
    for (i = 0; i < result.edges.length; i++) {
      var e = result.edges[i];
      parts.push('<path class="edge" data-from="' + esc(e.from) + '" data-to="' + esc(e.to) + '" d="' + e.d + '"/>');
    }
    parts.push('</g><g class="nodes">');
    for (i = 0; i < result.nodes.length; i++) {
      var node = result.nodes[i];
      var id = esc(node.id);
      parts.push(
        '<g class="node' + statusClass(node.status) + '" data-step="' + id + '" tabindex="0"' +
          ' aria-label="' + id + (node.component ? " (" + esc(node.component) + ")" : "") + '"' +
          ' transform="translate(' + Math.round(node.x) + "," + Math.round(node.y) + ')">' +
          "<title>" + esc(node.component || node.id) + "</title>" +
          '<rect width="' + node.w + '" height="' + node.h + '" rx="4"/>' +
          '<text x="' + PAD_X + '" y="' + node.h / 2 + '" dy="0.35em">' + esc(label(node.id)) + "</text></g>"
      );
    }
    if (!result.nodes.length) parts.push('<text x="' + MARGIN + '" y="' + (MARGIN + 4) + '">No steps</text>');
    parts.push("</g>");
    return parts.join("");
  }

  if (typeof module !== "undefined" && module.exports) module.exports = { layout: layout, toSvg: toSvg };
  if (typeof document === "undefined") return;

  var nodeMaps = new WeakMap(); // svg -> Map(step id -> <g>)

  function readGraph(svg) {
    var holder = document.getElementById(svg.getAttribute("data-graph"));
    if (!holder) return null;
    var data = JSON.parse(holder.textContent);
    return typeof data === "string" ? JSON.parse(data) : data;
  }

  function draw(svg) {
    var started = performance.now();
    var graph = readGraph(svg);
    if (!graph) return;
    var result = layout(graph);
    svg.setAttribute("viewBox", "0 0 " + result.width + " " + result.height);
    svg.setAttribute("width", result.width);
    svg.setAttribute("height", result.height);
    svg.innerHTML = toSvg(result);
    var map = new Map();
    var groups = svg.querySelectorAll("g.node");
    for (var i = 0; i < groups.length; i++) map.set(groups[i].getAttribute("data-step"), groups[i]);
    nodeMaps.set(svg, map);
    if (!svg.hasAttribute("data-bound")) {
      svg.setAttribute("data-bound", "");
      svg.addEventListener("click", onActivate);
      svg.addEventListener("keydown", onKey);
    }
    svg.dataset.renderMs = (performance.now() - started).toFixed(1);
    svg.dataset.ready = "true";
  }

  function nodeOf(target) {
    return target && target.closest ? target.closest("g.node") : null;
  }

  function activate(svg, group) {
    var step = group.getAttribute("data-step");
    select(svg, step);
    svg.dispatchEvent(new CustomEvent("dag:select", { bubbles: true, detail: { step: step } }));
  }

  function onActivate(event) {
    var group = nodeOf(event.target);
    if (group) activate(event.currentTarget, group);
  }

  function onKey(event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    var group = nodeOf(event.target);
    if (!group) return;
    event.preventDefault(); // Space would scroll
    activate(event.currentTarget, group);
  }

  function setStatuses(svg, statuses) {
    var map = nodeMaps.get(svg);
    if (!map) return;
    Object.keys(statuses).forEach(function (step) {
      var group = map.get(step);
      if (!group) return;
      var selected = group.classList.contains("selected");
      group.setAttribute("class", "node" + statusClass(statuses[step]) + (selected ? " selected" : ""));
    });
  }

  function select(svg, step) {
    var map = nodeMaps.get(svg);
    if (!map) return false;
    var previous = svg.querySelector("g.node.selected");
    if (previous) previous.classList.remove("selected");
    var group = map.get(step);
    if (!group) return false;
    group.classList.add("selected");
    if (group.scrollIntoView) group.scrollIntoView({ block: "nearest", inline: "nearest" });
    return true;
  }

  function drawAll(root) {
    var found = root.querySelectorAll ? root.querySelectorAll("svg.dag[data-graph]") : [];
    var list = Array.prototype.slice.call(found);
    if (root.matches && root.matches("svg.dag[data-graph]")) list.push(root);
    list.forEach(function (svg) {
      if (svg.dataset.ready !== "true") draw(svg);
    });
  }

  window.oawebDag = { setStatuses: setStatuses, select: select, draw: draw, layout: layout };
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
