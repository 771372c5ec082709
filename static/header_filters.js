// The filters in a list's column headers (admin_app/admin/header_filters.py). Each button
// opens an HTML popover (opening, Escape, a click elsewhere and one open at a time need
// no script). The page carries the popovers empty, each with a link to its forms: this
// script fetches them when the button is first pointed at, focused or pressed, and puts
// them in place. It also places the popover under its button (a sheet along the bottom
// on a phone, by CSS), moves focus into it, keeps the button's aria-expanded true to it,
// and fills in the relation picker's suggestions from the admin's relation look-up.
(function () {
  "use strict";

  function place(button, popover) {
    if (window.matchMedia("(max-width: 575.98px)").matches) return; // a sheet, by CSS
    var box = button.getBoundingClientRect();
    var left = Math.min(Math.max(8, box.left), window.innerWidth - popover.offsetWidth - 8);
    popover.style.left = left + "px";
    popover.style.top = box.bottom + 4 + "px";
    popover.classList.add("is-placed");
  }

  function focusFirst(popover) {
    var first = popover.querySelector("select, input:not([type=hidden])");
    if (first) first.focus();
  }

  // The popover's forms, fetched once per page: the user's permissions and the choices
  // of now (the answer is never cached).
  function loadForms(popover) {
    var link = popover.querySelector("a[data-app-hf-load]");
    if (!link) return Promise.resolve();
    return window.appFetchOnce(popover, link.href, function (html) {
      var template = document.createElement("template");
      template.innerHTML = html;
      popover.replaceChildren(template.content);
      popover.querySelectorAll("[data-app-lookup]").forEach(suggest);
      if (popover.matches(":popover-open")) focusFirst(popover);
    }).catch(function () {}); // the link stays, tried again next time
  }

  document.querySelectorAll("[data-app-hf]").forEach(function (button) {
    var popover = document.getElementById(button.getAttribute("popovertarget"));
    if (!popover) return;
    ["pointerenter", "focus", "touchstart"].forEach(function (name) {
      button.addEventListener(name, function () { loadForms(popover); }, { passive: true });
    });
    popover.addEventListener("toggle", function (event) {
      var open = event.newState === "open";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      if (!open) return;
      place(button, popover);
      loadForms(popover).then(function () { place(button, popover); });
      focusFirst(popover);
    });
  });

  // The relation picker: suggestions as one types, from the relation look-up.
  function suggest(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var term = input.value.trim();
      if (!term || /^\d+$/.test(term)) return;
      timer = setTimeout(function () {
        var url = input.getAttribute("data-app-lookup") + "?limit=10&q=" + encodeURIComponent(term);
        fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : { items: [] }; })
          .then(function (data) {
            list.textContent = "";
            (data.items || []).forEach(function (item) {
              var option = document.createElement("option");
              var key = Object.keys(item).find(function (name) { return name !== "_meta"; });
              option.value = item[key];
              option.label = (item._meta && item._meta.repr) || String(item[key]);
              option.textContent = option.label;
              list.appendChild(option);
            });
          })
          .catch(function () { list.textContent = ""; });
      }, 200);
    });
  }
})();
