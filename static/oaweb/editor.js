/* oaweb definition editor: line numbers, bad-line marks, Tab indents.

   The textarea grows with its text, so the .editor box scrolls gutter and
   text together (no scroll syncing to drift). After each htmx swap of the
   validation fragment, the lines listed in its data-bad-lines are marked in
   the gutter. Tab inserts two spaces; Esc then Tab leaves the editor (no
   keyboard trap). A "line N" button in the issues moves the caret there. */
(function () {
  "use strict";

  function setup(box) {
    var area = box.querySelector("textarea");
    var gutter = box.querySelector(".gutter");
    if (!area || !gutter || area.dataset.editorReady) return;
    area.dataset.editorReady = "true";
    var shown = 0;
    var bad = new Set();
    var escaped = false;

    function render() {
      var count = area.value.split("\n").length;
      if (count !== shown) {
        var html = [];
        for (var i = 1; i <= count; i++) html.push('<span data-line="' + i + '"' + (bad.has(i) ? ' class="bad"' : "") + ">" + i + "</span>");
        gutter.innerHTML = html.join("\n");
        shown = count;
      }
      area.style.height = "auto";
      area.style.height = area.scrollHeight + "px";
    }

    function mark(lines) {
      bad = new Set(lines);
      var spans = gutter.children;
      for (var i = 0; i < spans.length; i++) spans[i].classList.toggle("bad", bad.has(i + 1));
    }

    area.addEventListener("input", render);
    area.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        escaped = true;
        return;
      }
      if (event.key === "Tab" && !escaped && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.metaKey) {
        event.preventDefault();
        // execCommand keeps the browser's undo history; setRangeText where it is gone.
        if (!document.execCommand || !document.execCommand("insertText", false, "  ")) {
          area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
          area.dispatchEvent(new Event("input", { bubbles: true }));
        }
        return;
      }
      escaped = false;
    });

    function readMarks(root) {
      var holder = root.querySelector("[data-bad-lines]");
      if (!holder) return;
      var text = holder.getAttribute("data-bad-lines");
      mark(text ? text.split(",").map(Number) : []);
    }

    var issues = document.getElementById("issues");
    if (issues) {
      readMarks(issues);
      document.body.addEventListener("htmx:afterSwap", function (event) {
        if (event.detail && event.detail.target === issues) readMarks(issues);
      });
      issues.addEventListener("click", function (event) {
        var button = event.target.closest("button.goto[data-line]");
        if (button) goToLine(Number(button.getAttribute("data-line")));
      });
    }

    function goToLine(line) {
      var lines = area.value.split("\n");
      var offset = 0;
      for (var i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
      area.focus();
      area.setSelectionRange(offset, offset + (lines[line - 1] || "").length);
      var span = gutter.children[line - 1];
      if (span && span.scrollIntoView) span.scrollIntoView({ block: "center" });
    }

    render();
  }

  function setupAll() {
    document.querySelectorAll("[data-editor]").forEach(setup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupAll);
  else setupAll();
})();
