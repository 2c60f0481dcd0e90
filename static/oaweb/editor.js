/* oaweb definition editor: line numbers, bad-line marks, Tab indents, size limit.

   The textarea grows with its text, so the .editor box scrolls gutter and
   text together (no scroll syncing to drift). The gutter numbers only the
   lines near the visible ones (a few hundred spans, however long the text:
   300,000 of them froze the page for half a minute); a hidden sizer holding
   the last number keeps its width. After each htmx swap of the validation
   fragment, the lines listed in its data-bad-lines are marked in the gutter.
   Tab inserts two spaces; Esc then Tab leaves the editor (no keyboard trap).
   A "line N" button in the issues moves the caret there.

   Size: the textarea's data-max-bytes is what the server can read of the
   form (workflows/web/editor.py). A text over it is neither sent to the
   live check nor saved: the Problems panel says why, and the text stays. A
   large text under it is checked after a longer pause than a small one. */
(function () {
  "use strict";

  var MARGIN = 300; // lines numbered above and below the visible ones
  var LARGE = 256 * 1024; // bytes: past this, the live check waits longer
  var NEWLINE = 10;

  // The bytes a form sends for `text`: UTF-8, each line break as CR LF (as the server counts them).
  function sentBytes(text) {
    var bytes = 0;
    for (var i = 0, n = text.length; i < n; i++) {
      var code = text.charCodeAt(i);
      if (code < 0x80) bytes += code === NEWLINE ? 2 : 1;
      else if (code < 0x800) bytes += 2;
      else if (code >= 0xd800 && code < 0xdc00 && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        bytes += 4; // a surrogate pair: one character of four bytes
        i++;
      } else bytes += 3; // a lone surrogate is sent as U+FFFD, three bytes too
    }
    return bytes;
  }

  // As workflows/web/editor.py size_text writes it.
  function sizeText(size) {
    if (size >= 1024 * 1024) return (size / (1024 * 1024)).toFixed(1) + " MB";
    if (size >= 1024) return (size / 1024).toFixed(1) + " KB";
    return size.toLocaleString("en") + " bytes";
  }

  function lineCount(text) {
    var count = 1;
    for (var at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) count++;
    return count;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function setup(box) {
    var area = box.querySelector("textarea");
    var gutter = box.querySelector(".gutter");
    if (!area || !gutter || area.dataset.editorReady) return;
    area.dataset.editorReady = "true";
    var limit = Number(area.getAttribute("data-max-bytes")) || 0;
    var limitSetting = area.getAttribute("data-max-setting") || "the limit";
    var issues = document.getElementById("issues");
    var bad = new Set();
    var escaped = false;
    var count = 0; // lines in the text
    var first = 0; // the gutter's numbered lines: first..last (0: none yet)
    var last = -1;
    var lineHeight = 0;
    var pendingCheck = null;

    gutter.textContent = "";
    var sizer = gutter.appendChild(element("span", "sizer")); // the widest number, unseen: the gutter's width
    var lines = gutter.appendChild(element("div", "lines"));

    function padTop() {
      return parseFloat(getComputedStyle(area).paddingTop) || 0;
    }

    // The lines the box shows, widened by MARGIN.
    function wanted() {
      if (!lineHeight) lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 19.5;
      var top = box.scrollTop - padTop();
      var shownFirst = Math.max(1, Math.floor(top / lineHeight) + 1);
      var shownLast = Math.min(count, Math.ceil((top + box.clientHeight) / lineHeight) + 1);
      return { shownFirst: shownFirst, shownLast: shownLast };
    }

    function number(force) {
      var view = wanted();
      var enough =
        first &&
        (first === 1 || view.shownFirst - first >= MARGIN / 2) &&
        (last === count || last - view.shownLast >= MARGIN / 2) &&
        last <= count;
      if (enough && !force) return;
      first = Math.max(1, view.shownFirst - MARGIN);
      last = Math.min(count, view.shownLast + MARGIN);
      var html = [];
      for (var i = first; i <= last; i++) html.push('<span data-line="' + i + '"' + (bad.has(i) ? ' class="bad"' : "") + ">" + i + "</span>");
      lines.innerHTML = html.join("\n");
      lines.style.top = padTop() + (first - 1) * lineHeight + "px";
    }

    function render() {
      var now = lineCount(area.value);
      var changed = now !== count;
      count = now;
      if (changed) sizer.textContent = String(count);
      area.style.height = "auto";
      area.style.height = area.scrollHeight + "px";
      number(changed);
    }

    function mark(list) {
      bad = new Set(list);
      var spans = lines.children;
      for (var i = 0; i < spans.length; i++) spans[i].classList.toggle("bad", bad.has(first + i));
    }

    var scrolling = false;
    box.addEventListener("scroll", function () {
      if (scrolling) return;
      scrolling = true;
      requestAnimationFrame(function () {
        scrolling = false;
        number(false);
      });
    });

    area.addEventListener("input", function () {
      if (pendingCheck) clearTimeout(pendingCheck);
      pendingCheck = null;
      render();
    });
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

    // --- the Problems panel ---------------------------------------------------------

    function showVerdict(verdict) {
      if (!issues) return;
      issues.replaceChildren(verdict);
      mark([]);
    }

    // The server's fragment for a text too large (templates/workflows/_issues.html), written here.
    function showTooLarge(size) {
      var verdict = element("div", "verdict");
      verdict.setAttribute("data-bad-lines", "");
      verdict.appendChild(element("p", "error", "1 problem: fix it to save."));
      var item = element("li", "error");
      var where = item.appendChild(element("div"));
      where.appendChild(element("code", "path", "/"));
      where.appendChild(document.createTextNode(" "));
      where.appendChild(element("span", "hint", "error · too_large"));
      item.appendChild(
        element(
          "div",
          "message",
          "The document is " +
            sizeText(size) +
            "; the limit is " +
            sizeText(limit) +
            ". It is not checked, and can't be saved, until it is smaller."
        )
      );
      item.appendChild(element("div", "hint suggestion", "split the workflow into smaller ones, or raise " + limitSetting));
      verdict.appendChild(element("ul", "issues")).appendChild(item);
      showVerdict(verdict);
    }

    function showNotChecked(why) {
      var verdict = element("p", "error", "Not checked: " + why + ". The problems listed before may be out of date.");
      verdict.setAttribute("data-bad-lines", "");
      showVerdict(verdict);
    }

    function tooLarge() {
      if (!limit) return 0;
      var size = sentBytes(area.value);
      return size > limit ? size : 0;
    }

    // Every live check asks first: none for a text over the limit, a later one for a large text.
    area.addEventListener("htmx:confirm", function (event) {
      if (event.target !== area) return;
      var text = area.value;
      var size = limit ? sentBytes(text) : text.length;
      if (limit && size > limit) {
        event.preventDefault();
        if (window.htmx) window.htmx.trigger(area, "htmx:abort"); // a check under way would answer for older text
        showTooLarge(size);
        return;
      }
      if (size > LARGE && event.detail.triggeringEvent && event.detail.triggeringEvent.type !== "load") {
        event.preventDefault();
        if (pendingCheck) clearTimeout(pendingCheck);
        pendingCheck = setTimeout(function () {
          pendingCheck = null;
          event.detail.issueRequest(true);
        }, Math.min(2000, size / 1024)); // a millisecond per KB, on top of the 400 ms pause
      }
    });

    if (area.form) {
      area.form.addEventListener("submit", function (event) {
        var size = tooLarge();
        if (!size) return;
        event.preventDefault(); // sent, it would be refused unread, and the text lost
        showTooLarge(size);
      });
    }

    function readMarks(root) {
      var holder = root.querySelector("[data-bad-lines]");
      if (!holder) return;
      var text = holder.getAttribute("data-bad-lines");
      mark(text ? text.split(",").map(Number) : []);
    }

    function aboutIssues(event) {
      return issues && event.detail && event.detail.target === issues;
    }

    if (issues) {
      readMarks(issues);
      document.body.addEventListener("htmx:beforeSwap", function (event) {
        // 413: the server's own word on a text too large to read; htmx leaves error answers out by default.
        if (aboutIssues(event) && event.detail.xhr && event.detail.xhr.status === 413) {
          event.detail.shouldSwap = true;
          event.detail.isError = false;
        }
      });
      document.body.addEventListener("htmx:afterSwap", function (event) {
        if (aboutIssues(event)) readMarks(issues);
      });
      document.body.addEventListener("htmx:responseError", function (event) {
        if (aboutIssues(event)) showNotChecked("the server answered " + event.detail.xhr.status);
      });
      document.body.addEventListener("htmx:sendError", function (event) {
        if (aboutIssues(event)) showNotChecked("the server could not be reached");
      });
      issues.addEventListener("click", function (event) {
        var button = event.target.closest("button.goto[data-line]");
        if (button) goToLine(Number(button.getAttribute("data-line")));
      });
    }

    function goToLine(line) {
      var text = area.value;
      var offset = 0;
      for (var i = 1; i < line; i++) {
        var next = text.indexOf("\n", offset);
        if (next === -1) break;
        offset = next + 1;
      }
      var end = text.indexOf("\n", offset);
      area.focus();
      area.setSelectionRange(offset, end === -1 ? text.length : end);
      box.scrollTop = padTop() + (line - 1) * lineHeight - box.clientHeight / 2;
      number(true);
      var span = lines.querySelector('[data-line="' + line + '"]');
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
