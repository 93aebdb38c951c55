/*
 * Picture uploads (settings page avatar, workbook thumbnail):
 * - a preview of the chosen file before it is sent, and a refusal of a file over the size limit
 *   without sending it (the server checks again; this only saves a long wait);
 * - while an upload is processing, its state is polled and the page reloads once it is ready
 *   or has failed, so the new picture (or the reason) appears without a manual refresh.
 */
(function () {
  "use strict";

  function showError(input, message) {
    var field = input.closest(".field");
    var error = field.querySelector("[data-upload-error]");
    if (!error) {
      error = document.createElement("p");
      error.className = "field__error";
      error.setAttribute("data-upload-error", "");
      error.setAttribute("role", "alert");
      field.appendChild(error);
    }
    error.textContent = message;
    error.hidden = !message;
    field.classList.toggle("field--invalid", Boolean(message));
  }

  document.querySelectorAll("[data-upload-input]").forEach(function (input) {
    var preview = input.form.querySelector("[data-upload-preview]");
    var objectUrl = null;
    input.addEventListener("change", function () {
      if (objectUrl) {
        URL.revokeObjectURL(objectUrl);
        objectUrl = null;
      }
      showError(input, "");
      preview.hidden = true;
      var file = input.files && input.files[0];
      if (!file) return;
      var maxBytes = Number(input.getAttribute("data-max-bytes"));
      if (maxBytes && file.size > maxBytes) {
        input.value = "";
        showError(input, "The file is larger than " + Math.round(maxBytes / 1048576) +
          " MB. Choose a smaller picture.");
        return;
      }
      objectUrl = URL.createObjectURL(file);
      preview.src = objectUrl;
      preview.hidden = false;
    });
  });

  document.querySelectorAll("[data-image-poll]").forEach(function (notice) {
    var url = notice.getAttribute("data-image-poll");
    var attempts = 0;
    function check() {
      attempts += 1;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status === 404) return { status: "gone" };  // replaced or removed
          return response.ok ? response.json() : null;
        })
        .then(function (image) {
          if (image && image.status !== "processing") {
            // A GET of the page, never a reload: this page may be the answer to a refused POST.
            window.location.replace(notice.getAttribute("data-page-url"));
          } else if (attempts < 60) {
            window.setTimeout(check, Math.min(500 * attempts, 5000));
          }
        })
        .catch(function () {
          if (attempts < 60) window.setTimeout(check, 5000);
        });
    }
    window.setTimeout(check, 500);
  });
})();
