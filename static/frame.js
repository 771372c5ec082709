// A list inside a frame (a relation manager on a record's detail page,
// templates/admin/list_frame.html): the frame takes the height of the list, and a link
// or form that leaves the list (a record, an edit form, a delete page) opens in the
// page around the frame; paging, sorting and searching stay in the frame.
(function () {
  "use strict";
  var frame = window.frameElement;
  if (!frame) return;
  var listPath = window.location.pathname;

  function fit() {
    frame.style.height = document.documentElement.scrollHeight + "px";
  }
  fit();
  if (window.ResizeObserver) new ResizeObserver(fit).observe(document.body);
  window.addEventListener("load", fit);

  function leaves(url) {
    try {
      return new URL(url, window.location.href).pathname !== listPath;
    } catch (e) {
      return false;
    }
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
