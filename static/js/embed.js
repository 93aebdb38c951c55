/* Sigma embeds on the workbook page: lazy frames, the placeholder, height, errors, and copy buttons.
 *
 * - A frame gets its `src` only when it comes near the viewport (IntersectionObserver, or a scroll
 *   check where that is missing), so a page never loads Sigma for a frame nobody scrolled to.
 * - The loading notice (a spinner, its status and "Open in Sigma", usable from the start) stays over
 *   the thumbnail until the frame reports `workbook:loaded`; `workbook:error`, or no
 *   `workbook:loaded` within the timeout, turns it into the failure message, with the same link.
 * - The first of these outcomes (loaded, error or timeout) is reported once per page view to
 *   `data-outcome-url`, so the author learns when the frame fails for readers (docs/embeds.md).
 * - Messages count only when they come from this frame's own window and an allowed origin.
 */
(function () {
  "use strict";

  var NEAR = 300; // pixels before the viewport at which a frame starts loading
  var MIN_HEIGHT = 320;
  var MAX_HEIGHT = 20000;
  // postMessage events count only from these registrable domains (Sigma's SDK accepts both).
  var SIGMA_DOMAINS = ["sigmacomputing.com", "sigmacomputing.io"];

  function originAllowed(origin, allowed) {
    if (allowed.indexOf(origin) !== -1) return true;
    if (allowed.indexOf("self") !== -1 && origin === window.location.origin) return true;
    var url;
    try { url = new URL(origin); } catch (e) { return false; }
    if (url.protocol !== "https:" || url.port) return false;
    return SIGMA_DOMAINS.some(function (domain) {
      return url.hostname === domain || url.hostname.slice(-(domain.length + 1)) === "." + domain;
    });
  }

  function parse(data) {
    if (typeof data === "string") {
      try { return JSON.parse(data); } catch (e) { return null; }
    }
    return data && typeof data === "object" ? data : null;
  }

  function setUp(section) {
    var frame = section.querySelector("iframe[data-src]");
    if (!frame) return;
    var placeholder = section.querySelector("[data-embed-placeholder]");
    var loading = section.querySelector("[data-embed-loading]");
    var fallback = section.querySelector("[data-embed-fallback]");
    var errorText = section.querySelector("[data-embed-error]");
    var allowed = (section.getAttribute("data-origins") || "").split(" ").filter(Boolean);
    var timeoutMs = parseInt(section.getAttribute("data-timeout-ms"), 10) || 20000;
    var outcomeUrl = section.getAttribute("data-outcome-url");
    var timer = null;
    var loaded = false;
    var reported = false;

    // One report per page view: later outcomes (a signed URL refreshed and loaded again, an error
    // after the timeout) are the same view's and are not sent.
    function report(outcome) {
      if (reported || !outcomeUrl) return;
      reported = true;
      var body = new URLSearchParams({ outcome: outcome });
      try {
        if (navigator.sendBeacon && navigator.sendBeacon(outcomeUrl, body)) return;
      } catch (e) { /* fall through to fetch */ }
      if (window.fetch) {
        fetch(outcomeUrl, { method: "POST", body: body, keepalive: true, credentials: "omit" })
          .catch(function () { /* a lost report only leaves a count short */ });
      }
    }

    function showFallback(message, outcome) {
      window.clearTimeout(timer);
      report(outcome);
      section.classList.add("is-failed");
      frame.hidden = true;
      if (placeholder) placeholder.hidden = false;
      if (loading) loading.hidden = true;
      if (errorText) errorText.textContent = message || "";
      if (fallback) fallback.hidden = false;
    }

    function start() {
      if (frame.getAttribute("src")) return;
      frame.setAttribute("src", frame.getAttribute("data-src"));
      section.classList.add("is-loading");
      timer = window.setTimeout(function () {
        if (!loaded) showFallback("Sigma did not answer in time.", "timeout");
      }, timeoutMs);
      scheduleRefresh();
    }

    // A signed URL expires: fetch a fresh one a minute before, as Sigma advises.
    function scheduleRefresh() {
      var expiresAt = parseInt(section.getAttribute("data-expires-at"), 10);
      var refreshUrl = section.getAttribute("data-refresh-url");
      if (!expiresAt || !refreshUrl || !window.fetch) return;
      var wait = Math.max(10000, expiresAt * 1000 - Date.now() - 60000);
      window.setTimeout(function () {
        fetch(refreshUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (body) {
            if (!body || !body.src) return;
            loaded = false;
            frame.setAttribute("src", body.src);
            section.setAttribute("data-expires-at", String(Math.floor(Date.parse(body.expires_at) / 1000)));
            scheduleRefresh();
          })
          .catch(function () { /* the current frame keeps working until it expires */ });
      }, wait);
    }

    window.addEventListener("message", function (event) {
      if (event.source !== frame.contentWindow || !originAllowed(event.origin, allowed)) return;
      var message = parse(event.data);
      if (!message || typeof message.type !== "string") return;
      if (message.type === "workbook:loaded") {
        loaded = true;
        window.clearTimeout(timer);
        report("loaded");
        section.classList.remove("is-loading");
        section.classList.add("is-loaded");
        if (placeholder) placeholder.hidden = true;
      } else if (message.type === "workbook:error") {
        showFallback(typeof message.message === "string" ? message.message : "", "error");
      } else if (message.type === "workbook:pageheight:onchange") {
        var height = Number(message.pageHeight);
        if (isFinite(height) && height > 0) {
          frame.style.height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.round(height))) + "px";
        }
      }
    });

    if ("IntersectionObserver" in window) {
      var observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            observer.disconnect();
            start();
          }
        });
      }, { rootMargin: NEAR + "px 0px" });
      observer.observe(section);
    } else {
      var check = function () {
        var box = section.getBoundingClientRect();
        if (box.top < window.innerHeight + NEAR && box.bottom > -NEAR) {
          window.removeEventListener("scroll", check);
          window.removeEventListener("resize", check);
          start();
        }
      };
      window.addEventListener("scroll", check, { passive: true });
      window.addEventListener("resize", check);
      check();
    }
  }

  // A Copy button shows only where there is a clipboard; its status (if it has one) says what
  // happened, for those who do not see the button's text change.
  function setUpCopy(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    var status = document.querySelector("[data-copy-status='" + button.getAttribute("data-copy") + "']");
    if (!target || !navigator.clipboard) return;
    var reset = null;
    function say(text) {
      if (status) status.textContent = text;
      window.clearTimeout(reset);
      reset = window.setTimeout(function () {
        button.textContent = "Copy";
        if (status) status.textContent = "";
      }, 2000);
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.value).then(
        function () { button.textContent = "Copied"; say("Copied"); },
        function () { say("Could not copy: select the text and copy it instead."); }
      );
    });
  }

  // Exposed for the browser tests of the fallback path in browsers without IntersectionObserver.
  window.SigmaEmbed = { originAllowed: originAllowed };
  document.querySelectorAll("[data-sigma-embed]").forEach(setUp);
  document.querySelectorAll("[data-copy]").forEach(setUpCopy);
})();
