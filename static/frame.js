// A page inside a frame (?frame=1: a relation manager's list on a record's detail page,
// or a form in its dialog; admin_app/admin/relations.py): the frame takes the height of
// the page, and a link or form that leaves it (a record, a delete page) opens in the
// page around the frame; paging, sorting and searching stay in the frame.
(function () {
  "use strict";
  var frame = window.frameElement;
  if (!frame) return;
  var listPath = window.location.pathname;
  var inDialog = frame.classList.contains("relation-dialog-frame");

  if (inDialog) {
    document.addEventListener("keydown", function (event) {
      var close = window.parent.appCloseRelationForm;
      if (event.key === "Escape" && !event.defaultPrevented && close) close();
    });
  }

  function fit() {
    if (!inDialog) frame.style.height = document.documentElement.scrollHeight + "px";
  }
  fit();
  if (window.ResizeObserver) new ResizeObserver(fit).observe(document.body);
  window.addEventListener("load", fit);

  // A link leaves the frame unless it goes to this page (paging, sorting) or to another
  // page made for a frame (a form's way back to its list, in a dialog).
  function leaves(url) {
    try {
      var target = new URL(url, window.location.href);
      return target.pathname !== listPath && target.searchParams.get("frame") !== "1";
    } catch (e) {
      return false;
    }
  }

  // In a relation manager's list, Edit opens the form in the page's dialog
  // (static/relations.js), coming back to this list when it is saved.
  function formInDialog(link) {
    var open = window.parent.appOpenRelationForm;
    var target = new URL(link.href, window.location.href);
    if (!open || !/\/edit$/.test(target.pathname)) return false;
    target.searchParams.set("frame", "1");
    // Back to this list; from a form already in the dialog, back to where it returns.
    var here = new URL(window.location.href);
    var back = inDialog && here.searchParams.get("_origin");
    target.searchParams.set("_origin", back || here.pathname + here.search);
    var label = window.appWord("Edit #{id}", { id: target.searchParams.get("pk") });
    open(target.href, label, frame);
    return true;
  }

  // A page opened from the list returns (after a save, or by its Back link) to the page
  // around the frame, not to the framed list on its own.
  function returningToParent(url) {
    var target = new URL(url, window.location.href);
    if (target.searchParams.has("_origin")) {
      var parent = window.parent.location;
      target.searchParams.set("_origin", parent.pathname + parent.search);
    }
    return target.href;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || link.target || link.getAttribute("href").charAt(0) === "#") return;
    if (!leaves(link.href)) return;
    if (formInDialog(link)) {
      event.preventDefault();
      return;
    }
    link.href = returningToParent(link.href);
    link.target = "_top";
  }, true);
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.target || !leaves(form.action || window.location.href)) return;
    form.action = returningToParent(form.action);
    form.target = "_top";
  }, true);
})();
