// Names for the form widgets that starlette-admin's form.js builds (date pickers, select2,
// the JSON editor): each replaces or wraps the labelled input, so its label named nothing
// a person uses. Loaded after form.js on create and edit pages (templates/admin/*.html),
// and registered through its public initializer hook, so it also runs on added rows.
(function () {
  "use strict";

  function labelFor(id) {
    return id ? document.querySelector('label[for="' + CSS.escape(id) + '"]') : null;
  }

  function labelId(label) {
    if (!label.id) label.id = label.htmlFor + "-label";
    return label.id;
  }

  // flatpickr shows a copy of the input and hides the one the label points at: the copy
  // takes the id (so the label names it and a click on the label focuses it).
  function nameDatePicker(input) {
    var picker = input._flatpickr;
    if (!picker || !picker.altInput || picker.altInput.id) return;
    var alt = picker.altInput;
    alt.id = input.id;
    input.id = input.id + "-value";
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (input.hasAttribute(name)) alt.setAttribute(name, input.getAttribute(name));
    });
  }

  // flatpickr reads a typed date only in the format it shows ("March 14, 2026  09:30:00"),
  // and clears the field when that fails: a date typed the usual way ("2026-03-14 09:30")
  // was lost on leaving the field. It now reads ISO dates (time optional, seconds too) and
  // plain times first, then what it shows, in the page's language.
  var ISO_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
  var PLAIN_TIME = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

  function readTypedDates(input) {
    var picker = input._flatpickr;
    if (!picker || picker.config.parseDate) return;
    picker.config.parseDate = function (text, format) {
      var typed = String(text).trim();
      var date = ISO_DATE.exec(typed);
      if (date) {
        return new Date(+date[1], +date[2] - 1, +date[3], +(date[4] || 0), +(date[5] || 0), +(date[6] || 0));
      }
      var time = PLAIN_TIME.exec(typed);
      if (time) {
        var day = new Date();
        day.setHours(+time[1], +time[2], +(time[3] || 0), 0);
        return day;
      }
      var own = picker.config.parseDate;  // flatpickr's own reading, without this one
      picker.config.parseDate = undefined;
      try { return picker.parseDate(typed, format); } finally { picker.config.parseDate = own; }
    };
  }

  // select2 hides the select and shows a combobox of its own, named by its current value
  // only (single) or by nothing (multiple): the label goes first in its name.
  function nameSelect2(select) {
    var label = labelFor(select.id);
    var widget = select.nextElementSibling;
    if (!label || !widget || !widget.classList.contains("select2")) return;
    var box = widget.querySelector(".select2-selection");
    var names = (box.getAttribute("aria-labelledby") || "").split(" ");
    if (names.indexOf(labelId(label)) < 0) {
      box.setAttribute("aria-labelledby", [labelId(label)].concat(names).join(" ").trim());
    }
    var typed = widget.querySelector(".select2-search__field");
    if (typed && !typed.hasAttribute("aria-label")) typed.setAttribute("aria-labelledby", labelId(label));
  }

  // starlette-admin's form.js shows "Search..." in a picker with nothing chosen, and on
  // its empty option: its select2 templates return that English text, which we cannot
  // reach, so the words are put in the page's language as select2 writes them.
  var STOCK_SEARCH = "Search...";
  function translateStockSearch(node) {
    if (node.nodeType === Node.TEXT_NODE) {
      var parent = node.parentElement;
      if (node.nodeValue === STOCK_SEARCH && parent && parent.closest(".select2-container")) {
        node.nodeValue = window.appWord("Search...");
      }
    } else if (node.nodeType === Node.ELEMENT_NODE) {
      node.childNodes.forEach(translateStockSearch);
    }
  }
  if (window.appWord("Search...") !== STOCK_SEARCH) {
    new MutationObserver(function (changes) {
      changes.forEach(function (change) { change.addedNodes.forEach(translateStockSearch); });
    }).observe(document.body, { childList: true, subtree: true });
  }

  // The JSON editor (re)builds its toolbar and tree on every change of mode: a search box
  // and a search button without names, and a layout table read as a data table.
  function nameJsonEditor(container) {
    var label = labelFor(container.id);
    var name = label ? label.textContent.trim() : "JSON";
    if (label) {
      container.setAttribute("role", "group");
      container.setAttribute("aria-labelledby", labelId(label));
    }
    container.querySelectorAll(".jsoneditor-search input:not([aria-label])").forEach(function (box) {
      box.setAttribute("aria-label", window.appWord("Search in {name}", { name: name }));
    });
    container.querySelectorAll("button.jsoneditor-refresh:not([aria-label])").forEach(function (button) {
      button.setAttribute("aria-label", window.appWord("Search"));
    });
    container.querySelectorAll("table:not([role])").forEach(function (table) {
      table.setAttribute("role", "presentation");
    });
  }

  function watchJsonEditor(container) {
    nameJsonEditor(container);
    new MutationObserver(function () { nameJsonEditor(container); })
      .observe(container, { childList: true, subtree: true });
  }

  // `root` is the document, or (for an added row) a jQuery object: jQuery takes both.
  window.StarletteAdmin.registerFieldInitializer(function (root) {
    $("input.field-datetime, input.field-date, input.field-time", root).toArray()
      .forEach(function (input) { nameDatePicker(input); readTypedDates(input); });
    $("select", root).toArray().forEach(nameSelect2);
    $(".select2-container", root).toArray().forEach(translateStockSearch);
    $("div.field-json", root).toArray().forEach(watchJsonEditor);
  });
})();
