// Times oaweb's DAG layout (static/oaweb/dag.js) without a browser.
//
//   node bench/dag_layout.js [steps] [edges-per-step]
//
// A layered workflow: 40 layers of 50 steps by default, each step after the
// first layer with 3 parents (mostly in the layer before, some further back),
// so 2,000 steps and about 6,000 edges. Prints figures; asserts nothing.
"use strict";

const path = require("path");
const { layout, toSvg } = require(path.join(__dirname, "..", "static", "oaweb", "dag.js"));

const steps = Number(process.argv[2] || 2000);
const fanIn = Number(process.argv[3] || 3);
const perLayer = 50;

function workflow() {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const nodes = [];
  const edges = [];
  for (let i = 0; i < steps; i++) {
    const layer = Math.floor(i / perLayer);
    nodes.push({ id: `step-${i}`, component: "core.noop", status: "" });
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

const graph = workflow();
const text = JSON.stringify(graph);
const runs = 5;
let best = { parse: Infinity, layout: Infinity, svg: Infinity };
let result;
let markup;
for (let run = 0; run < runs; run++) {
  let t = process.hrtime.bigint();
  const parsed = JSON.parse(text);
  const parse = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  result = layout(parsed);
  const lay = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  markup = toSvg(result);
  const svg = Number(process.hrtime.bigint() - t) / 1e6;
  best = { parse: Math.min(best.parse, parse), layout: Math.min(best.layout, lay), svg: Math.min(best.svg, svg) };
}
console.log(`${graph.nodes.length} steps, ${result.edges.length} edges, ${1 + Math.max(...result.nodes.map((n) => n.layer))} layers`);
console.log(`layout: ${best.layout.toFixed(1)} ms   svg string: ${best.svg.toFixed(1)} ms (${(markup.length / 1024).toFixed(0)} KiB)   JSON.parse: ${best.parse.toFixed(1)} ms   (best of ${runs})`);
console.log(`drawing: ${result.width} x ${result.height} px`);
