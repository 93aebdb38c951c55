/* Names for the admin's fields that Django's own markup leaves without one (axe-core: label,
   aria-input-field-name, list), on every admin page (templates/admin/base_site.html):
   - a date and time field's two inputs ("Date: [ ] Time: [ ]" under a label that points at neither):
     "Published at, date" and "Published at, time";
   - the fields in an inline's table, which has column headings and no labels: the column's heading;
   - an autocomplete box (select2, drawn by the admin's script) and the choice shown in it: its field's
     label, and its "×" to clear hidden from screen readers (a mouse's shortcut, and a <span> among the
     list's items).
   Select2 draws after this runs and again on each choice, and an inline's "Add another" adds rows: each
   change to the page is named as it comes. */
(() => {
  const clean = (text) => text.replace(/\s+/g, " ").trim().replace(/:$/, "");
  const named = (field) =>
    field.labels?.length || field.hasAttribute("aria-label") || field.hasAttribute("aria-labelledby");

  const heading = (cell) => {
    const header = cell.closest("table")?.tHead?.rows[0]?.cells[cell.cellIndex];
    return header ? clean(header.firstChild?.textContent || header.textContent) : "";
  };

  const fieldLabel = (element) => {
    const cell = element.closest("td");
    if (cell) return heading(cell);
    const label = element.closest(".flex-container, .form-row")?.querySelector("label");
    return label ? clean(label.textContent) : "";
  };

  const nameAll = () => {
    document.querySelectorAll("p.datetime input").forEach((input) => {
      if (named(input)) return;
      const part = input.classList.contains("vTimeField") ? "time" : "date";
      input.setAttribute("aria-label", `${fieldLabel(input)}, ${part}`);
    });
    document.querySelectorAll(".tabular td input, .tabular td select, .tabular td textarea").forEach((field) => {
      if (field.type !== "hidden" && !named(field) && !field.closest(".select2")) {
        field.setAttribute("aria-label", heading(field.closest("td")));
      }
    });
    document.querySelectorAll("select.admin-autocomplete").forEach((select) => {
      const box = select.nextElementSibling;
      if (!box?.classList.contains("select2")) return;
      const label = select.labels?.[0];
      const name = label ? clean(label.textContent) : fieldLabel(select);
      const combobox = box.querySelector(".select2-selection[role=combobox]");
      if (combobox && label) {
        label.id ||= `${select.id}-label`;
        const shown = combobox.getAttribute("aria-labelledby") || "";
        if (!shown.split(" ").includes(label.id)) {
          combobox.setAttribute("aria-labelledby", `${label.id} ${shown}`.trim());
        }
        // The choice shown inside it, a read-only textbox of its own: empty until something is chosen.
        box.querySelectorAll(".select2-selection__rendered[role=textbox]").forEach((shownChoice) => {
          shownChoice.setAttribute("aria-labelledby", label.id);
        });
      }
      box.querySelectorAll(".select2-search__field").forEach((search) => {
        if (!search.getAttribute("aria-label")) search.setAttribute("aria-label", name);
      });
      box.querySelectorAll(".select2-selection__clear").forEach((clear) => clear.setAttribute("aria-hidden", "true"));
    });
  };

  nameAll();
  new MutationObserver(nameAll).observe(document.documentElement, { childList: true, subtree: true });
})();
