// Keyboard shortcuts on every page (templates/base.html lists them in the #shortcuts dialog):
//   ?        the list of shortcuts          /      focus the page's search, else the top bar's
//   g d/w/r  go to dashboard/workflows/runs r      submit the Run form ([data-shortcut="run"])
// Ctrl/Cmd+S is the editor's own (static/oaweb/editor.js); it is only listed here.
// Keys typed in a field, a select, anything editable or the code editor (.cm-editor) are left alone,
// and so is any key with Ctrl, Cmd or Alt held.
(function () {
  "use strict";
  var GO = { d: "/", w: "/workflows/", r: "/runs/" };
  var PREFIX_MS = 1500; // how long "g" waits for its second key
  var pendingG = 0;

  function typing(target) {
    if (!target || !target.closest) return false;
    if (target.closest(".cm-editor, [contenteditable=''], [contenteditable='true']")) return true;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function dialog() { return document.getElementById("shortcuts"); }

  function openList() {
    var list = dialog();
    if (list && !list.open) list.showModal();
  }

  function focusSearch() {
    var search = document.querySelector("main input[type=search]") || document.getElementById("global-search");
    if (!search) return false; // the login page has none
    search.focus();
    search.select();
    return true;
  }

  function run() {
    var button = document.querySelector("[data-shortcut=run]");
    if (!button || button.disabled) return false;
    button.click(); // the form's own checks (required inputs) and htmx apply as for a click
    return true;
  }

  function handle(key) {
    if (pendingG && Date.now() - pendingG < PREFIX_MS) {
      pendingG = 0;
      if (GO[key]) {
        window.location.href = GO[key];
        return true;
      }
      return false;
    }
    pendingG = 0;
    if (key === "?") { openList(); return true; }
    if (key === "/") return focusSearch();
    if (key === "g") { pendingG = Date.now(); return true; }
    if (key === "r") return run();
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (event.key === "Escape" && event.target && event.target.id === "global-search") {
      event.target.blur();
      return;
    }
    if (typing(event.target) || (dialog() && dialog().open)) return;
    if (handle(event.key)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts-open]")) openList();
  });
})();
