// The page's theme: `data-theme` on <html> is always set, "light" or "dark", and app.css keeps one dark
// palette, on [data-theme="dark"]. Its value is the choice kept in localStorage ("oaweb-theme"), else the
// system's, followed as it changes while nothing is chosen (and as another tab chooses).
// The top bar's toggle ([data-theme-toggle]): Auto (the system's) -> the other theme -> back to the
// system's -> Auto. The inline script in templates/base.html applies a kept choice before the first paint.
(function () {
  "use strict";
  var KEY = "oaweb-theme";
  var LABELS = { auto: "◐ Auto", light: "☀ Light", dark: "☾ Dark" };
  var TITLES = {
    auto: "Theme: follows the system; click to choose",
    light: "Theme: light; click for the next choice",
    dark: "Theme: dark; click for the next choice",
  };
  var root = document.documentElement;
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function saved() {
    try {
      var theme = localStorage.getItem(KEY);
      return theme === "dark" || theme === "light" ? theme : null;
    } catch (e) {
      return null; // storage refused: nothing kept
    }
  }

  var choice = saved(); // "light", "dark", or null: the system's

  function system() {
    return query && query.matches ? "dark" : "light";
  }

  function chosen() {
    return choice || "auto";
  }

  function next(current) {
    var sys = system();
    var other = sys === "dark" ? "light" : "dark";
    if (current === "auto") return other;
    return current === other ? sys : "auto";
  }

  function show() {
    var theme = chosen();
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.textContent = LABELS[theme];
      button.title = TITLES[theme];
      button.setAttribute("aria-label", TITLES[theme]);
    });
  }

  function apply() {
    root.setAttribute("data-theme", choice || system());
    show();
  }

  function choose(theme) {
    choice = theme === "auto" ? null : theme;
    try {
      if (choice) localStorage.setItem(KEY, choice);
      else localStorage.removeItem(KEY);
    } catch (e) { /* storage refused: the choice lasts for this page only */ }
    apply();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-theme-toggle]")) choose(next(chosen()));
  });
  if (query) {
    query.addEventListener("change", function () {
      if (!choice) apply();
    });
  }
  window.addEventListener("storage", function (event) {
    if (event.key === KEY || event.key === null) {
      choice = saved();
      apply();
    }
  });
  apply(); // deferred: the document is parsed, the toggle is there
})();
