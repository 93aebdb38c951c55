// The embed snippet's options on a workbook's page, applied as they change. Without this script the
// form is sent and the page shows the snippet made by the server (workbooks/snippet.py); this builds
// the same HTML here, by the same rules, so the two never differ: the same checks of each value
// (a refused value gives the default), the same display parameters sorted by name, and each value
// escaped once for its attribute, as Django's escape() does. The textarea takes it as text.
(function () {
  "use strict";

  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };
  var WHOLE_NUMBER = /^[0-9]{1,5}$/;

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (character) { return ESCAPES[character]; });
  }

  // A whole number of pixels within the input's bounds, else the default (as the server does).
  function pixels(input, fallback) {
    var raw = input.value;
    var valid = WHOLE_NUMBER.test(raw) &&
      parseInt(raw, 10) >= parseInt(input.min, 10) && parseInt(raw, 10) <= parseInt(input.max, 10);
    input.setAttribute("aria-invalid", valid || raw === "" ? "false" : "true");
    return valid ? parseInt(raw, 10) : fallback;
  }

  // The published URL's display parameters with the chosen ones over them, sorted by name. Keys and
  // values are letters, digits, "-" and "_" only (the server keeps no other), so none is encoded.
  function withParams(src, chosen) {
    var parts = src.split("?");
    var params = {};
    (parts[1] || "").split("&").forEach(function (pair) {
      if (!pair) return;
      var at = pair.indexOf("=");
      params[pair.slice(0, at)] = pair.slice(at + 1);
    });
    Object.keys(chosen).forEach(function (name) { params[name] = chosen[name]; });
    var names = Object.keys(params).sort();
    if (!names.length) return parts[0];
    return parts[0] + "?" + names.map(function (name) { return name + "=" + params[name]; }).join("&");
  }

  function setUp(form) {
    var target = document.getElementById(form.getAttribute("data-target"));
    if (!target) return;
    var src = form.getAttribute("data-src");
    var title = form.getAttribute("data-title");
    var defaultWidth = parseInt(form.getAttribute("data-default-width"), 10);
    var defaultHeight = parseInt(form.getAttribute("data-default-height"), 10);

    function update() {
      var size = form.querySelector("input[name=size]:checked");
      var fixed = size !== null && size.value === "fixed";
      var width = pixels(form.elements.width, defaultWidth);
      var height = pixels(form.elements.height, defaultHeight);
      var chosen = {};
      form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        if (box.checked) chosen[box.name] = "true";
      });
      var theme = form.elements.theme.value;
      if (theme) chosen.theme = theme;
      target.value =
        '<iframe src="' + escapeHtml(withParams(src, chosen)) + '" title="' + escapeHtml(title) +
        '" width="' + (fixed ? width : "100%") + '" height="' + height +
        '" style="border:0" allow="fullscreen"></iframe>';
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      update();
    });
    // Applied as they change: the button is for pages without this script.
    form.querySelectorAll("[data-snippet-submit]").forEach(function (button) { button.hidden = true; });
    update();
  }

  document.querySelectorAll("[data-snippet-options]").forEach(setUp);
})();
