/* oaweb DAG view: zoom, pan, fit and the minimap of one drawn graph.
   static/oaweb/dag.js creates one per graph: new window.oawebDagView.View(el, svg, options),
   el the clipping box (div.dag-view) holding the svg and the minimap canvas;
   options: {minimap: canvas, paintMinimap(ctx), onCommit(scale)}.

   Why the whole <svg> moves: a pan sets a CSS translate on the svg element,
   a composited layer, so the browser moves pixels it has already painted
   instead of repainting 5,000 boxes and 15,000 edges. Measured in headless
   Chromium on this machine: 17 ms a frame (the display's pace) against 25-90 ms
   when the SVG's own viewport transform moved. A zoom re-renders at the new
   scale (the viewport group's scale and the svg's size) once the wheel rests
   for COMMIT_MS; until then a CSS scale of the painted layer previews it.
   Below FAR_K the labels are hidden (class "far"): unreadable there, and the
   costliest part to paint (dag.js then leaves them out of a new drawing). */
(function () {
  "use strict";

  var MAX_K = 2;
  var MIN_K = 0.1; // lower still when that is what fitting a big graph takes
  var STEP = 1.25; // one button press or key of zoom
  var PAN_STEP = 60; // one arrow key, in screen pixels (Shift: four times)
  var KEEP = 48; // this much of the drawing always stays in view
  var COMMIT_MS = 120;
  var FAR_K = 0.5;
  var FIT_MARGIN = 12;
  var DRAG_START = 4; // pixels before a press becomes a drag, so that a click stays a click
  var MINI_W = 180;
  var MINI_H = 120;

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  /* The scale that shows a whole drawing of w x h in a view of that size, within the limits. */
  function fitScaleOf(w, h, view) {
    var scale = Math.min((view.w - 2 * FIT_MARGIN) / w, (view.h - 2 * FIT_MARGIN) / h);
    return clamp(scale, Math.min(MIN_K, scale), 1);
  }

  /* k: the scale; (x, y): where the drawing's origin is in the view, in screen pixels. */
  function View(el, svg, options) {
    this.el = el;
    this.svg = svg;
    this.options = options;
    this.viewport = null;
    this.width = 1;
    this.height = 1;
    this.k = 1;
    this.committed = 1;
    this.minK = MIN_K;
    this.x = 0;
    this.y = 0;
    this.timer = 0;
    this.mini = options.minimap ? new Minimap(options.minimap, options.paintMinimap, this) : null;
    this.measure();
    bindPointer(this);
    bindKeys(this);
    var view = this;
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        view.measure();
        view.apply();
      }).observe(el);
    }
  }

  /* The view's size is read only when nothing waits to be laid out (at start, on a resize, or by
     dag.js before a new drawing goes in): a read after the drawing changed would lay out 20,000
     elements one more time. */
  View.prototype.measure = function () {
    this.size = { w: this.el.clientWidth || 1, h: this.el.clientHeight || 1 };
  };

  View.prototype.apply = function () {
    var view = this.size;
    var width = this.width * this.k;
    var height = this.height * this.k;
    this.x = clamp(this.x, KEEP - width, view.w - KEEP);
    this.y = clamp(this.y, KEEP - height, view.h - KEEP);
    var preview = this.k / this.committed;
    this.svg.style.transform = "translate(" + this.x + "px," + this.y + "px)" + (preview !== 1 ? " scale(" + preview + ")" : "");
    var whole = this.x >= 0 && this.y >= 0 && this.x + width <= view.w + 1 && this.y + height <= view.h + 1;
    this.el.classList.toggle("whole", whole);
    if (this.mini) this.mini.frame(this.visible());
  };

  /* The part of the drawing in view, cut to the drawing. */
  View.prototype.visible = function () {
    var left = Math.max(0, -this.x / this.k);
    var top = Math.max(0, -this.y / this.k);
    var right = Math.min(this.width, (this.size.w - this.x) / this.k);
    var bottom = Math.min(this.height, (this.size.h - this.y) / this.k);
    return { x: left, y: top, w: Math.max(0, right - left), h: Math.max(0, bottom - top) };
  };

  View.prototype.commit = function () {
    clearTimeout(this.timer);
    this.timer = 0;
    this.committed = this.k;
    if (this.viewport) this.viewport.setAttribute("transform", "scale(" + this.k + ")");
    this.svg.setAttribute("width", Math.max(1, Math.ceil(this.width * this.k)));
    this.svg.setAttribute("height", Math.max(1, Math.ceil(this.height * this.k)));
    this.svg.classList.toggle("far", this.k < FAR_K);
    this.apply();
    if (this.options.onCommit) this.options.onCommit(this.k);
  };

  /* A new scale around a point of the view (screen pixels); drawn at it now, or once zooming rests. */
  View.prototype.zoomTo = function (scale, sx, sy, now) {
    var next = clamp(scale, this.minK, MAX_K);
    this.x = sx - ((sx - this.x) * next) / this.k;
    this.y = sy - ((sy - this.y) * next) / this.k;
    this.k = next;
    if (now) return this.commit();
    this.apply();
    clearTimeout(this.timer);
    this.timer = setTimeout(this.commit.bind(this), COMMIT_MS);
  };

  View.prototype.zoomBy = function (factor) {
    this.zoomTo(this.k * factor, this.size.w / 2, this.size.h / 2, true);
  };

  View.prototype.fit = function () {
    this.k = fitScaleOf(this.width, this.height, this.size);
    this.x = (this.size.w - this.width * this.k) / 2;
    this.y = (this.size.h - this.height * this.k) / 2;
    this.commit();
  };

  View.prototype.panBy = function (dx, dy) {
    this.x += dx;
    this.y += dy;
    this.apply();
  };

  /* Centre the view on a point of the drawing. */
  View.prototype.centreOn = function (cx, cy) {
    this.x = this.size.w / 2 - cx * this.k;
    this.y = this.size.h / 2 - cy * this.k;
    this.apply();
  };

  /* Pan just enough that a box of the drawing is in view (its start, when it is wider than the view). */
  View.prototype.reveal = function (box) {
    var pad = FIT_MARGIN;
    var left = this.x + box.x * this.k;
    var top = this.y + box.y * this.k;
    var right = left + box.w * this.k;
    var bottom = top + box.h * this.k;
    var dx = left < pad ? pad - left : right > this.size.w - pad ? Math.max(this.size.w - pad - right, pad - left) : 0;
    var dy = top < pad ? pad - top : bottom > this.size.h - pad ? Math.max(this.size.h - pad - bottom, pad - top) : 0;
    if (dx || dy) this.panBy(dx, dy);
  };

  /* Where a point of the drawing is on screen now; keepAt puts it back there after a redraw. */
  View.prototype.screenOf = function (cx, cy) {
    return { x: this.x + cx * this.k, y: this.y + cy * this.k };
  };
  View.prototype.keepAt = function (cx, cy, screen) {
    this.x = screen.x - cx * this.k;
    this.y = screen.y - cy * this.k;
    this.apply();
  };

  /* A new drawing: its viewport group, its unscaled size, and the view's size (measured by the
     caller before the drawing went in); fit: shown whole, else at the scale it had. */
  View.prototype.setContent = function (group, w, h, size, fit) {
    this.size = size;
    this.viewport = group;
    this.width = Math.max(1, w);
    this.height = Math.max(1, h);
    this.minK = Math.min(MIN_K, fitScaleOf(this.width, this.height, this.size));
    if (this.mini) this.mini.redraw(this.width, this.height);
    if (fit) return this.fit(); // one commit: at the old scale first, onCommit would ask for a drawing in vain
    this.k = clamp(this.k, this.minK, MAX_K);
    this.commit();
  };

  View.prototype.repaintMinimap = function () {
    if (this.mini) this.mini.redraw(this.width, this.height);
  };

  View.prototype.state = function () {
    return { k: this.k, x: this.x, y: this.y, committed: this.committed };
  };

  /* The wheel zooms around the pointer; a drag pans (a press that moves less stays a click). */
  function bindPointer(view) {
    var el = view.el;
    el.addEventListener(
      "wheel",
      function (event) {
        event.preventDefault(); // the page would scroll
        var lines = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
        var box = el.getBoundingClientRect();
        view.zoomTo(view.k * Math.exp(-event.deltaY * lines * 0.0015), event.clientX - box.left, event.clientY - box.top);
      },
      { passive: false }
    );
    var press = null;
    var dragged = false;
    el.addEventListener("pointerdown", function (event) {
      if (event.button === 0) press = { id: event.pointerId, x: event.clientX, y: event.clientY, moving: false };
    });
    el.addEventListener("pointermove", function (event) {
      if (!press || press.id !== event.pointerId) return;
      var dx = event.clientX - press.x;
      var dy = event.clientY - press.y;
      if (!press.moving && Math.abs(dx) + Math.abs(dy) < DRAG_START) return;
      if (!press.moving) {
        press.moving = true;
        el.setPointerCapture(event.pointerId);
        el.classList.add("dragging");
      }
      press.x = event.clientX;
      press.y = event.clientY;
      view.panBy(dx, dy);
    });
    function release(event) {
      if (!press || press.id !== event.pointerId) return;
      dragged = press.moving;
      press = null;
      el.classList.remove("dragging");
    }
    el.addEventListener("pointerup", release);
    el.addEventListener("pointercancel", release);
    // A drag that ends on a box is not a click on it.
    el.addEventListener(
      "click",
      function (event) {
        if (!dragged) return;
        dragged = false;
        event.stopPropagation();
        event.preventDefault();
      },
      true
    );
  }

  /* Arrows pan, + and - zoom, 0 fits, while the focus is in the graph. */
  function bindKeys(view) {
    view.el.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      var step = event.shiftKey ? 4 * PAN_STEP : PAN_STEP;
      var moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[event.key]) view.panBy(moves[event.key][0], moves[event.key][1]);
      else if (event.key === "+" || event.key === "=") view.zoomBy(STEP);
      else if (event.key === "-" || event.key === "_") view.zoomBy(1 / STEP);
      else if (event.key === "0") view.fit();
      else return;
      event.preventDefault(); // arrows would scroll the page
    });
  }

  /* The minimap: the whole drawing small, with the view's rectangle. The boxes
     are painted (paint(ctx), in the drawing's coordinates) at the next frame
     after a new drawing or status change, when the page's style is up to date
     anyway (the colours are read from it), then copied under each new rectangle.
     A press or drag on it centres the view there. */
  function Minimap(canvas, paint, view) {
    this.canvas = canvas;
    this.paint = paint;
    this.base = document.createElement("canvas");
    this.scale = 1;
    this.rect = null;
    this.stale = null; // the drawing's size when its boxes are to be painted again
    this.pending = 0;
    this.show = this.show.bind(this);
    var mini = this;
    var pressed = false;
    function go(event) {
      var box = canvas.getBoundingClientRect();
      view.centreOn((event.clientX - box.left) / mini.scale, (event.clientY - box.top) / mini.scale);
    }
    canvas.addEventListener("pointerdown", function (event) {
      event.stopPropagation(); // not a pan of the view below
      pressed = true;
      canvas.setPointerCapture(event.pointerId);
      go(event);
    });
    canvas.addEventListener("pointermove", function (event) { if (pressed) go(event); });
    canvas.addEventListener("pointerup", function () { pressed = false; });
    canvas.addEventListener("click", function (event) { event.stopPropagation(); });
  }

  Minimap.prototype.redraw = function (width, height) {
    this.stale = { w: width, h: height };
    if (!this.pending) this.pending = requestAnimationFrame(this.show);
  };

  Minimap.prototype.frame = function (rect) {
    this.rect = rect;
    if (!this.pending) this.pending = requestAnimationFrame(this.show);
  };

  Minimap.prototype.paintBase = function (width, height) {
    var ratio = window.devicePixelRatio || 1;
    this.scale = Math.min(MINI_W / width, MINI_H / height);
    var w = Math.max(1, Math.round(width * this.scale));
    var h = Math.max(1, Math.round(height * this.scale));
    this.canvas.style.width = w + "px";
    this.canvas.style.height = h + "px";
    this.canvas.width = this.base.width = Math.round(w * ratio);
    this.canvas.height = this.base.height = Math.round(h * ratio);
    var ctx = this.base.getContext("2d");
    ctx.setTransform(this.scale * ratio, 0, 0, this.scale * ratio, 0, 0);
    this.paint(ctx);
  };

  Minimap.prototype.show = function () {
    this.pending = 0;
    if (this.stale) this.paintBase(this.stale.w, this.stale.h);
    this.stale = null;
    if (!this.rect) return;
    var ratio = window.devicePixelRatio || 1;
    var ctx = this.canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.base, 0, 0);
    ctx.setTransform(this.scale * ratio, 0, 0, this.scale * ratio, 0, 0);
    ctx.lineWidth = 1.5 / this.scale;
    ctx.strokeStyle = getComputedStyle(this.canvas).getPropertyValue("--accent").trim() || "#2855d8";
    ctx.strokeRect(this.rect.x, this.rect.y, this.rect.w, this.rect.h);
  };

  window.oawebDagView = { View: View, fitScaleOf: fitScaleOf, STEP: STEP, FAR_K: FAR_K };
})();
