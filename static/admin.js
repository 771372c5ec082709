// Behaviour for the admin pages that starlette-admin wrote as inline event handlers,
// which the Content-Security-Policy forbids. See INLINE_HANDLERS in admin_app/templating.py.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var element = event.target.closest("[data-app-call]");
    if (!element) return;
    var fn = window[element.getAttribute("data-app-call")];
    if (typeof fn === "function") fn();
  });
  document.addEventListener("change", function (event) {
    var element = event.target.closest("[data-app-navigate]");
    if (element) window.location = element.value;
  });
})();
