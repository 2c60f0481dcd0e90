// Times oaweb's DAG layout (static/oaweb/dag_layout.js) without a browser.
//
//   node bench/dag_layout.js [steps] [parents-per-step]
//
// A layered workflow: layers of 50 steps, each step after the first layer with
// 3 parents (mostly in the layer before, some further back): 5,000 steps and
// about 15,000 edges by default. Then a wide fan-out of the same size (one
// step, steps-2 siblings, one join), collapsed into one group and expanded.
// Both orientations. Prints figures; asserts nothing. The drawing itself (SVG
// markup, the browser's style and paint) is measured in the browser by
// tests/browser/test_graph.py.
"use strict";

const path = require("path");
const { layout } = require(path.join(__dirname, "..", "static", "oaweb", "dag_layout.js"));

const steps = Number(process.argv[2] || 5000);
const fanIn = Number(process.argv[3] || 3);
const perLayer = 50;

function layered() {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const nodes = [];
  const edges = [];
  for (let i = 0; i < steps; i++) {
    const layer = Math.floor(i / perLayer);
    nodes.push({ id: `step-${i}`, component: "core.noop", kind: "transform", status: "" });
    if (layer === 0) continue;
    const parents = new Set();
    while (parents.size < fanIn) {
      const back = random() < 0.8 ? 1 : 1 + Math.floor(random() * Math.min(layer, 5));
      parents.add((layer - back) * perLayer + Math.floor(random() * perLayer));
    }
    for (const parent of parents) edges.push([`step-${parent}`, `step-${i}`]);
  }
  return { nodes, edges };
}

function fanOut() {
  const nodes = [{ id: "start", component: "core.noop" }, { id: "join", component: "core.noop" }];
  const edges = [];
  for (let i = 0; i < steps - 2; i++) {
    nodes.push({ id: `item-${i}`, component: "core.sleep" });
    edges.push(["start", `item-${i}`], [`item-${i}`, "join"]);
  }
  return { nodes, edges };
}

function best(graph, options, runs = 5) {
  const text = JSON.stringify(graph);
  let fastest = Infinity;
  let result;
  for (let run = 0; run < runs; run++) {
    const parsed = JSON.parse(text);
    const started = process.hrtime.bigint();
    result = layout(parsed, options);
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { ms: fastest, result };
}

function report(name, graph, options) {
  const { ms, result } = best(graph, options);
  const kinds = result.items.reduce((count, item) => ((count[item.type] = (count[item.type] || 0) + 1), count), {});
  console.log(
    `${name.padEnd(34)} ${String(graph.nodes.length).padStart(6)} steps ${String(result.edgeCount).padStart(6)} edges drawn ` +
      `${String(result.layers).padStart(4)} layers  boxes ${JSON.stringify(kinds).padEnd(36)} ` +
      `${ms.toFixed(1).padStart(7)} ms  ${result.width} x ${result.height} px`
  );
}

const grid = layered();
const wide = fanOut();
for (const orientation of ["lr", "tb"]) {
  report(`layered, ${orientation}`, grid, { orientation });
  report(`fan-out collapsed, ${orientation}`, wide, { orientation });
  report(`fan-out expanded, ${orientation}`, wide, { orientation, expanded: new Set(["g-item-0"]) });
}
console.log("(best of 5 runs each, after JSON.parse)");
