// The command palette and the keyboard shortcuts of every admin page (docs/lists.md).
//
// Ctrl+K (Cmd+K on a Mac), or the top bar's search button, opens the palette: an ARIA 1.2
// combobox whose listbox offers, grouped, the pages the user may open
// (GET /admin/_api/palette, admin_app/admin/palette.py) and the records matching what is
// typed (GET /admin/_api/search?q=). Up/Down move, Enter opens, Escape closes and gives
// the focus back. Single-key shortcuts never fire while typing in a field.
(function () {
  "use strict";
  var script = document.currentScript;
  var commandsUrl = script.getAttribute("data-palette-url");
  var searchUrl = script.getAttribute("data-search-url");
  var minLength = 3;
  var commands = null;  // fetched on first open
  var records = [];  // the last search's groups
  var options = [];  // [{id, label, url, element}] in listbox order
  var active = -1;
  var asked = 0;  // the latest search's number: older answers are dropped
  var timer = null;
  var returnFocus = null;
  var word = window.appWord;

  function make(tag, attrs, text) {
    var element = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { element.setAttribute(name, attrs[name]); });
    if (text) element.textContent = text;
    return element;
  }

  // -- the palette ---------------------------------------------------------------------

  var dialog = make("dialog", { "class": "app-dialog app-palette", "aria-label": word("Go to or search") });
  var label = make("label", { "for": "app-palette-input", "class": "visually-hidden" },
    word("Go to a page or search records"));
  var input = make("input", {
    id: "app-palette-input", type: "text", role: "combobox", autocomplete: "off",
    spellcheck: "false", "aria-expanded": "false", "aria-controls": "app-palette-list",
    "aria-autocomplete": "list", "class": "form-control app-palette-input",
    placeholder: word("Go to… or search records")
  });
  var listbox = make("div", { id: "app-palette-list", role: "listbox", "aria-label": word("Results"),
    "class": "app-palette-list" });
  var status = make("p", { role: "status", "class": "app-palette-status" });
  var hint = make("p", { "class": "app-palette-hint" },
    word("↑ ↓ to move · Enter to open · Esc to close · ? for shortcuts"));
  dialog.append(label, input, listbox, status, hint);
  document.body.append(dialog);

  function open() {
    if (dialog.open) return;
    returnFocus = document.activeElement;
    input.value = "";
    records = [];
    dialog.showModal();
    input.focus();
    if (commands === null) loadCommands(); else render();
  }

  function close() {
    if (!dialog.open) return;
    dialog.close();
  }

  dialog.addEventListener("close", function () {
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
  });
  // A click on the backdrop (outside the box) closes it, as Escape does.
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) close();
  });

  function loadCommands() {
    fetch(commandsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (answer) { commands = answer.commands; render(); })
      .catch(function () { commands = []; say(word("The pages could not be loaded. Try again.")); });
  }

  function matches(text, term) {
    return text.toLowerCase().indexOf(term.toLowerCase()) !== -1;
  }

  function commandGroups(term) {
    var groups = [];
    var byName = {};
    (commands || []).forEach(function (command) {
      if (term && !matches(command.label, term)) return;
      if (!byName[command.group]) {
        byName[command.group] = { name: command.group, items: [] };
        groups.push(byName[command.group]);
      }
      byName[command.group].items.push({ label: command.label, url: command.url });
    });
    return groups;
  }

  function recordGroups(term) {
    return records.map(function (group) {
      var items = group.results.filter(function (r) { return r.url; }).map(function (r) {
        return { label: r.label, url: r.url };
      });
      items.push({ label: word("All {model} matching “{term}”", { model: group.model, term: term }), url: group.list_url,
        more: true });
      return { name: group.model, items: items };
    });
  }

  function render() {
    var term = input.value.trim();
    var groups = commandGroups(term).concat(recordGroups(term));
    listbox.textContent = "";
    options = [];
    groups.forEach(function (group, g) {
      var box = make("div", { role: "group", "aria-labelledby": "app-palette-g" + g,
        "class": "app-palette-group" });
      box.append(make("div", { id: "app-palette-g" + g, role: "presentation",
        "class": "app-palette-heading" }, group.name));
      group.items.forEach(function (item) {
        var id = "app-palette-o" + options.length;
        var option = make("div", { id: id, role: "option", "aria-selected": "false",
          "class": "app-palette-option" + (item.more ? " app-palette-more" : "") }, item.label);
        option.addEventListener("click", function () { go(item.url); });
        box.append(option);
        options.push({ id: id, url: item.url, element: option });
      });
      listbox.append(box);
    });
    input.setAttribute("aria-expanded", options.length ? "true" : "false");
    move(options.length ? 0 : -1);
    var count = word(options.length === 1 ? "1 result" : "{n} results", { n: options.length });
    if (!options.length && term.length > 0 && term.length < minLength) {
      say(word("Type {n} characters or more to search records.", { n: minLength }));
    } else {
      say(options.length ? count : word("Nothing matches."));
    }
  }

  function say(text) { status.textContent = text; }

  function move(index) {
    if (active >= 0 && options[active]) options[active].element.setAttribute("aria-selected", "false");
    active = index;
    if (active < 0) { input.removeAttribute("aria-activedescendant"); return; }
    var option = options[active];
    option.element.setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", option.id);
    option.element.scrollIntoView({ block: "nearest" });
  }

  function go(url) {
    returnFocus = null;
    close();
    window.location.assign(url);
  }

  function search() {
    var term = input.value.trim();
    var mine = ++asked;
    if (term.length < minLength) { records = []; render(); return; }
    var url = searchUrl + "?q=" + encodeURIComponent(term);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (answer) {
        if (mine !== asked) return;
        records = answer.groups;
        render();
      })
      .catch(function () { if (mine === asked) say(word("The search failed. Try again.")); });
  }

  input.addEventListener("input", function () {
    records = [];
    render();
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });

  input.addEventListener("keydown", function (event) {
    var n = options.length;
    if (event.key === "ArrowDown" && n) { move((active + 1) % n); event.preventDefault(); }
    else if (event.key === "ArrowUp" && n) { move((active - 1 + n) % n); event.preventDefault(); }
    else if (event.key === "Home" && n && event.ctrlKey) { move(0); event.preventDefault(); }
    else if (event.key === "End" && n && event.ctrlKey) { move(n - 1); event.preventDefault(); }
    else if (event.key === "Enter" && active >= 0) { event.preventDefault(); go(options[active].url); }
  });

  document.querySelectorAll("[data-app-palette-open]").forEach(function (button) {
    button.addEventListener("click", open);
  });

  // -- the shortcuts dialog ------------------------------------------------------------

  var SHORTCUTS = [
    ["Ctrl K / ⌘ K", word("Go to a page or search records")],
    ["/", word("Search this list")],
    ["j / k", word("Next / previous row of a list")],
    ["Enter", word("Open the focused row")],
    ["e", word("Edit the focused row")],
    ["n", word("Create a record (where you may)")],
    ["?", word("Show these shortcuts")]
  ];
  var help = make("dialog", { "class": "app-dialog app-shortcuts", "aria-labelledby": "app-shortcuts-title" });
  help.append(make("h2", { id: "app-shortcuts-title", "class": "h3" }, word("Keyboard shortcuts")));
  var table = make("dl", { "class": "app-shortcuts-list" });
  SHORTCUTS.forEach(function (pair) {
    var keys = make("dt");
    pair[0].split(" / ").forEach(function (key, i) {
      if (i) keys.append(" / ");
      keys.append(make("kbd", {}, key));
    });
    table.append(keys, make("dd", {}, pair[1]));
  });
  var done = make("button", { type: "button", "class": "btn" }, word("Close"));
  done.addEventListener("click", function () { help.close(); });
  help.append(table, make("p", { "class": "text-secondary" },
    word("The single keys work when no text field has the focus.")), done);
  document.body.append(help);
  var helpReturn = null;
  help.addEventListener("close", function () {
    if (helpReturn && document.contains(helpReturn)) helpReturn.focus();
  });

  function showHelp() {
    helpReturn = document.activeElement;
    help.showModal();
    done.focus();
  }

  // -- single keys on a list -----------------------------------------------------------

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table tbody tr[data-sa-href]"));
  }

  function currentRow() {
    var focused = document.activeElement;
    return focused && focused.closest ? focused.closest("tr[data-sa-href]") : null;
  }

  function step(by) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(currentRow());
    var next = at === -1 ? (by > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + by));
    all[next].focus();
  }

  function editCurrent() {
    var row = currentRow();
    var link = row && row.querySelector('a[href*="/edit?"]');
    if (link) window.location.assign(link.href);
  }

  function create() {  // the page's own "New" button, shown only where the user may create
    var links = document.querySelectorAll('.page-wrapper a[href*="/create"]');
    var link = Array.prototype.find.call(links, function (a) {
      return new URL(a.href).pathname.slice(-7) === "/create";
    });
    if (link) window.location.assign(link.href);
  }

  function focusSearch() {
    var box = document.querySelector('input[type="search"][name="q"]');
    if (!box) return false;
    HTMLElement.prototype.focus.call(box);  // admin.js silences the box's own focus()
    box.select();
    return true;
  }

  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]'));
  }

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      if (dialog.open) close(); else open();
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (dialog.open || help.open || document.querySelector(".modal.show")) return;
    if (typing(event.target)) return;
    var key = event.key;
    if (key === "?") { event.preventDefault(); showHelp(); }
    else if (key === "/") { if (focusSearch()) event.preventDefault(); }
    else if (key === "j") { event.preventDefault(); step(1); }
    else if (key === "k") { event.preventDefault(); step(-1); }
    else if (key === "e") { editCurrent(); }
    else if (key === "n") { create(); }
    else if (key === "Enter" && event.target.matches && event.target.matches("tr[data-sa-href]")) {
      event.preventDefault();
      window.location.assign(event.target.getAttribute("data-sa-href"));
    }
  });
})();
