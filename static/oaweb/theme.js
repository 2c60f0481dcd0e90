// The top bar's theme toggle ([data-theme-toggle]): Auto (the system's choice) -> the other theme ->
// back to the system's -> Auto. The choice is kept in localStorage ("oaweb-theme") and applied
// before the first paint by the inline script in templates/base.html; Auto removes it.
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

  function system() {
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function chosen() {
    var theme = root.getAttribute("data-theme");
    return theme === "dark" || theme === "light" ? theme : "auto";
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

  function choose(theme) {
    try {
      if (theme === "auto") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, theme);
    } catch (e) { /* storage refused: the choice lasts for this page only */ }
    if (theme === "auto") root.removeAttribute("data-theme");
    else root.setAttribute("data-theme", theme);
    show();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-theme-toggle]")) choose(next(chosen()));
  });
  document.addEventListener("DOMContentLoaded", show);
})();
