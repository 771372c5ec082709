// The import dialog (starlette-admin's import.js) offers "Import N row(s)" after its
// preview, counting every row of the file. Imports here are all rows or none
// (admin_app/admin/importing.py): when the preview found errors, the button says so
// and stays disabled until a new file or column choice previews clean.
(function () {
  "use strict";
  var button = document.querySelector('[data-sa-action="import-submit"]');
  var preview = document.querySelector('[data-sa-hook="import-step-preview"]');
  var errors = document.querySelector('[data-sa-hook="import-preview-errors"]');
  if (!button || !preview || !errors) return;
  var LABEL = "Fix the rows with errors to import";

  function guard() {
    var blocked = !preview.classList.contains("d-none") && errors.childElementCount > 0;
    if (!blocked || button.textContent.trim() === LABEL) return;
    button.disabled = true;
    button.textContent = LABEL;
  }

  new MutationObserver(guard).observe(button, { childList: true, subtree: true, attributes: true });
  new MutationObserver(guard).observe(errors, { childList: true });
})();
