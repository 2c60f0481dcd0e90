/* The metrics page's charts: uPlot over the series the server put in #metrics-data.
   The server renders everything else; this only draws, again after each htmx swap. */
(function () {
  "use strict";

  var COLOURS = ["#2855d8", "#d98b00", "#d92d20", "#1f9254", "#6b4fbb", "#0e9384", "#98a2b3", "#c11574"];
  var charts = [];

  // Three significant digits, without trailing zeros after the point ("200", "2.5", never "2" for 200).
  function short(value) { return String(Number(value.toPrecision(3))); }
  function seconds(value) {
    if (value == null) return "–";
    if (value === 0) return "0";
    if (value < 0.001) return Math.round(value * 1e6) + " µs";
    if (value < 1) return short(value * 1000) + " ms";
    if (value < 60) return short(value) + " s";
    if (value < 3600) return (value / 60).toFixed(1) + " min";
    return (value / 3600).toFixed(1) + " h";
  }
  function count(value) { return value == null ? "–" : (Math.round(value * 10) / 10).toString(); }
  function percent(value) { return value == null ? "–" : value.toFixed(1) + " %"; }

  // chart name -> [[label, values], ...] and the unit formatter
  var SPECS = {
    throughput: function (d) { return { format: count, series: [["runs/min", d.runs], ["steps/min", d.steps]] }; },
    errors: function (d) { return { format: percent, series: [["runs failed", d.run_errors], ["steps failed", d.step_errors]] }; },
    run_latency: function (d) { return { format: seconds, series: [["p50", d.run_p50], ["p95", d.run_p95], ["p99", d.run_p99]] }; },
    step_latency: function (d) { return { format: seconds, series: [["p50", d.step_p50], ["p95", d.step_p95], ["p99", d.step_p99]] }; },
    queue_wait: function (d) { return { format: seconds, series: [["p50", d.wait_p50], ["p95", d.wait_p95], ["p99", d.wait_p99]] }; },
    queues: function (d) {
      return { format: count, series: Object.keys(d.queues).map(function (name) { return [name, d.queues[name]]; }) };
    },
    workers: function (d) { return { format: count, series: [["busy", d.workers.busy], ["slots", d.workers.slots]] }; },
  };

  // A value with no value beside it draws no line: mark where each stretch of data starts and ends.
  function edges(u, seriesIndex) {
    var values = u.data[seriesIndex], marked = [];
    for (var i = 0; i < values.length; i++) {
      if (values[i] != null && (values[i - 1] == null || values[i + 1] == null)) marked.push(i);
    }
    return marked;
  }

  function draw() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    var source = document.getElementById("metrics-data");
    if (!source || !window.uPlot) return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("#metrics [data-chart]").forEach(function (element) {
      var spec = SPECS[element.dataset.chart](data);
      element.textContent = "";
      if (!spec.series.length) {
        element.textContent = "No samples yet: workers record them once a minute.";
        element.className = "chart hint";
        return;
      }
      var options = {
        width: Math.max(element.clientWidth, 240),
        height: 180,
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
        axes: [{}, { values: function (u, ticks) { return ticks.map(spec.format); }, size: 64 }],
        series: [{}].concat(spec.series.map(function (item, index) {
          return { label: item[0], stroke: COLOURS[index % COLOURS.length], width: 1.5,
                   points: { show: true, size: 5, filter: edges },
                   value: function (u, v) { return spec.format(v); } };
        })),
      };
      var values = [data.x].concat(spec.series.map(function (item) { return item[1]; }));
      charts.push(new uPlot(options, values, element));
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  // The 10 s refresh and the range links swap the whole panel in.
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.id === "metrics") draw();
  });
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(draw, 200);
  });
})();
