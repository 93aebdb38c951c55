/* The light and dark themes. Loaded without defer or async at the top of <head> (a file: the CSP refuses
   inline scripts), so a visitor's choice is on <html> before the first paint and no page flashes the other
   theme.

   With no choice the site follows the system (prefers-color-scheme: static/css/site.css's light-dark()
   colours under `color-scheme: light dark`). A choice is `data-theme="light"` or `"dark"` on <html>, kept in
   this browser's localStorage under "theme": the key Django's admin uses for its own theme toggle, so the
   two agree (the admin's "auto" means no choice here too). Nothing about it reaches the server: pages are
   shared between visitors (workbooks/cache.py).

   The switch (templates/inc/nav.html, .theme-switch) is hidden until this script marks <html> with
   `theme-switchable`: without JavaScript there is nothing to switch. It is a toggle button, pressed when the
   page is dark. Choosing the theme the system already has forgets the choice, so the site follows the
   system again.

   A page that needs the theme as a class of its own names it in `data-theme-class` on <html>: the API docs
   page, whose Swagger UI darkens under `html.dark-mode`. */
(function () {
  "use strict";

  var KEY = "theme";
  var root = document.documentElement;
  var system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (error) {
      return null; // storage refused (a privacy setting): follow the system
    }
  }

  function remember(choice) {
    try {
      if (choice) {
        window.localStorage.setItem(KEY, choice);
      } else {
        window.localStorage.removeItem(KEY);
      }
    } catch (error) {
      // Not remembered; this page still switches.
    }
  }

  function systemTheme() {
    return system && system.matches ? "dark" : "light";
  }

  function current() {
    return root.getAttribute("data-theme") === "dark" || root.getAttribute("data-theme") === "light"
      ? root.getAttribute("data-theme")
      : systemTheme();
  }

  function showState() {
    var dark = current() === "dark";
    var extra = root.getAttribute("data-theme-class");
    if (extra) {
      root.classList.toggle(extra, dark);
    }
    var switches = document.querySelectorAll(".theme-switch");
    for (var i = 0; i < switches.length; i++) {
      switches[i].setAttribute("aria-pressed", dark ? "true" : "false");
    }
  }

  function apply(choice) {
    if (choice) {
      root.setAttribute("data-theme", choice);
    } else {
      root.removeAttribute("data-theme");
    }
    showState();
  }

  function toggle() {
    var next = current() === "dark" ? "light" : "dark";
    var choice = next === systemTheme() ? null : next;
    remember(choice);
    apply(choice);
  }

  apply(stored());
  root.classList.add("theme-switchable");

  if (system) {
    // Following the system: the switch's state follows it too when it changes (an evening schedule).
    var onSystemChange = function () {
      showState();
    };
    if (system.addEventListener) {
      system.addEventListener("change", onSystemChange);
    } else if (system.addListener) {
      system.addListener(onSystemChange);
    }
  }
  // A choice made in another tab applies here at once.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY || event.key === null) {
      apply(stored());
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    showState();
    var switches = document.querySelectorAll(".theme-switch");
    for (var i = 0; i < switches.length; i++) {
      switches[i].addEventListener("click", toggle);
    }
  });
})();
