/*
 * Collections, enhanced when JavaScript runs (every action also works as a form without it):
 *
 * - `[data-load-collections]`: a list kept on its own page (the public collections of a workbook,
 *   the featured collections) is fetched alone (`?fragment=1`) and shown in place, so the page
 *   that holds it can stay the same for every reader. Without JavaScript the link inside leads to
 *   that page.
 * - `[data-collection-order]`: the owner of a collection reorders its workbooks by dragging a
 *   handle, or from the keyboard: focus a handle, Space to pick the workbook up, the arrow keys to
 *   move it, Space or Enter to drop it, Escape to put it back. The new order is sent to the API
 *   (POST collections/{id}/order/); the Up and Down forms remain for anyone without JavaScript.
 */
(function () {
  "use strict";

  if (!window.fetch || window.SigmaCollections) return;
  window.SigmaCollections = true;

  function each(root, selector, callback) {
    Array.prototype.forEach.call(root.querySelectorAll(selector), callback);
  }

  // --- Lists loaded from their own page -----------------------------------------------------------

  // The list alone (`?fragment=1`), not the whole page around it.
  function fragmentUrl(address) {
    var url = new URL(address, window.location.href);
    url.searchParams.set("fragment", "1");
    return url.toString();
  }

  function load(holder) {
    fetch(fragmentUrl(holder.getAttribute("data-load-collections")), {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("Not loaded");
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var list = page.querySelector("[data-collections-list]");
        if (!list) return;
        if (holder.hasAttribute("data-hide-if-empty") && !list.querySelector("li")) {
          var section = holder.closest("section");
          if (section) section.hidden = true;
          return;
        }
        holder.replaceChildren.apply(holder, Array.prototype.slice.call(list.childNodes));
      })
      .catch(function () {
        // The link to the page stays: nothing is lost.
      });
  }

  // --- Reordering ---------------------------------------------------------------------------------

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setUpOrder(list) {
    var api = list.getAttribute("data-api-root");
    var id = list.getAttribute("data-collection-order");
    var status = document.querySelector("[data-collection-status]");
    var before = null; // the order when a keyboard move started, for Escape
    var dragged = null;

    function items() {
      return Array.prototype.slice.call(list.querySelectorAll(".coll-item"));
    }

    function order() {
      return items().map(function (item) {
        return item.getAttribute("data-workbook-id");
      });
    }

    function title(item) {
      var node = item.querySelector(".coll-item__title");
      return node ? node.textContent : "";
    }

    function say(message) {
      if (status) status.textContent = message;
    }

    function refreshButtons() {
      var all = items();
      all.forEach(function (item, index) {
        var up = item.querySelector("button[value=up]");
        var down = item.querySelector("button[value=down]");
        if (up) up.disabled = index === 0;
        if (down) down.disabled = index === all.length - 1;
      });
    }

    function save() {
      refreshButtons();
      var ids = order().map(Number);
      return fetch(api + "collections/" + id + "/order/", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({ workbook_ids: ids }),
      }).then(function (response) {
        if (!response.ok) throw new Error("Not saved");
        say("The new order is saved.");
      }).catch(function () {
        say("The new order could not be saved. Reload the page and try again.");
      });
    }

    function move(item, offset) {
      var all = items();
      var index = all.indexOf(item);
      var target = index + offset;
      if (target < 0 || target >= all.length) return false;
      if (offset < 0) list.insertBefore(item, all[target]);
      else list.insertBefore(item, all[target].nextSibling);
      say(title(item) + ", position " + (target + 1) + " of " + all.length + ".");
      return true;
    }

    function drop(item) {
      item.classList.remove("coll-item--lifted");
      item.querySelector(".coll-item__handle").setAttribute("aria-pressed", "false");
      var changed = before !== null && before.join() !== order().join();
      before = null;
      if (changed) save();
      else say(title(item) + " dropped.");
    }

    each(list, ".coll-item", function (item) {
      var handle = item.querySelector(".coll-item__handle");
      if (!handle) return;
      handle.hidden = false;
      handle.setAttribute("aria-pressed", "false");
      item.setAttribute("draggable", "true");

      handle.addEventListener("keydown", function (event) {
        var lifted = item.classList.contains("coll-item--lifted");
        if (event.key === " " || event.key === "Enter") {
          event.preventDefault();
          if (lifted) {
            drop(item);
          } else {
            before = order();
            item.classList.add("coll-item--lifted");
            handle.setAttribute("aria-pressed", "true");
            say(title(item) + " picked up. Use the arrow keys to move it, Space to drop it.");
          }
        } else if (lifted && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
          event.preventDefault();
          move(item, event.key === "ArrowUp" ? -1 : 1);
          handle.focus();
        } else if (lifted && event.key === "Escape") {
          event.preventDefault();
          // Put the workbooks back in the order they had.
          (before || []).forEach(function (workbookId) {
            list.appendChild(list.querySelector("[data-workbook-id='" + workbookId + "']"));
          });
          before = null;
          item.classList.remove("coll-item--lifted");
          handle.setAttribute("aria-pressed", "false");
          handle.focus();
          say("Move cancelled.");
        }
      });

      item.addEventListener("dragstart", function (event) {
        dragged = item;
        before = order();
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.getAttribute("data-workbook-id"));
      });
      item.addEventListener("dragover", function (event) {
        if (!dragged || dragged === item) return;
        event.preventDefault();
        var box = item.getBoundingClientRect();
        var after = event.clientY > box.top + box.height / 2;
        list.insertBefore(dragged, after ? item.nextSibling : item);
      });
      item.addEventListener("dragend", function () {
        if (!dragged) return;
        var moved = dragged;
        dragged = null;
        var changed = before !== null && before.join() !== order().join();
        before = null;
        if (changed) save();
        moved.classList.remove("coll-item--lifted");
      });
    });

    // The Up and Down forms, through the API while it answers.
    each(list, "form[action$='/move/'] button[name=direction]", function (button) {
      button.addEventListener("click", function (event) {
        var item = button.closest(".coll-item");
        event.preventDefault();
        before = order();
        if (move(item, button.value === "up" ? -1 : 1)) save();
        before = null;
        button.focus();
      });
    });
  }

  function start() {
    each(document, "[data-load-collections]", load);
    each(document, "[data-collection-order]", setUpOrder);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
