/* The recovery codes page's Copy button: puts the codes on the clipboard, one a line. Without this
 * script (or a clipboard) the button stays hidden; the codes are selectable text and the Download
 * link works without it. */
(function () {
  "use strict";

  function setUp(button) {
    var list = document.getElementById(button.getAttribute("data-copy-codes"));
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (!list || !navigator.clipboard) return;
    var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (code) {
      return code.textContent.trim();
    });
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(codes.join("\n") + "\n").then(
        function () { if (status) status.textContent = "Copied."; },
        function () { if (status) status.textContent = "Could not copy: select the codes instead."; }
      );
    });
  }

  document.querySelectorAll("[data-copy-codes]").forEach(setUp);
})();
