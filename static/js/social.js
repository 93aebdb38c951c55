/* Follow, favorite and mark notifications read without a page load; the viewer's favorites on the
 * gallery's cards.
 *
 * Every form here works without this file: the follow, favorite and mark-read buttons are POST forms
 * that redirect back with a message, and a card's ♥ opens a page that asks to confirm. This file does
 * the same actions through the API (docs/api.md: the session cookie, the CSRF token in X-CSRFToken)
 * and shows the state it answers (aria-pressed, the button's text, the counts). A refusal the API
 * explains (a draft, too many actions this minute) is shown as its `detail`; anything else (signed
 * out meanwhile, a network error) falls back to the ordinary submission, so the member still learns
 * what happened.
 *
 * Cards sit in fragments cached for every viewer, so they carry no state of their own: it comes from
 * the API's me/favorited/?ids=... for the cards on the page. Loaded for signed-in members only
 * (inc/nav_live.html, which gives the API's root in data-api-root).
 */
(function () {
  "use strict";

  // The API's root, as the page gives it (inc/nav_live.html: data-api-root, from the URLconf).
  // Without it, the forms work as they do without this file.
  var script = document.currentScript;
  var API = script && script.getAttribute("data-api-root");
  if (!window.fetch || !API) return;

  var MAX_IDS = 100; // per request to me/favorited/

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

  // One API call: resolves with the answer's JSON ({} for a 204), or with {refused: detail} when the
  // API says why it will not; rejects when the member is not signed in (any more) or the answer is
  // not the API's, so the caller falls back to the page.
  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(API + path, {
      method: method,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      headers: headers,
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) throw new Error("Not signed in");
      if (response.status === 204) return {};
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) throw new Error("Not a JSON answer");
      return response.json().then(function (data) {
        if (response.ok) return data || {};
        return { refused: (data && data.detail) || "That did not work. Please try again." };
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

  // The form's action through `call` (a promise of the API's answer), once at a time; `done` gets
  // the answer unless the API refused.
  function enhance(form, call, done, fallback) {
    var busy = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      form.setAttribute("aria-busy", "true");
      call()
        .then(function (data) {
          if (data.refused) tell(data.refused);
          else done(data);
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
    var id = form.querySelector("input[name=id]");
    api("POST", "notifications/read/", all ? { all: true } : { ids: [Number(id && id.value)] })
      .then(function (data) {
        if (data.refused) throw new Error("not marked");
        if (all) {
          each(".notification--unread", showRead);
          form.remove();
        } else {
          showRead(form.closest(".notification"));
        }
        // The bell's count, whatever else was read meanwhile (the socket tells it too).
        return api("GET", "notifications/?unread=true&page_size=1");
      })
      .then(function (data) {
        if (window.SigmaBell && typeof data.unread_count === "number") {
          window.SigmaBell.setCount(data.unread_count);
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

  // True when the form's button shows the state on.
  function pressed(form) {
    var button = form.querySelector("button");
    return !!button && button.getAttribute("aria-pressed") === "true";
  }

  // PUT turns on and answers the new state; DELETE turns off and answers nothing, so the state
  // (with its count) is then read from `path`.
  function toggle(form, on, off, read) {
    if (!pressed(form)) return api("PUT", on);
    return api("DELETE", off).then(function (data) {
      return data.refused ? data : api("GET", read);
    });
  }

  each("form[data-follow-form]", function (form) {
    var username = form.getAttribute("data-username");
    var member = "users/" + encodeURIComponent(username) + "/";
    enhance(
      form,
      function () { return toggle(form, member + "follow/", member + "follow/", member); },
      function (data) { showFollowing(username, !!data.is_following, data.follower_count); },
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

  function favoriting(form) {
    var workbook = "workbooks/" + encodeURIComponent(form.getAttribute("data-workbook-id")) + "/";
    return function () {
      return toggle(form, workbook + "favorite/", workbook + "favorite/", workbook);
    };
  }

  // After the DELETE, the workbook itself is read: its is_favorited is false by then.
  function favoriteDone(id) {
    return function (data) { showFavorited(id, !!data.is_favorited, data.favorite_count); };
  }

  // The workbook's own page: a POST form with the real state.
  each("form[data-favorite-form]", function (form) {
    var id = form.getAttribute("data-workbook-id");
    enhance(form, favoriting(form), favoriteDone(id), function () { form.submit(); });
  });

  // The cards: their state comes from me/favorited/, then the ♥ toggles in place.
  function enhanceCard(form) {
    var id = form.getAttribute("data-workbook-id");
    enhance(
      form,
      favoriting(form),
      favoriteDone(id),
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
    api("GET", "me/favorited/?ids=" + batch.join(","))
      .then(function (data) {
        if (!Array.isArray(data.favorited)) return;
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
