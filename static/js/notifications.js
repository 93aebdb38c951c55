/* The notification bell, live, over the websocket /ws/notifications/ (docs/realtime.md).
 *
 * The page is right without this file: the bell links to /notifications/ and shows the unread count
 * the server rendered. This keeps it right afterwards:
 *
 * - The socket is a hint, the database the truth. The page starts from the newest notification id it
 *   was rendered with (data-last-id on the bell) and sends `{"type": "resume", "after": <last id>}`
 *   on every (re)connect, so the server sends whatever came in between. Ids only grow; each is shown
 *   once (a resume and a live push may carry the same one).
 * - `unread_count` sets the count; each new `notification` shows a short toast in a polite live
 *   region (and, on the first page of /notifications/, its row, rendered by the server from the
 *   page's own row template, goes to the top of the list); `withdrawn` takes a notification's row
 *   and toast away (what it told of was undone; the new count follows).
 * - The server pings; we answer. No message for 70 seconds means the connection died without
 *   saying so (a laptop lid, a Wi-Fi change): we drop it and connect again.
 * - After a drop: reconnect with exponential backoff and jitter, 1 s up to 30 s; at once when the
 *   browser comes back online or the tab becomes visible again (a laptop waking up). Code 4401
 *   (signed out) stops it: the next page load will say so.
 */
(function () {
  "use strict";

  var MIN_DELAY = 1000;
  var MAX_DELAY = 30000;
  var IDLE_MS = 70000;
  var TOAST_MS = 8000;
  var MAX_TOASTS = 5;
  var CLOSE_UNAUTHENTICATED = 4401;

  var script = document.currentScript;
  var bell = document.getElementById("notification-bell");
  var region = document.getElementById("notification-toasts");

  // --- Toasts (social.js shows its messages here too) ---------------------------------------------

  function isLocalPath(url) {
    // Only links into this site: never `javascript:`, never `//elsewhere` (nor `/\elsewhere`).
    return typeof url === "string" && /^\/(?![\/\\])/.test(url);
  }

  function showToast(message, href) {
    if (!region) return null;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "status");
    var text = document.createElement("p");
    if (href && isLocalPath(href)) {
      var link = document.createElement("a");
      link.href = href;
      link.textContent = message;
      text.appendChild(link);
    } else {
      text.textContent = message;
    }
    var close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    toast.appendChild(text);
    toast.appendChild(close);

    var timer = null;
    function remove() {
      window.clearTimeout(timer);
      if (toast.parentNode) toast.parentNode.removeChild(toast);
    }
    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(remove, TOAST_MS);
    }
    close.addEventListener("click", remove);
    // Whoever is reading it (pointer over it, or focus in it) keeps it.
    toast.addEventListener("mouseenter", function () { window.clearTimeout(timer); });
    toast.addEventListener("mouseleave", later);
    toast.addEventListener("focusin", function () { window.clearTimeout(timer); });
    toast.addEventListener("focusout", later);

    region.appendChild(toast);
    while (region.children.length > MAX_TOASTS) region.removeChild(region.firstChild);
    later();
    return toast;
  }

  window.SigmaToasts = { show: showToast };

  if (!bell || !("WebSocket" in window)) return;

  // --- The bell -------------------------------------------------------------------------------------

  var countElement = bell.querySelector("[data-bell-count]");
  var list = document.querySelector("[data-notification-list]");
  var notificationsUrl = bell.getAttribute("href") || "/notifications/";
  var socketPath = (script && script.getAttribute("data-socket-path")) || "/ws/notifications/";

  var lastId = parseInt(bell.getAttribute("data-last-id"), 10) || 0;
  var loadedUpTo = lastId; // notifications up to this id were already counted on the page
  var seen = Object.create(null);

  function currentCount() {
    return parseInt(bell.getAttribute("data-unread"), 10) || 0;
  }

  function setCount(count) {
    count = Math.max(0, Math.floor(count));
    var before = currentCount();
    bell.setAttribute("data-unread", String(count));
    bell.setAttribute("aria-label", count ? "Notifications, " + count + " unread" : "Notifications");
    if (countElement) {
      countElement.textContent = String(count);
      countElement.hidden = count === 0;
    }
    if (count > before) {
      bell.classList.remove("is-bumped");
      void bell.offsetWidth; // restart the animation
      bell.classList.add("is-bumped");
    }
  }

  window.SigmaBell = { setCount: setCount }; // social.js, after marking read

  function actorName(notification) {
    var actor = notification.actor;
    return (actor && (actor.full_name || actor.username)) || "Someone";
  }

  function describe(notification) {
    var who = actorName(notification);
    var target = notification.target;
    var title = target && target.title ? "“" + target.title + "”" : "your workbook";
    switch (notification.verb) {
      case "followed": return who + " followed you";
      case "favorited": return who + " favorited " + title;
      case "commented": return who + " commented on " + title;
      case "published": return who + " published " + title;
      case "featured": return who + " featured " + title;
      case "collected": return who + " added " + title + " to a collection";
      case "embed_failing": return "The embed of " + title + " is failing for readers";
      default: return "New notification from " + who;
    }
  }

  function linkFor(notification) {
    var target = notification.target;
    if (notification.verb === "followed" && notification.actor && notification.actor.username) {
      return "/u/" + encodeURIComponent(notification.actor.username) + "/";
    }
    if (!target || !isLocalPath(target.url)) return notificationsUrl;
    if (notification.verb === "commented" && target.comment_id) {
      return target.url + "#comment-" + encodeURIComponent(target.comment_id);
    }
    return target.url;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // On the first page of /notifications/, a new one goes to the top: the row the server rendered
  // for it (`html`, from the template the page's own rows come from), so it is the same row. Its
  // "Mark read" form gets this page's CSRF token.
  function rowFor(notification) {
    if (typeof notification.html !== "string") return null;
    var holder = document.createElement("template");
    holder.innerHTML = notification.html;
    var item = holder.content.firstElementChild;
    if (!item || item.tagName !== "LI" || item.id !== "notification-" + notification.id) return null;
    var token = item.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) token.value = csrfToken();
    item.classList.add("notification--live"); // its entrance, nothing else
    return item;
  }

  function prepend(notification) {
    if (!list || document.getElementById("notification-" + notification.id)) return;
    var item = rowFor(notification);
    if (!item) return;
    list.insertBefore(item, list.firstChild);
    var empty = document.querySelector("[data-notification-empty]");
    if (empty) empty.hidden = true;
  }

  // A notification withdrawn (what it told of was undone): its row and its toast go.
  function withdraw(id) {
    seen[id] = true;
    var item = document.getElementById("notification-" + id);
    if (item && item.classList.contains("notification")) item.parentNode.removeChild(item);
    if (region) {
      var toast = region.querySelector('[data-notification-id="' + id + '"]');
      if (toast) toast.parentNode.removeChild(toast);
    }
    var empty = document.querySelector("[data-notification-empty]");
    if (empty && list && !list.querySelector(".notification")) empty.hidden = false;
  }

  function receive(notification) {
    if (!notification || typeof notification.id !== "number") return;
    if (notification.id <= loadedUpTo || seen[notification.id]) return;
    seen[notification.id] = true;
    if (notification.id > lastId) lastId = notification.id;
    var toast = showToast(describe(notification), linkFor(notification));
    if (toast) toast.setAttribute("data-notification-id", String(notification.id));
    prepend(notification);
  }

  // --- The connection -------------------------------------------------------------------------------

  var socket = null;
  var attempts = 0;
  var retryTimer = null;
  var idleTimer = null;
  var lastMessageAt = 0;
  var stopped = false;

  function setState(state) {
    bell.setAttribute("data-connection", state);
  }

  function socketUrl() {
    return (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + socketPath;
  }

  function send(ws, message) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  // Forget the current socket (closing it if it is not closed already); its late events are ignored.
  function drop() {
    var ws = socket;
    socket = null;
    window.clearTimeout(idleTimer);
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(); } catch (e) { /* closed already */ }
  }

  function watch(ws) {
    lastMessageAt = Date.now();
    window.clearTimeout(idleTimer);
    idleTimer = window.setTimeout(function () {
      if (ws !== socket) return;
      drop();
      scheduleReconnect();
    }, IDLE_MS);
  }

  function scheduleReconnect() {
    if (stopped || retryTimer !== null) return;
    // 1-2 s, then 2-4 s, 4-8 s ... at most 15-30 s: random within the upper half, so that clients
    // dropped together (a server restart) do not all come back at the same moment.
    var ceiling = Math.min(MAX_DELAY, 2 * MIN_DELAY * Math.pow(2, attempts));
    var delay = Math.max(MIN_DELAY, ceiling / 2 + Math.random() * (ceiling / 2));
    attempts += 1;
    setState("waiting");
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      connect();
    }, delay);
  }

  function connect() {
    if (stopped || socket) return;
    window.clearTimeout(retryTimer);
    retryTimer = null;
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    setState("connecting");
    ws.onopen = function () {
      setState("open");
      send(ws, { type: "resume", after: lastId });
      watch(ws);
    };
    ws.onmessage = function (event) {
      attempts = 0; // the connection works: the next drop starts from the shortest wait again
      watch(ws);
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (!message || typeof message !== "object") return;
      if (message.type === "ping") {
        send(ws, { type: "pong" });
      } else if (message.type === "unread_count" && typeof message.count === "number") {
        setCount(message.count);
      } else if (message.type === "notification") {
        receive(message.notification);
      } else if (message.type === "withdrawn" && typeof message.id === "number") {
        withdraw(message.id);
      }
    };
    ws.onclose = function (event) {
      drop();
      if (event.code === CLOSE_UNAUTHENTICATED) {
        stopped = true;
        setState("stopped");
        return;
      }
      scheduleReconnect();
    };
    ws.onerror = function () { /* a close event follows */ };
  }

  // Don't wait for the backoff when there is reason to think the network is back.
  function reconnectNow() {
    if (stopped) return;
    if (socket && socket.readyState === WebSocket.CONNECTING) return;
    if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessageAt < IDLE_MS) return;
    drop();
    attempts = 0;
    window.clearTimeout(retryTimer);
    retryTimer = null;
    connect();
  }

  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", function () {
    // The browser knows the network is gone: don't wait 70 s to notice. Retries go on (with backoff)
    // in case it is wrong; `online` reconnects at once.
    if (stopped) return;
    drop();
    scheduleReconnect();
    setState("offline");
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") reconnectNow();
  });
  window.addEventListener("pagehide", drop);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) reconnectNow(); // back from the back/forward cache
  });

  connect();
})();
