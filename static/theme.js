// The theme menu (templates/admin/_theme_menu.html) and My account's Theme card: a choice
// is saved on the account (POST /admin/account/theme, asking for JSON) and shown at once,
// without leaving the page. Should the call fail, the form is sent the ordinary way.
(function () {
  "use strict";
  var root = document.documentElement;

  function show(theme, label) {
    root.setAttribute("data-app-theme", theme);
    root.setAttribute("data-bs-theme", theme === "dark" ? "dark" : "light");
    if (window.appFollowTheme) window.appFollowTheme();  // "auto": the system's choice
    var icon = "";
    document.querySelectorAll('[data-app-theme-form] [name="theme"]').forEach(function (input) {
      var chosen = input.value === theme;
      if (input.type === "radio") input.checked = chosen;
      else input.setAttribute("aria-pressed", chosen ? "true" : "false");
      if (chosen && input.dataset.appIcon) icon = input.dataset.appIcon;
    });
    document.querySelectorAll("[data-app-theme-toggle]").forEach(function (toggle) {
      var title = window.appWord("Theme: {name}", { name: label });
      toggle.setAttribute("aria-label", title);
      toggle.setAttribute("title", title);
      var glyph = toggle.querySelector("i");
      if (glyph && icon) glyph.className = icon;
    });
    document.querySelectorAll("[data-app-theme-status]").forEach(function (status) {
      status.textContent = window.appWord("Theme saved: {name}.", { name: label });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-app-theme-form]");
    if (!form || form.hasAttribute("data-app-plain")) return;
    event.preventDefault();
    var submitter = event.submitter;
    var data = new FormData(form);
    // The menu closes as its item is chosen: the keyboard's focus goes back to its button.
    var toggle = form.parentElement.querySelector("[data-app-theme-toggle]");
    if (toggle) toggle.focus();
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) throw new Error("the theme was not saved: " + response.status);
      return response.json();
    }).then(function (answer) {
      show(answer.theme, answer.label);
    }).catch(function () {
      form.setAttribute("data-app-plain", "");
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    });
  });
})();
