// Relation managers on a record's detail page (templates/admin/detail.html,
// admin_app/admin/relations.py): a related record's create or edit form opens in a
// dialog over the page. When the form is saved (or cancelled) it returns to the framed
// list it came from; then the dialog closes and that section's list shows the change.
//
// By keyboard: each page the dialog shows takes the focus (its first field, or the
// first field the server refused); Tab and Shift+Tab go round the dialog (its form and
// its Close button) and never reach the page behind; Escape closes it. When it closes,
// the focus returns to what opened it: the section's Add button, or the row's Edit link
// (found again in the list, which is reloaded after a save).
(function () {
  "use strict";
  var dialog = document.querySelector("[data-relation-dialog]");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var frame = dialog.querySelector("iframe");
  var title = dialog.querySelector("#relation-dialog-title");
  var closeButton = dialog.querySelector("[data-relation-dialog-close]");
  var list = null; // the section's list frame to refresh after the form
  var opener = null; // where the focus returns
  var TABBABLE = "a[href], button, input, select, textarea, [tabindex]";

  // What a Tab can reach in `doc`, in order (select2's open search box is its own).
  function tabStops(doc) {
    var view = doc.defaultView;
    return Array.prototype.filter.call(doc.querySelectorAll(TABBABLE), function (el) {
      return el.tabIndex >= 0 && !el.disabled && el.type !== "hidden" &&
        el.getClientRects().length > 0 && view.getComputedStyle(el).visibility !== "hidden";
    });
  }

  // The focused element, looking into frames (an Edit link inside a section's list).
  function focusedIn(doc) {
    var el = doc.activeElement;
    while (el && el.tagName === "IFRAME" && el.contentDocument) el = el.contentDocument.activeElement;
    return el;
  }

  // The first field the server refused (in the middle of the dialog, its message below
  // it in view), else the form's first field, else anything.
  function focusFirstStop(doc) {
    var stops = tabStops(doc);
    var refused = doc.querySelector("[aria-invalid=true], .is-invalid");
    var after = function (el) {
      return el === refused || (refused.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
    };
    var field = refused && stops.filter(after)[0];
    if (field) {
      field.focus({ preventScroll: true });
      field.scrollIntoView({ block: "center" });
      return;
    }
    var form = doc.querySelector("form:not([role=search])");
    var first = stops.filter(function (el) { return form && form.contains(el); })[0] || stops[0];
    if (first) first.focus();
  }

  // Tab on the form's last stop goes on to the dialog's Close button, not out of it.
  function keepTabInside(doc) {
    doc.addEventListener("keydown", function (event) {
      if (event.key !== "Tab" || event.shiftKey || event.defaultPrevented) return;
      var stops = tabStops(doc);
      if (stops.length && doc.activeElement === stops[stops.length - 1]) {
        event.preventDefault();
        closeButton.focus();
      }
    });
  }
  // ... and Shift+Tab on the Close button goes round to the form's last stop.
  closeButton.addEventListener("keydown", function (event) {
    if (event.key !== "Tab" || !event.shiftKey || !frame.contentDocument) return;
    var stops = tabStops(frame.contentDocument);
    if (stops.length) {
      event.preventDefault();
      stops[stops.length - 1].focus();
    }
  });

  function open(url, label, listFrame) {
    if (listFrame !== frame) {
      // A form opened from a section's list (not from a form already in the dialog).
      list = listFrame;
      opener = focusedIn(document);
    }
    title.textContent = label;
    frame.title = label;
    frame.src = url;
    if (!dialog.open) dialog.showModal();
  }

  function close() {
    if (dialog.open) dialog.close();
    returnFocus(); // now, not once the "close" event comes
  }

  function returnFocus() {
    if (opener && opener.isConnected && opener.focus) opener.focus();
  }

  // After a save the list is reloaded: the Edit link that opened the form is found again
  // in the new list (by its address), else the list's first stop takes the focus.
  function reloadList() {
    var inList = opener && opener.ownerDocument === list.contentDocument;
    var href = inList && opener.getAttribute("href");
    if (href) {
      list.addEventListener("load", function () {
        var doc = list.contentDocument;
        var again = Array.prototype.filter.call(doc.querySelectorAll("a[href]"), function (a) {
          return a.getAttribute("href") === href;
        });
        var target = again[0] || tabStops(doc)[0];
        if (target) target.focus();
      }, { once: true });
    }
    list.contentWindow.location.reload();
  }

  dialog.addEventListener("close", function () {
    frame.src = "about:blank";
    returnFocus();
  });
  closeButton.addEventListener("click", close);

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
      if (list && list.contentWindow) reloadList();
      return;
    }
    var doc = frame.contentDocument;
    var heading = doc.querySelector(".card-title, h1");
    if (heading && heading.textContent.trim()) frame.title = heading.textContent.trim();
    keepTabInside(doc);
    // After the page's own set-up (select2 and the date pickers replace their inputs),
    // which jQuery runs when it is ready: a handler added now runs after those.
    var takeFocus = function () { focusFirstStop(doc); };
    var jQuery = frame.contentWindow.jQuery;
    if (jQuery) jQuery(takeFocus);
    else takeFocus();
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
