/* Follow, favorite and mark notifications read without a page load; the viewer's favorites on the
 * gallery's cards.
 *
 * Every form here works without this file: the follow, favorite and mark-read buttons are POST forms
 * that redirect back with a message, and a card's ♥ opens a page that asks to confirm. This file sends
 * the same forms with fetch and `Accept: application/json` and shows the state the server answers
 * (aria-pressed, the button's text, the counts). Anything unexpected (signed out meanwhile, a network
 * error) falls back to the ordinary submission, so the member still learns what happened.
 *
 * Cards sit in fragments cached for every viewer, so they carry no state of their own: it comes from
 * /favorited/?ids=... for the cards on the page. Loaded for signed-in members only (inc/nav.html).
 */
(function () {
  "use strict";

  if (!window.fetch || !window.FormData) return;

  var MAX_IDS = 100; // per request to /favorited/
  var script = document.currentScript;
  var favoritedUrl = (script && script.getAttribute("data-favorited-url")) || "/favorited/";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function tell(message) {
    if (window.SigmaToasts) window.SigmaToasts.show(message);
  }

  function plural(count, noun) {
    return count + " " + noun + (count === 1 ? "" : "s");
  }

  // POST and read a JSON answer; rejects when the answer is not JSON (e.g. the sign-in page).
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) throw new Error("Not a JSON answer");
      return response.json().then(function (data) {
        return { ok: response.ok, status: response.status, data: data || {} };
      });
    });
  }

  function each(selector, callback) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), callback);
  }

  function byData(name, value) {
    return "[" + name + '="' + String(value).replace(/["\\]/g, "\\$&") + '"]';
  }

  // A button that says on/off with aria-pressed and its text; its form's hidden field asks for the
  // opposite state next time.
  function showPressed(form, on, onText, offText) {
    var button = form.querySelector("button");
    var label = form.querySelector("[data-label]");
    var nextState = form.querySelector("[data-next-state]");
    if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
    if (label && onText) label.textContent = on ? onText : offText;
    if (nextState) nextState.value = on ? "0" : "1";
  }

  // Sends `form` (or `body`) once at a time; `done` gets the JSON of a 2xx answer.
  function enhance(form, makeBody, done, fallback) {
    var busy = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      form.setAttribute("aria-busy", "true");
      post(form.action, makeBody())
        .then(function (result) {
          if (result.ok) done(result.data);
          else tell(result.data.detail || "That did not work. Please try again.");
        })
        .catch(fallback)
        .then(function () {
          busy = false;
          form.removeAttribute("aria-busy");
        });
    });
  }

  // --- Mark notifications read -----------------------------------------------------------------------

  function showRead(item) {
    item.classList.remove("notification--unread");
    var hint = item.querySelector(".notification__text .visually-hidden");
    if (hint) hint.remove();
    var form = item.querySelector("form.notification__read");
    if (form) form.remove();
  }

  // Delegated: notifications.js adds read forms to live notifications after this runs.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var all = form.hasAttribute("data-mark-all-read");
    if (!all && !form.classList.contains("notification__read")) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    form.setAttribute("aria-busy", "true");
    post(form.action, new FormData(form))
      .then(function (result) {
        if (!result.ok) throw new Error("not marked");
        if (all) {
          each(".notification--unread", showRead);
          form.remove();
        } else {
          showRead(form.closest(".notification"));
        }
        if (window.SigmaBell && typeof result.data.unread_count === "number") {
          window.SigmaBell.setCount(result.data.unread_count);
        }
      })
      .catch(function () {
        form.removeAttribute("aria-busy");
        form.submit();
      });
  });

  // --- Follow ----------------------------------------------------------------------------------------

  function showFollowing(username, following, followerCount) {
    each("form[data-follow-form]" + byData("data-username", username), function (form) {
      showPressed(form, following, "Following", "Follow");
    });
    if (typeof followerCount === "number") {
      each(byData("data-follower-count", username), function (element) {
        element.textContent = plural(followerCount, "follower");
      });
    }
  }

  each("form[data-follow-form]", function (form) {
    var username = form.getAttribute("data-username");
    enhance(
      form,
      function () { return new FormData(form); },
      function (data) { showFollowing(username, !!data.following, data.follower_count); },
      function () { form.submit(); }
    );
  });

  // --- Favorites -------------------------------------------------------------------------------------

  function showFavorited(id, favorited, favoriteCount) {
    each("form[data-favorite-form]" + byData("data-workbook-id", id), function (form) {
      showPressed(form, favorited, "Favorited", "Favorite");
    });
    each("form[data-favorite-card]" + byData("data-workbook-id", id), function (form) {
      showPressed(form, favorited);
    });
    if (typeof favoriteCount === "number") {
      each(byData("data-favorite-count", id), function (element) {
        var noun = element.getAttribute("data-noun");
        element.textContent = noun ? plural(favoriteCount, noun) : String(favoriteCount);
      });
    }
  }

  // The workbook's own page: a POST form with the real state.
  each("form[data-favorite-form]", function (form) {
    var id = form.getAttribute("data-workbook-id");
    enhance(
      form,
      function () { return new FormData(form); },
      function (data) { showFavorited(id, !!data.favorited, data.favorite_count); },
      function () { form.submit(); }
    );
  });

  // The cards: their state comes from /favorited/, then the ♥ toggles in place.
  function enhanceCard(form) {
    var id = form.getAttribute("data-workbook-id");
    var button = form.querySelector("button");
    enhance(
      form,
      function () {
        var body = new FormData();
        body.append("favorite", button.getAttribute("aria-pressed") === "true" ? "0" : "1");
        return body;
      },
      function (data) { showFavorited(id, !!data.favorited, data.favorite_count); },
      function () {
        // The confirming page, which comes back here.
        var back = window.location.pathname + window.location.search;
        window.location.href = form.action + "?next=" + encodeURIComponent(back);
      }
    );
  }

  var cards = document.querySelectorAll("form[data-favorite-card]");
  var ids = [];
  Array.prototype.forEach.call(cards, function (form) {
    var id = form.getAttribute("data-workbook-id");
    if (/^\d+$/.test(id) && ids.indexOf(id) === -1) ids.push(id);
  });
  for (var start = 0; start < ids.length; start += MAX_IDS) {
    var batch = ids.slice(start, start + MAX_IDS);
    fetch(favoritedUrl + "?ids=" + batch.join(","), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || !Array.isArray(data.favorited)) return;
        var favorited = {};
        data.favorited.forEach(function (id) { favorited[String(id)] = true; });
        return favorited;
      })
      .then(
        (function (batchIds) {
          return function (favorited) {
            if (!favorited) return; // the cards keep working without it: they open the confirming page
            batchIds.forEach(function (id) {
              each("form[data-favorite-card]" + byData("data-workbook-id", id), function (form) {
                if (form.hasAttribute("data-enhanced")) return;
                form.setAttribute("data-enhanced", "");
                showPressed(form, !!favorited[id]);
                enhanceCard(form);
              });
            });
          };
        })(batch)
      )
      .catch(function () { /* as above */ });
  }
})();
