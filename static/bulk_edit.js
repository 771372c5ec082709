// The bulk edit pages (templates/admin/bulk_edit.html, admin_app/admin/bulk_edit_pages.py).
// On the form, a field's "Change" box is ticked as soon as its value is touched. On the
// result page, a running edit's progress bar follows the live channel (/admin/ws tells
// its user `{"type": "bulk_edit", "edit"}` as batches commit) and a poll of its status
// (`GET …/bulk-edit/<token>/status`, every second, every three with the live channel);
// once the edit ends the page is reloaded to show the result.
(function () {
  "use strict";
  document.querySelectorAll("[data-bulk-field]").forEach(function (box) {
    var choose = box.querySelector("[data-bulk-choose]");
    function touched(event) {
      if (event.target !== choose) choose.checked = true;
    }
    box.addEventListener("input", touched);
    box.addEventListener("change", touched);
  });

  var result = document.querySelector("[data-bulk-result]");
  if (!result) return;
  var bar = result.querySelector("[data-bulk-bar]");
  var text = result.querySelector("[data-bulk-progress]");
  var token = (result.dataset.statusUrl.match(/bulk-edit\/([0-9a-f]{32})/) || [])[1];
  var live = null;
  var ended = false;
  function draw(done, total) {
    var share = total ? Math.min(100, Math.round((100 * done) / total)) : 100;
    bar.style.width = share + "%";
    bar.setAttribute("aria-valuenow", String(done));
  }
  function show(state) {
    if (ended) return;
    if (state.status !== "running") {
      ended = true;
      window.location.reload();
      return;
    }
    draw(state.done, state.total);
    text.textContent = window.appWord("Working: {done} of {total} rows done.",
      { done: state.done, total: state.total });
  }
  draw(Number(bar.dataset.done), Number(bar.dataset.total));
  if (result.dataset.status !== "running") return;
  function poll() {
    fetch(result.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        show(state);
        if (!ended) window.setTimeout(poll, live ? 3000 : 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  var script = document.querySelector("script[data-live-ws]");
  if (script && "WebSocket" in window) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + script.getAttribute("data-live-ws"));
    socket.addEventListener("open", function () { live = socket; });
    socket.addEventListener("close", function () { live = null; });
    socket.addEventListener("message", function (event) {
      try {
        var message = JSON.parse(event.data);
        if (message.type === "bulk_edit" && message.edit && message.edit.token === token) show(message.edit);
      } catch (ignored) { /* not for this page */ }
    });
  }
  window.setTimeout(poll, 1000);
})();
