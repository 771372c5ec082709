// The words a script writes on a page, in the page's language: appWord("Rows: {n}", {n: 3}).
// The English text is the key of the page's translations (window.appWords, from
// /admin/_api/words.js: admin_app/admin/script_words.py lists every such text); a number
// put in a {place} is written as the page's language writes it.
window.appNumber = function (n) {
  var lang = document.documentElement.lang;
  return n.toLocaleString(lang ? lang + "-u-nu-latn" : undefined);
};
window.appWord = function (text, values) {
  var said = (window.appWords || {})[text] || text;
  return said.replace(/\{(\w+)\}/g, function (place, name) {
    var value = values ? values[name] : undefined;
    if (value === undefined) return place;
    return typeof value === "number" ? window.appNumber(value) : String(value);
  });
};

// A part of a page fetched when first wanted (a list's export form, column chooser,
// header filters and Save dialog): one request however many ask, `use` given its HTML
// once, and asked again after a failure.
window.appFetchOnce = function (owner, url, use) {
  if (!owner.appFetched) {
    owner.appFetched = fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(url + ": " + response.status);
        return response.text();
      })
      .then(use)
      .catch(function (error) {
        owner.appFetched = null;
        throw error;
      });
  }
  return owner.appFetched;
};

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

// A list's rows whose checkbox and actions cells are the same for every row but the key
// (admin_app/admin/lists/rows.py) get them here, from the page's one <template>, before
// starlette-admin's list script binds its handlers to them.
(function () {
  "use strict";
  var template = document.querySelector("template[data-row-cells]");
  if (!template) return;
  var key = template.getAttribute("data-row-cells");
  var cells = template.innerHTML;
  var where = template.getAttribute("data-actions");
  var href = template.getAttribute("data-href");
  document.querySelectorAll("tr[data-row-cells]").forEach(function (row) {
    var pk = row.getAttribute("data-sa-pk");
    if (href) {  // a click (or Enter) on the row opens the record, as on any list
      row.setAttribute("data-sa-href", href.split(key).join(pk));
      row.classList.add("row-clickable");
      row.tabIndex = 0;
    }
    var holder = document.createElement("tbody");
    holder.innerHTML = cells.split(key).join(pk);
    var made = holder.firstElementChild ? Array.from(holder.firstElementChild.children) : [];
    var actions = where ? made.pop() : null;
    made.reverse().forEach(function (cell) { row.prepend(cell); });
    if (actions && where === "first") row.children[made.length].before(actions);
    else if (actions) row.append(actions);
  });
})();

// Layout and keyboard help on every admin page (static/admin.css has the styles).
(function () {
  "use strict";

  // starlette-admin's list.js focuses the search box on every list page, which puts
  // keyboard and screen-reader users past the skip link, the menu and the page's title.
  // It keeps doing so after a search (the person is refining it), not on a plain visit.
  // This script runs before list.js's page setup, so its focus() call finds this no-op.
  var search = document.querySelector('input[type="search"][name="q"]');
  if (search && !search.value) search.focus = function () {};

  // A single word (a code, an address, a number) is not broken at a hyphen to fit a
  // narrow column; sentences still wrap at spaces.
  document.querySelectorAll("td[data-column] > .cell").forEach(function (cell) {
    var text = cell.textContent.trim();
    if (text.length <= 30 && !/\s/.test(text)) cell.classList.add("app-one-word");
  });

  // A table wider than its box: say so (the hidden edge fades out), and let a keyboard
  // scroll it (the box becomes a named, focusable region; arrow keys then scroll it).
  function markOverflow(box) {
    var hidden = box.scrollWidth - box.clientWidth;
    var scrolls = hidden > 1;
    box.classList.toggle("app-more-left", scrolls && box.scrollLeft > 1);
    box.classList.toggle("app-more-right", scrolls && box.scrollLeft < hidden - 1);
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", window.appWord("Table, scrolls sideways"));
    } else if (!scrolls && box.getAttribute("role") === "region") {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  }

  var boxes = document.querySelectorAll(".table-responsive");
  // The box changes size with the window; the table inside it with its content.
  var resized = new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      markOverflow(entry.target.closest(".table-responsive"));
    });
  });
  boxes.forEach(function (box) {
    markOverflow(box);
    resized.observe(box);
    if (box.firstElementChild) resized.observe(box.firstElementChild);
    box.addEventListener("scroll", function () { markOverflow(box); }, { passive: true });
  });
})();

// The trash page's "Select all on this page" (templates/admin/trash.html). The selection
// form works without this (the server takes every key of the page when it is ticked);
// here the row boxes follow it, and unticking one row unticks it.
(function () {
  "use strict";
  var all = document.querySelector("[data-trash-select-all]");
  if (!all) return;
  var picks = document.querySelectorAll("[data-trash-pick]");
  all.addEventListener("change", function () {
    picks.forEach(function (box) { box.checked = all.checked; });
  });
  picks.forEach(function (box) {
    box.addEventListener("change", function () {
      if (!box.checked) all.checked = false;
    });
  });
})();

// The column chooser's checkboxes (templates/admin/_column_choices.html) are not on a list
// page: they are fetched when the Columns button is first pointed at, focused or opened,
// before starlette-admin's applyColumnVisibility reads them.
(function () {
  "use strict";
  var slot = document.querySelector("[data-app-column-choices]");
  var menu = slot && slot.closest(".dropdown");
  if (!menu || !window.fetch) return;
  function load() {
    window.appFetchOnce(slot, slot.getAttribute("data-app-column-choices"), function (html) {
      var template = document.createElement("template");
      template.innerHTML = html;
      slot.replaceWith(template.content);
    }).catch(function () {}); // asked again when the menu is next opened
  }
  var toggle = menu.querySelector("[data-bs-toggle=dropdown]");
  ["pointerenter", "focus", "touchstart"].forEach(function (name) {
    toggle.addEventListener(name, load, { passive: true });
  });
  menu.addEventListener("show.bs.dropdown", load);
})();
