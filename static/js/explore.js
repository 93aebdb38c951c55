// Explore's filters: a tag or an order applies as soon as it is chosen, the address carries no
// empty parameter, and the search box suggests tags as one types. Without this script the form
// still works: the Search button sends it and the server drops the empty parameters.
(function () {
  "use strict";

  var form = document.querySelector("form[data-explore-filters]");
  if (!form) {
    return;
  }

  // The form's address without its empty fields: ?q=hir, never ?q=hir&tag=&sort=.
  function cleanAddress() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && value.trim() !== "") {
        params.append(name, value);
      }
    });
    var query = params.toString();
    return form.action + (query ? "?" + query : "");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.location.assign(cleanAddress());
  });

  form.querySelectorAll("select").forEach(function (select) {
    select.addEventListener("change", function () {
      window.location.assign(cleanAddress());
    });
  });

  var box = form.querySelector("input[data-suggest]");
  var list = box && document.getElementById(box.getAttribute("list"));
  if (!box || !list) {
    return;
  }
  var timer = null;
  var asked = "";

  function show(names) {
    list.replaceChildren.apply(
      list,
      names.map(function (name) {
        var option = document.createElement("option");
        option.value = name;
        return option;
      })
    );
  }

  function suggest() {
    var typed = box.value.trim();
    if (typed === asked) {
      return;
    }
    asked = typed;
    if (!typed) {
      show([]);
      return;
    }
    fetch(box.dataset.suggest + "?q=" + encodeURIComponent(typed), {
      headers: { Accept: "application/json" },
      credentials: "omit",
    })
      .then(function (response) {
        return response.ok ? response.json() : { results: [] };
      })
      .then(function (body) {
        if (box.value.trim() !== typed) {
          return; // an older answer: what is typed now has moved on
        }
        show(
          (body.results || []).slice(0, 8).map(function (tag) {
            return tag.name;
          })
        );
      })
      .catch(function () {
        show([]);
      });
  }

  box.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(suggest, 150);
  });
})();
