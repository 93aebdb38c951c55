/* Names and keyboard reach for what Swagger UI draws without them (axe-core), on the API docs page
   (templates/api/docs.html), as it draws them: Swagger UI renders operations when they are opened and
   again on "Try it out".
   - The request body's editor (a <textarea> with no label): "Request body".
   - A parameter's input or select (a table cell beside the parameter's name): the parameter's name.
   - An example or response box that scrolls (a <pre>): focusable, so a keyboard can scroll it
     (scrollable-region-focusable), and named by what it shows. */
(() => {
  const root = document.getElementById("swagger-ui");
  if (!root) return;
  const named = (field) =>
    field.labels?.length || field.hasAttribute("aria-label") || field.hasAttribute("aria-labelledby");

  const nameAll = () => {
    root.querySelectorAll("textarea").forEach((editor) => {
      if (!named(editor)) editor.setAttribute("aria-label", "Request body");
    });
    root.querySelectorAll(".parameters td input, .parameters td select").forEach((field) => {
      if (named(field)) return;
      const name = field.closest("tr")?.querySelector(".parameter__name")?.firstChild?.textContent;
      if (name) field.setAttribute("aria-label", name.replace(/\s+/g, " ").trim());
    });
    root.querySelectorAll("pre").forEach((box) => {
      const scrolls = box.scrollHeight > box.clientHeight || box.scrollWidth > box.clientWidth;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", box.closest(".responses-wrapper") ? "Response example" : "Example");
      }
    });
  };

  new MutationObserver(nameAll).observe(root, { childList: true, subtree: true });
  nameAll();
})();
