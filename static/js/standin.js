/* Development stand-in for a Sigma embed: speaks Sigma's postMessage events to the parent page. */
(function () {
  "use strict";
  var id = (document.body.getAttribute("data-sigma-id") || "").toLowerCase();
  var params = new URLSearchParams(window.location.search);
  var delay = parseInt(params.get("delay"), 10) || 300;
  var height = parseInt(params.get("height"), 10) || 1100;
  function post(message) { window.parent.postMessage(message, window.location.origin); }

  window.setTimeout(function () {
    if (id.indexOf("error") !== -1) {
      post({ type: "workbook:error", code: "EPERM", message: "The stand-in was asked to fail." });
    } else if (id.indexOf("silent") === -1) {
      post({ type: "workbook:loaded", workbook: { variables: {} } });
      post({ type: "workbook:dataloaded" });
      post({ type: "workbook:pageheight:onchange", pageHeight: height });
    }
  }, delay);
})();
