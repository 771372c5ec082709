// Relation managers on a record's detail page (templates/admin/detail.html,
// admin_app/admin/relations.py): a related record's create or edit form opens in a
// dialog over the page. When the form is saved (or cancelled) it returns to the framed
// list it came from; then the dialog closes and that section's list shows the change.
(function () {
  "use strict";
  var dialog = document.querySelector("[data-relation-dialog]");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var frame = dialog.querySelector("iframe");
  var title = dialog.querySelector("#relation-dialog-title");
  var list = null; // the section's list frame to refresh after the form
  var opener = null; // where the focus returns

  function open(url, label, listFrame) {
    if (listFrame !== frame) {
      // A form opened from a section's list (not from a form already in the dialog).
      list = listFrame;
      opener = document.activeElement;
    }
    title.textContent = label;
    frame.title = label;
    frame.src = url;
    if (!dialog.open) dialog.showModal();
  }

  function close() {
    if (dialog.open) dialog.close();
  }

  dialog.addEventListener("close", function () {
    frame.src = "about:blank";
    if (opener && opener.focus) opener.focus();
  });
  dialog.querySelector("[data-relation-dialog-close]").addEventListener("click", close);

  frame.addEventListener("load", function () {
    var page;
    try {
      page = frame.contentWindow.location;
    } catch (e) {
      return;
    }
    if (page.href === "about:blank") return;
    if (/\/list$/.test(page.pathname)) {
      // Saved or cancelled: the form went back to its list.
      close();
      if (list && list.contentWindow) list.contentWindow.location.reload();
      return;
    }
    var heading = frame.contentDocument.querySelector(".card-title, h1");
    frame.contentDocument.body.focus();
    if (heading && heading.textContent.trim()) frame.title = heading.textContent.trim();
  });

  // The Add button of a section.
  document.querySelectorAll("[data-relation-form]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var section = link.closest("[data-relation]");
      open(link.getAttribute("data-relation-form"), link.textContent.trim(),
        section && section.querySelector("iframe.relation-frame"));
    });
  });

  // An Edit link inside a section's list (static/frame.js asks for it).
  window.appOpenRelationForm = function (url, label, listFrame) {
    open(url, label, listFrame);
  };
  // Escape inside the form closes the dialog too (the key goes to the form's document).
  window.appCloseRelationForm = close;
})();
