// Export with a progress bar (admin_app/admin/export.py, templates/admin/export_form.html).
//
// starlette-admin submits the export dialog as a plain form, so the browser downloads
// the file with no sign of how far along it is. When the dialog holds our export form,
// the submit click is taken over here: the same request is sent with fetch(), the rows
// are counted as they stream in (against the X-Export-Rows header), and the file is
// handed to the browser at the end. Then the dialog closes, ready for the next export,
// and the page says what was saved. Without this script the plain form still works.
(function () {
  "use strict";

  // The page does not carry the form (admin_app/admin/export.py, EXPORT_FORM_SLOT): it is
  // fetched from the URL its <template> names when the Export button is first pointed
  // at, focused or pressed, and handed to the button, where starlette-admin's actions.js
  // reads every action's form. A press before it came is held until it has.
  var source = document.querySelector("template[data-app-export-form]");
  var button = document.querySelector('[data-sa-hook="action-item"][data-sa-name="export"]');
  var loaded = false;

  function loadForm() {
    return window.appFetchOnce(source, source.getAttribute("data-url"), function (html) {
      button.setAttribute("data-sa-form", html);
      loaded = true;
    });
  }

  if (source && button && window.fetch) {
    ["pointerenter", "focus", "touchstart"].forEach(function (name) {
      button.addEventListener(name, function () { loadForm().catch(function () {}); },
        { passive: true });
    });
    // Capture phase on window: before Bootstrap opens the dialog and actions.js fills it.
    window.addEventListener("click", function (event) {
      if (loaded || !event.target.closest || event.target.closest("[data-sa-name]") !== button) {
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      loadForm().then(function () { button.click(); }, function () {
        announce(window.appWord("The export dialog could not be opened; reload the page and try again."),
          "danger");
      });
    }, true);
  }

  var FOLD_BYTES = 16 * 1024 * 1024; // hand chunks to a Blob every 16 MB

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)starlette_admin_csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function selectionParams(query) {
    var banner = document.querySelector('[data-sa-hook="select-all-banner-all"]');
    var allMatching = banner && !banner.classList.contains("d-none") &&
      !banner.closest('[data-sa-hook="select-all-banner"]').classList.contains("d-none");
    if (allMatching) {
      query.append("all", "1");
      return;
    }
    document.querySelectorAll('[data-sa-hook="row-checkbox"]:checked').forEach(function (box) {
      query.append("pks", box.value);
    });
  }

  function filenameOf(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var star = header.match(/filename\*=UTF-8''([^;]+)/i);
    if (star) return decodeURIComponent(star[1]);
    var plain = header.match(/filename="([^"]+)"/i);
    return plain ? plain[1] : fallback;
  }

  function formatBytes(n) {
    if (n < 1024 * 1024) return window.appWord("{n} KB", { n: Math.max(1, Math.round(n / 1024)) });
    return window.appWord("{n} MB", { n: Math.round(n / (1024 * 102.4)) / 10 });
  }

  function Progress(form) {
    this.box = form.querySelector("[data-app-export-progress]");
    this.bar = form.querySelector("[data-app-export-bar]");
    this.status = form.querySelector("[data-app-export-status]");
    this.cancel = form.querySelector("[data-app-export-cancel]");
    this.box.classList.remove("d-none");
  }
  Progress.prototype.show = function (percent, text) {
    this.bar.style.width = percent + "%";
    this.bar.setAttribute("aria-valuenow", String(Math.round(percent)));
    this.status.textContent = text;
  };
  Progress.prototype.finish = function (ok, text) {
    this.bar.classList.remove("progress-bar-animated", "progress-bar-striped");
    this.bar.classList.add(ok ? "bg-success" : "bg-danger");
    if (ok) this.bar.style.width = "100%";
    this.status.textContent = text;
    this.cancel.textContent = window.appWord("Close");
  };
  // Back to how the dialog first showed it: hidden, empty, cancellable.
  Progress.prototype.reset = function () {
    this.box.classList.add("d-none");
    this.bar.classList.remove("bg-success", "bg-danger");
    this.bar.classList.add("progress-bar-animated", "progress-bar-striped");
    this.show(0, window.appWord("Starting…"));
    this.cancel.textContent = window.appWord("Cancel");
  };

  function closeDialog(form) {
    var modal = form.closest(".modal");
    if (!modal) return;
    if (window.jQuery && window.jQuery.fn.modal) window.jQuery(modal).modal("hide");
    else if (window.bootstrap) window.bootstrap.Modal.getOrCreateInstance(modal).hide();
  }

  // A short message on the list page, through starlette-admin's alerts.
  function announce(text, type) {
    var admin = window.StarletteAdmin;
    if (admin && typeof admin.showAlert === "function") {
      admin.showAlert(type || "success", text, 8000);
    }
  }

  async function readAll(response, progress, isCsv) {
    var expected = parseInt(response.headers.get("X-Export-Rows") || "0", 10);
    var about = response.headers.get("X-Export-Rows-Estimated") === "1";
    var reader = response.body.getReader();
    var parts = [], pending = [], pendingBytes = 0, bytes = 0, lines = 0;
    for (;;) {
      var step = await reader.read();
      if (step.done) break;
      var chunk = step.value;
      bytes += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= FOLD_BYTES) {
        parts.push(new Blob(pending));
        pending = [];
        pendingBytes = 0;
      }
      if (isCsv) {
        for (var i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
        var rows = Math.max(0, lines - 1);
        var percent = expected ? Math.min(99, (100 * rows) / expected) : 50;
        progress.show(percent, window.appWord(about ? "{done} of about {total} rows" : "{done} of {total} rows",
          { done: rows, total: expected }));
      } else {
        progress.show(50, window.appWord(about ? "{size} received (about {total} rows)" : "{size} received ({total} rows)",
          { size: formatBytes(bytes), total: expected }));
      }
    }
    parts.push(new Blob(pending));
    return { blob: new Blob(parts, { type: response.headers.get("Content-Type") || "" }),
             rows: isCsv ? Math.max(0, lines - 1) : expected, about: !isCsv && about };
  }

  function save(blob, filename) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = filename;
    link.dataset.appExportDownload = "";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  async function run(form, submit) {
    var query = new URLSearchParams();
    query.append("name", "export");
    query.append("_origin", window.location.href);
    query.append("_list_query", window.location.search);
    selectionParams(query);
    var controller = new AbortController();
    var progress = new Progress(form);
    var done = false;
    // Assigned, not added: each export replaces the previous one's handler.
    progress.cancel.onclick = function () {
      if (!done) controller.abort();
      closeDialog(form);
    };
    submit.disabled = true;
    progress.show(0, window.appWord("Starting…"));
    var format = (form.querySelector('[name="format"]') || {}).value || "csv";
    try {
      var response = await fetch(form.dataset.appActionUrl + "?" + query.toString(), {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": csrfToken() },
        signal: controller.signal,
      });
      var disposition = response.headers.get("Content-Disposition") || "";
      if (!response.ok || disposition.indexOf("attachment") !== 0) {
        // A refused export answers with the list page and a message on it.
        progress.finish(false, window.appWord("The export could not be made."));
        window.location.reload();
        return;
      }
      var result = await readAll(response, progress, format === "csv");
      var filename = filenameOf(response, "export." + format);
      save(result.blob, filename);
      done = true;
      progress.finish(true, window.appWord("Done: {n} rows, {size}.",
        { n: result.rows, size: formatBytes(result.blob.size) }));
      closeDialog(form);
      progress.reset();
      announce(window.appWord(result.about ? "Exported about {n} rows to {file} ({size})." :
        "Exported {n} rows to {file} ({size}).",
        { n: result.rows, file: filename, size: formatBytes(result.blob.size) }));
    } catch (error) {
      done = true;
      var cancelled = error.name === "AbortError";
      progress.finish(false, cancelled ? window.appWord("Cancelled.") :
        window.appWord("The export stopped before the end; nothing was saved."));
    } finally {
      submit.disabled = false;
    }
  }

  // Capture phase on window: runs before starlette-admin's handler on the button and
  // before Bootstrap's (delegated, capturing) handler that would close the dialog.
  window.addEventListener("click", function (event) {
    var submit = event.target.closest('[data-sa-action="action-submit"]');
    if (!submit) return;
    var modal = submit.closest('[data-sa-hook="modal-action"]') || document;
    var form = modal.querySelector("form[data-app-export]");
    if (!form || !window.fetch || !window.ReadableStream) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    run(form, submit);
  }, true);
})();
