// The Views menu of a list page (templates/admin/_saved_views_menu.html,
// admin_app/admin/saved_views/routes.py): open a saved view, save the list's state as a
// new one, rename, re-share or delete one's own. The menu is read when it opens, so it
// always shows the views as they are now. The Save dialog is not on the page: it is
// fetched when the menu is first opened (or, failing that, when it is asked for).
(function () {
  "use strict";

  var root = document.querySelector("[data-app-saved-views]");
  if (!root) return;
  var menu = root.querySelector("[data-app-saved-views-menu]");
  var dialog = null, form = null;
  var apiUrl = root.getAttribute("data-url");
  var current = new URLSearchParams(location.search).get("view");
  var data = null;
  var editing = null;
  var word = window.appWord;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)starlette_admin_csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function make(tag, attrs, text) {
    var element = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { element.setAttribute(name, attrs[name]); });
    if (text) element.textContent = text;
    return element;
  }

  function listUrl(params) {
    return location.pathname + (params.toString() ? "?" + params.toString() : "");
  }

  // The list's state as the view keeps it: the page's query without the view or position.
  function stateQuery() {
    var params = new URLSearchParams(location.search);
    ["view", "after", "before", "last", "page"].forEach(function (name) { params.delete(name); });
    return params.toString();
  }

  function item(label, attrs) {
    return make(attrs.href ? "a" : "button", Object.assign({ "class": "dropdown-item" },
      attrs.href ? {} : { type: "button" }, attrs), label);
  }

  function render() {
    menu.replaceChildren();
    var mine = null;
    menu.append(make("h6", { "class": "dropdown-header" }, word("Saved views")));
    if (!data.views.length) {
      menu.append(make("span", { "class": "dropdown-item-text text-secondary" }, word("No saved views yet")));
    }
    data.views.forEach(function (view) {
      var attrs = { href: view.url, "data-app-saved-view": String(view.id) };
      if (String(view.id) === current) {
        attrs["class"] = "dropdown-item active";
        attrs["aria-current"] = "page";
        if (view.mine) mine = view;
      }
      var link = item(view.name, attrs);
      if (!view.mine) link.append(make("span", { "class": "ms-2 small opacity-75" }, word("shared with you")));
      else if (view.shared_with.length) {
        link.append(make("span", { "class": "ms-2 small opacity-75" }, word("shared with {names}", { names: view.shared_with.join(", ") })));
      }
      menu.append(link);
    });
    menu.append(make("div", { "class": "dropdown-divider" }));
    var save = item(word("Save current view…"), { "data-app-saved-view-new": "" });
    save.addEventListener("click", function () { openDialog(null); });
    menu.append(save);
    if (mine) {
      var edit = item(word("Rename or share “{name}”…", { name: mine.name }), { "data-app-saved-view-edit": "" });
      edit.addEventListener("click", function () { openDialog(mine); });
      var remove = item(word("Delete “{name}”", { name: mine.name }), { "data-app-saved-view-delete": "", "class": "dropdown-item text-danger" });
      remove.addEventListener("click", function () { removeView(mine); });
      menu.append(edit, remove);
    }
    var plain = new URLSearchParams();
    plain.set("view", "none");
    menu.append(item(word("Plain list (forget my columns)"), { href: listUrl(plain), "data-app-saved-view-plain": "" }));
  }

  function load() {
    return fetch(apiUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) { data = body; render(); });
  }

  function choices(container, name, chosen, label) {
    container.replaceChildren();
    data.roles.forEach(function (role) {
      var id = "app-saved-view-" + name + "-" + role.id;
      var wrap = make("label", { "class": "form-check", "for": id });
      var box = make("input", { "class": "form-check-input", type: "checkbox", name: name, value: String(role.id), id: id });
      box.checked = chosen.indexOf(role.id) >= 0;
      wrap.append(box, make("span", { "class": "form-check-label" }, label(role)));
      container.append(wrap);
    });
    if (!data.roles.length) container.append(make("p", { "class": "text-secondary mb-0" }, word("You hold no role to share with.")));
  }

  function loadDialog() {
    return window.appFetchOnce(root, apiUrl + "/dialog", function (html) {
      var template = document.createElement("template");
      template.innerHTML = html;
      dialog = template.content.querySelector("[data-app-saved-view-dialog]");
      form = dialog.querySelector("[data-app-saved-view-form]");
      form.addEventListener("submit", submit);
      form.querySelector("[data-app-saved-view-cancel]").addEventListener("click", function () {
        dialog.close();
      });
      root.after(dialog);
    });
  }

  function openDialog(view) {
    loadDialog().then(function () { showDialog(view); }, function () {
      window.alert(word("The dialog could not be opened; reload the page and try again."));
    });
  }

  function showDialog(view) {
    editing = view;
    form.reset();
    clearErrors();
    dialog.querySelector("#app-saved-view-title").textContent = word(view ? "Edit view" : "Save view");
    form.elements.name.value = view ? view.name : "";
    choices(form.querySelector("[data-app-role-choices]"), "role", view ? view.roles : [], function (r) { return r.name; });
    var defaults = form.querySelector("[data-app-saved-view-defaults]");
    defaults.hidden = !data.can_set_defaults || !data.roles.length;
    choices(form.querySelector("[data-app-default-choices]"), "default", view ? view.default_for : [],
      function (r) { return word("Default for {role}", { role: r.name }); });
    form.querySelector("[data-app-saved-view-resave]").hidden = !view;
    dialog.showModal();
    form.elements.name.focus();
  }

  function clearErrors() {
    form.querySelectorAll("[data-app-error]").forEach(function (el) { el.textContent = ""; });
    form.elements.name.classList.remove("is-invalid");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (json) { return { ok: response.ok, body: json }; });
    });
  }

  function submit(event) {
    event.preventDefault();
    clearErrors();
    var body = new FormData(form);
    if (!editing || body.get("resave")) body.set("query", stateQuery());
    body.delete("resave");
    post(editing ? apiUrl + "/" + editing.id : apiUrl, body).then(function (result) {
      if (result.ok) { location.assign(result.body.url); return; }
      var errors = (result.body && result.body.errors) || { name: (result.body && result.body.msg) || word("Not saved.") };
      Object.keys(errors).forEach(function (field) {
        var slot = form.querySelector('[data-app-error="' + field + '"]') || form.querySelector('[data-app-error="name"]');
        slot.textContent = errors[field];
        if (field === "name") form.elements.name.classList.add("is-invalid");
      });
    });
  }

  function removeView(view) {
    if (!window.confirm(word("Delete the view “{name}”?", { name: view.name }))) return;
    post(apiUrl + "/" + view.id + "/delete", new FormData()).then(function (result) {
      if (result.ok) location.assign(location.pathname + "?view=none");
    });
  }

  // "Reset" in the column chooser shows every column, and should be remembered as such.
  var reset = document.querySelector("#column-visibility-dropdown a[href]");
  if (reset) {
    var url = new URL(reset.getAttribute("href"), location.href);
    url.searchParams.set("view", "none");
    reset.setAttribute("href", url.pathname + url.search);
  }

  // The columns and page size this page shows, remembered on the server when the user
  // chose them (the URL names them, or view=none asks for the list's own), so the list
  // opens with them next time. Sent again only when they change (per browser tab).
  function rememberChoice() {
    var params = new URLSearchParams(location.search);
    if (!params.has("cols") && !params.has("page_size") && params.get("view") !== "none") return;
    var body = new URLSearchParams();
    body.set("cols", params.get("cols") || "");
    body.set("page_size", params.get("page_size") || "");
    var key = "app-list-choice:" + apiUrl;
    try {
      if (sessionStorage.getItem(key) === body.toString()) return;
      sessionStorage.setItem(key, body.toString());
    } catch (error) { /* no storage: send it every time */ }
    var form = new FormData();
    body.forEach(function (value, name) { form.set(name, value); });
    post(apiUrl + "/remember", form);
  }

  rememberChoice();
  root.addEventListener("show.bs.dropdown", function () {
    load();
    loadDialog().catch(function () {});
  });
  root.querySelector("[data-app-saved-views-toggle]").addEventListener("focus", function () {
    if (!data) load();
  }, { once: true });
  load();
})();
