/* oaweb DAG layout: where each box of the step graph goes. Pure: no DOM, so
   Node runs it too (bench/dag_layout.js); static/oaweb/dag.js draws the result.

   layout({nodes: [{id, component, kind, status}], edges: [[from, to]]},
          {orientation: "lr" | "tb", expanded: Set of group keys})
   -> {items, frames, edgePaths, edgeCount, width, height, orientation, layers, groups}

   A node with `map` (a map step: one box however many items it has) or
   `waits` (a step that may wait) is as tall as a group, with a second line
   for its counts or what it waits for (dag.js draws them).

   An item is one box: {type: "node", index} (a step; index into graph.nodes),
   {type: "group", key, members} (a collapsed fan-out) or {type: "header", key,
   members} (the handle that collapses an expanded one), each with x, y, w, h
   and layer. A fan-out group: more than GROUP_OVER steps with the same parents
   and the same children (siblings that read as one box). frames: the box
   around each expanded group. edgePaths: one SVG path string per source layer
   (one element per layer, not per edge, keeps 15,000 edges cheap to draw).

   Why our own layout: dagre took 10-240 s and elkjs 5.5 s on a 2,000-step,
   6,000-edge workflow (static/vendor/README.md). This is linear per sweep:
   longest-path layers (Kahn), a few barycenter sweeps down and up, positions. */
(function () {
  "use strict";

  var NODE_H = 28;
  var GROUP_H = 48;
  var GAP_LAYER = 56;
  var GAP_CROSS = 12;
  var MARGIN = 16;
  var CHAR_W = 7; // average width of a 12px system-ui character: no text measuring
  var PAD_X = 10;
  var GLYPH_W = 16; // the kind's glyph before the label
  var MIN_W = 64;
  var MAX_W = 200;
  var TB_W = 150; // top-down: every box this wide, so a layer is one row of equal slots
  var GROUP_W = 170; // room for a group's counts line
  var SWEEPS = 4;
  var GROUP_OVER = 12;

  function textWidth(chars) {
    return chars * CHAR_W + 2 * PAD_X + GLYPH_W;
  }
  var MAX_CHARS = Math.floor((MAX_W - textWidth(0)) / CHAR_W);

  /* Adjacency of the steps: unknown endpoints, self-loops and duplicates dropped. */
  function adjacency(graph) {
    var input = (graph && graph.nodes) || [];
    var n = input.length;
    var index = new Map();
    var i;
    for (i = 0; i < n; i++) index.set(String(input[i].id), i);
    var parents = new Array(n);
    var children = new Array(n);
    for (i = 0; i < n; i++) {
      parents[i] = [];
      children[i] = [];
    }
    var seen = new Set();
    var raw = (graph && graph.edges) || [];
    for (var k = 0; k < raw.length; k++) {
      var a = index.get(String(raw[k][0]));
      var b = index.get(String(raw[k][1]));
      if (a === undefined || b === undefined || a === b || seen.has(a * n + b)) continue;
      seen.add(a * n + b);
      parents[b].push(a);
      children[a].push(b);
    }
    return { input: input, n: n, index: index, parents: parents, children: children };
  }

  /* Fan-out groups: steps whose parents and children are the same sets. The
     key is the first member's id, so it survives a redraw of the same graph. */
  function findGroups(adj) {
    var bySiblings = new Map();
    for (var i = 0; i < adj.n; i++) {
      var key = adj.parents[i].slice().sort().join(",") + "|" + adj.children[i].slice().sort().join(",");
      var list = bySiblings.get(key);
      if (list) list.push(i);
      else bySiblings.set(key, [i]);
    }
    var groups = [];
    bySiblings.forEach(function (members) {
      if (members.length > GROUP_OVER) groups.push({ key: "g-" + String(adj.input[members[0]].id), members: members });
    });
    return groups;
  }

  /* The boxes to lay out and the edges between them: a collapsed group stands
     for its members; an expanded one adds its header beside them. */
  function buildItems(adj, groups, expanded) {
    var itemOf = new Int32Array(adj.n).fill(-1);
    var items = [];
    groups.forEach(function (group) {
      var open = expanded.has(group.key);
      var item = { type: open ? "header" : "group", key: group.key, members: group.members };
      if (!open) group.members.forEach(function (m) { itemOf[m] = items.length; });
      items.push(item);
    });
    for (var i = 0; i < adj.n; i++) {
      if (itemOf[i] >= 0) continue;
      itemOf[i] = items.length;
      items.push({ type: "node", index: i });
    }
    var m = items.length;
    var parents = new Array(m);
    var children = new Array(m);
    for (i = 0; i < m; i++) {
      parents[i] = [];
      children[i] = [];
    }
    var seen = new Set();
    var edges = [];
    for (var b = 0; b < adj.n; b++) {
      for (var k = 0; k < adj.parents[b].length; k++) {
        var from = itemOf[adj.parents[b][k]];
        var to = itemOf[b];
        if (from === to || seen.has(from * m + to)) continue;
        seen.add(from * m + to);
        parents[to].push(from);
        children[from].push(to);
        edges.push(from, to);
      }
    }
    return { items: items, itemOf: itemOf, parents: parents, children: children, edges: edges };
  }

  /* Longest path from the sources in Kahn's order; steps on a cycle (a
     definition being edited) keep the layer their other parents give them.
     A header takes its members' layer. */
  function assignLayers(built) {
    var m = built.items.length;
    var waiting = new Int32Array(m);
    var layerOf = new Int32Array(m);
    var order = new Int32Array(m);
    var head = 0;
    var tail = 0;
    var i;
    for (i = 0; i < m; i++) {
      waiting[i] = built.parents[i].length;
      if (waiting[i] === 0 && built.items[i].type !== "header") order[tail++] = i;
    }
    while (head < tail) {
      var v = order[head++];
      var kids = built.children[v];
      for (var j = 0; j < kids.length; j++) {
        var c = kids[j];
        if (layerOf[v] + 1 > layerOf[c]) layerOf[c] = layerOf[v] + 1;
        if (--waiting[c] === 0) order[tail++] = c;
      }
    }
    for (i = 0; i < m && tail < m; i++) {
      if (waiting[i] > 0) order[tail++] = i; // on a cycle
    }
    for (i = 0; i < m; i++) {
      var item = built.items[i];
      if (item.type === "header") {
        layerOf[i] = layerOf[built.itemOf[item.members[0]]];
        order[tail++] = i;
      }
    }
    return { layerOf: layerOf, order: order };
  }

  /* Orders each layer by barycenter sweeps. pos: an item's centre in its
     layer, in slots, centred on 0 so layers of different sizes line up. */
  function orderLayers(built, layered, span) {
    var m = built.items.length;
    var layerCount = 0;
    var i;
    for (i = 0; i < m; i++) if (layered.layerOf[i] + 1 > layerCount) layerCount = layered.layerOf[i] + 1;
    var rows = new Array(layerCount);
    for (i = 0; i < layerCount; i++) rows[i] = [];
    for (i = 0; i < m; i++) rows[layered.layerOf[layered.order[i]]].push(layered.order[i]);
    var pos = new Float64Array(m);
    var bary = new Float64Array(m);
    function place(row) {
      var total = 0;
      var p;
      for (p = 0; p < row.length; p++) total += span[row[p]];
      var cursor = -total / 2;
      for (p = 0; p < row.length; p++) {
        pos[row[p]] = cursor + span[row[p]] / 2;
        cursor += span[row[p]];
      }
    }
    function byBarycenter(x, y) {
      return bary[x] - bary[y] || pos[x] - pos[y];
    }
    function sweep(row, neighbours) {
      for (var p = 0; p < row.length; p++) {
        var list = neighbours[row[p]];
        var sum = 0;
        for (var q = 0; q < list.length; q++) sum += pos[list[q]];
        bary[row[p]] = list.length ? sum / list.length : pos[row[p]];
      }
      row.sort(byBarycenter);
      place(row);
    }
    for (i = 0; i < layerCount; i++) place(rows[i]);
    for (var round = 0; round < SWEEPS; round++) {
      for (i = 1; i < layerCount; i++) sweep(rows[i], built.parents);
      for (i = layerCount - 2; i >= 0; i--) sweep(rows[i], built.children);
    }
    rows.forEach(function (row, r) {
      rows[r] = keepGroupsTogether(row, built);
      place(rows[r]);
    });
    return { rows: rows, pos: pos };
  }

  /* An expanded group's header, then its members, side by side: members share
     their barycenters, but another sibling may have slipped between them. */
  function keepGroupsTogether(row, built) {
    var headers = row.filter(function (i) { return built.items[i].type === "header"; });
    if (!headers.length) return row;
    var memberOf = new Map();
    headers.forEach(function (h) {
      built.items[h].members.forEach(function (m) { memberOf.set(built.itemOf[m], h); });
    });
    var out = [];
    var placed = new Set();
    row.forEach(function (i) {
      if (built.items[i].type === "header" && !memberOf.has(i)) return; // placed with its first member
      var h = memberOf.get(i);
      if (h === undefined) {
        out.push(i);
        return;
      }
      if (placed.has(h)) return;
      placed.add(h);
      out.push(h);
      built.items[h].members.forEach(function (m) { out.push(built.itemOf[m]); });
    });
    headers.forEach(function (h) { if (!placed.has(h)) out.push(h); }); // members elsewhere: cannot happen, but never lose a box
    return out;
  }

  /* "component ×K" when the members share a component, else "K steps". */
  function groupLabel(members, input) {
    var component = input[members[0]].component || "";
    for (var i = 1; i < members.length && component; i++) {
      if ((input[members[i]].component || "") !== component) component = "";
    }
    return (component || "steps") + " \u00d7" + members.length;
  }

  /* A step drawn with a second line: a map's counts, or what a waiting step waits for. */
  function isTall(node) {
    return !!(node && (node.map || node.waits));
  }

  /* Each item's box, and how many cross-axis slots it takes. */
  function measure(built, input, lr) {
    var m = built.items.length;
    var w = new Float64Array(m);
    var h = new Float64Array(m);
    var span = new Float64Array(m);
    var unit = lr ? NODE_H + GAP_CROSS : TB_W + GAP_CROSS;
    for (var i = 0; i < m; i++) {
      var item = built.items[i];
      var chars = item.type === "node" ? String(input[item.index].id).length : item.label.length + 2;
      if (item.type === "group" || (item.type === "node" && isTall(input[item.index]))) {
        w[i] = lr ? Math.min(MAX_W, Math.max(GROUP_W, textWidth(chars))) : TB_W;
        h[i] = GROUP_H;
      } else {
        w[i] = lr ? Math.max(MIN_W, textWidth(Math.min(chars, MAX_CHARS))) : TB_W;
        h[i] = NODE_H;
      }
      span[i] = Math.ceil(((lr ? h[i] : w[i]) + GAP_CROSS) / unit);
    }
    return { w: w, h: h, span: span, unit: unit };
  }

  /* Coordinates: layers along the major axis (x left-right, y top-down), each
     as deep as its deepest box; slots along the other, rows centred. */
  function position(built, layerOf, ordered, box, lr) {
    var rows = ordered.rows;
    var extent = new Float64Array(rows.length);
    var maxSpan = 0;
    var i;
    rows.forEach(function (row, r) {
      var total = 0;
      row.forEach(function (item) {
        extent[r] = Math.max(extent[r], lr ? box.w[item] : box.h[item]);
        total += box.span[item];
      });
      maxSpan = Math.max(maxSpan, total);
    });
    var start = new Float64Array(rows.length);
    var major = MARGIN;
    for (i = 0; i < rows.length; i++) {
      start[i] = major;
      major += extent[i] + GAP_LAYER;
    }
    var majorSize = rows.length ? major - GAP_LAYER + MARGIN : 2 * MARGIN;
    var minorSize = maxSpan ? 2 * MARGIN + maxSpan * box.unit - GAP_CROSS : 2 * MARGIN;
    var items = built.items;
    for (i = 0; i < items.length; i++) {
      var slot = MARGIN + (ordered.pos[i] - box.span[i] / 2 + maxSpan / 2) * box.unit;
      var minor = slot + (box.span[i] * box.unit - GAP_CROSS - (lr ? box.h[i] : box.w[i])) / 2;
      var item = items[i];
      item.x = Math.round(lr ? start[layerOf[i]] : minor);
      item.y = Math.round(lr ? minor : start[layerOf[i]]);
      item.w = box.w[i];
      item.h = box.h[i];
      item.layer = layerOf[i];
    }
    return { width: Math.ceil(lr ? majorSize : minorSize), height: Math.ceil(lr ? minorSize : majorSize) };
  }

  /* Cubic curves from a parent's far side to a child's near side, one path
     string per source layer. */
  function edgePaths(built, lr) {
    var byLayer = [];
    var list = built.edges;
    for (var k = 0; k < list.length; k += 2) {
      var a = built.items[list[k]];
      var b = built.items[list[k + 1]];
      var d;
      if (lr) {
        var x1 = a.x + a.w;
        var y1 = Math.round(a.y + a.h / 2);
        var y2 = Math.round(b.y + b.h / 2);
        var bx = Math.round(Math.max(GAP_LAYER / 2, Math.abs(b.x - x1) / 2));
        d = "M" + x1 + " " + y1 + "C" + (x1 + bx) + " " + y1 + " " + (b.x - bx) + " " + y2 + " " + b.x + " " + y2;
      } else {
        var sx = Math.round(a.x + a.w / 2);
        var sy = a.y + a.h;
        var ex = Math.round(b.x + b.w / 2);
        var by = Math.round(Math.max(GAP_LAYER / 2, Math.abs(b.y - sy) / 2));
        d = "M" + sx + " " + sy + "C" + sx + " " + (sy + by) + " " + ex + " " + (b.y - by) + " " + ex + " " + b.y;
      }
      (byLayer[a.layer] = byLayer[a.layer] || []).push(d);
    }
    var paths = [];
    byLayer.forEach(function (parts) { if (parts) paths.push(parts.join("")); });
    return paths;
  }

  /* The box drawn around an expanded group: its header and members. */
  function frames(built) {
    var pad = 5;
    var out = [];
    built.items.forEach(function (item) {
      if (item.type !== "header") return;
      var x1 = item.x, y1 = item.y, x2 = item.x + item.w, y2 = item.y + item.h;
      item.members.forEach(function (m) {
        var box = built.items[built.itemOf[m]];
        x1 = Math.min(x1, box.x);
        y1 = Math.min(y1, box.y);
        x2 = Math.max(x2, box.x + box.w);
        y2 = Math.max(y2, box.y + box.h);
      });
      out.push({ key: item.key, x: x1 - pad, y: y1 - pad, w: x2 - x1 + 2 * pad, h: y2 - y1 + 2 * pad });
    });
    return out;
  }

  /* The whole layout; see the top of this file. */
  function layout(graph, options) {
    options = options || {};
    var lr = options.orientation !== "tb";
    var adj = adjacency(graph);
    var groups = findGroups(adj);
    var built = buildItems(adj, groups, options.expanded || new Set());
    built.items.forEach(function (item) {
      if (item.type !== "node") item.label = groupLabel(item.members, adj.input);
    });
    var box = measure(built, adj.input, lr);
    var layered = assignLayers(built);
    var ordered = orderLayers(built, layered, box.span);
    var size = position(built, layered.layerOf, ordered, box, lr);
    return {
      items: built.items,
      order: [].concat.apply([], ordered.rows),
      itemOf: built.itemOf,
      index: adj.index,
      frames: frames(built),
      edgePaths: edgePaths(built, lr),
      edgeCount: built.edges.length / 2,
      width: size.width,
      height: size.height,
      orientation: lr ? "lr" : "tb",
      layers: ordered.rows.length,
      groups: groups.length,
    };
  }

  var api = {
    layout: layout,
    isTall: isTall,
    sizes: { NODE_H: NODE_H, GROUP_H: GROUP_H, PAD_X: PAD_X, GLYPH_W: GLYPH_W, CHAR_W: CHAR_W, GROUP_OVER: GROUP_OVER },
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (typeof window !== "undefined") window.oawebDagLayout = api;
})();
