// Explore's filters: a tag or an order applies as soon as it is chosen, the address carries no
// empty parameter, and the search box suggests tags and authors as one types. Without this
// script the form still works: the Search button sends it and the server drops the empty
// parameters.
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

  // Each suggestion: the words it puts in the box, and what it is (a tag or a member).
  function show(suggestions) {
    list.replaceChildren.apply(
      list,
      suggestions.map(function (suggestion) {
        var option = document.createElement("option");
        option.value = suggestion.value;
        option.label = suggestion.label;
        return option;
      })
    );
  }

  function ask(address, typed) {
    return fetch(address + "?q=" + encodeURIComponent(typed), {
      headers: { Accept: "application/json" },
      credentials: "omit",
    })
      .then(function (response) {
        return response.ok ? response.json() : [];
      })
      .catch(function () {
        return [];
      });
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
    var people = box.dataset.suggestPeople;
    Promise.all([
      ask(box.dataset.suggest, typed),
      people ? ask(people, typed) : Promise.resolve([]),
    ]).then(function (answers) {
      if (box.value.trim() !== typed) {
        return; // an older answer: what is typed now has moved on
      }
      var tags = (answers[0].results || []).slice(0, 6).map(function (tag) {
        return { value: tag.name, label: "Tag · " + tag.workbook_count + " workbooks" };
      });
      var members = (Array.isArray(answers[1]) ? answers[1] : []).slice(0, 4).map(function (member) {
        return { value: member.username, label: "Author · " + (member.full_name || member.username) };
      });
      show(tags.concat(members));
    });
  }

  box.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(suggest, 150);
  });
})();
