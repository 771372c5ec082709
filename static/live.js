// Live activity on the admin's list, detail and edit pages: changes made by others, and
// who else is on the same record. Talks to /admin/ws (admin_app/web/live_socket.py).
// Everything is bound here with addEventListener: the CSP forbids inline handlers.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !("WebSocket" in window)) return;
  var page = currentPage(script.getAttribute("data-admin-root") || "/admin/", window.location);
  if (!page) return;

  var socketPath = script.getAttribute("data-live-ws") || "/admin/ws";
  var me = null;
  var pending = 0;
  var socket = null;
  var attempt = 0;
  var openedAt = 0;
  var everConnected = false;
  var stopped = false;
  var word = window.appWord;
  var panel = buildPanel();

  // The page this is: a model's list, or one record's detail or edit form.
  function currentPage(root, loc) {
    if (loc.pathname.indexOf(root) !== 0) return null;
    var parts = loc.pathname.slice(root.length).split("/").filter(Boolean);
    if (parts.length !== 2) return null;
    var model = decodeURIComponent(parts[0]);
    var pk = new URLSearchParams(loc.search).get("pk");
    if (parts[1] === "list") return { model: model, pk: null, kind: "list" };
    if ((parts[1] === "detail" || parts[1] === "edit") && pk) {
      return { model: model, pk: pk, kind: parts[1] };
    }
    return null;
  }

  function buildPanel() {
    var root = document.createElement("div");
    root.className = "live-panel";
    root.setAttribute("data-live", "panel");
    root.setAttribute("aria-live", "polite");
    var host = document.querySelector(".page-body .container-xl") || document.body;
    host.insertBefore(root, host.firstChild);
    var parts = { root: root };
    ["notice", "presence", "status"].forEach(function (name) {
      parts[name] = document.createElement("div");
      parts[name].setAttribute("data-live", name);
      parts[name].hidden = true;
      root.appendChild(parts[name]);
    });
    root.addEventListener("click", function (event) {
      var button = event.target.closest("[data-live-action='reload']");
      if (!button) return;
      event.preventDefault();
      window.location.reload();
    });
    return parts;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function reloadButton(label) {
    var button = element("button", "btn btn-link p-0 align-baseline fw-bold", label);
    button.type = "button";
    button.setAttribute("data-live-action", "reload");
    return button;
  }

  // An alert at the top of the page: a sentence, then an optional action.
  function notice(kind, sentence, action) {
    var box = panel.notice;
    var line = element("div", "", sentence);  // one line of text: Tabler's .alert is a flexbox
    if (action) line.appendChild(action);
    box.className = "alert alert-" + kind + " py-2 mb-3";
    box.setAttribute("role", kind === "info" ? "status" : "alert");
    box.replaceChildren(line);
    box.hidden = false;
  }

  function status(text) {
    panel.status.className = "text-secondary small mb-2";
    panel.status.textContent = text;
    panel.status.hidden = !text;
  }

  function onChange(message) {
    if (message.model !== page.model || (me && message.user.id === me.id)) return;
    if (page.kind === "list") {
      pending += message.count || message.pks.length;
      var count = pending === 1 ? word("1 new change: ") : word("{n} new changes: ", { n: pending });
      notice("info", count, reloadButton(word("refresh")));
    } else if (message.pks.indexOf(page.pk) !== -1) {
      var who = message.user.name;
      if (message.action === "deleted") {
        var back = element("a", "fw-bold", word("back to the list"));
        back.href = script.getAttribute("data-admin-root") + encodeURIComponent(page.model) + "/list";
        notice("danger", word("{name} just deleted this record: ", { name: who }), back);
      } else {
        var editing = page.kind === "edit";
        var label = editing ? word("reload (your unsaved edits will be lost)") : word("reload");
        notice("warning", word("{name} just changed this record: ", { name: who }), reloadButton(label));
      }
    }
  }

  function onResync() {
    if (page.kind === "list") {
      notice("info", word("Live updates were interrupted; changes may have been missed: "),
        reloadButton(word("refresh")));
    } else {
      notice("warning", word("Live updates were interrupted; this record may have changed: "),
        reloadButton(word("reload")));
    }
  }

  // A viewer as the others see them: "Ada Lovelace (editing)".
  function seen(viewer) {
    return viewer.mode === "editing" ? word("{name} (editing)", { name: viewer.name }) : viewer.name;
  }

  function onPresence(message) {
    if (message.model !== page.model || message.pk !== page.pk) return;
    var others = message.viewers.filter(function (viewer) { return !me || viewer.id !== me.id; });
    var box = panel.presence;
    box.replaceChildren();
    // A display class would beat the hidden attribute: only give it when there is someone.
    box.className = others.length ? "d-flex align-items-center gap-2 mb-3 text-secondary" : "";
    box.hidden = others.length === 0;
    others.forEach(function (viewer) {
      var initials = viewer.name.split(/\s+/).map(function (w) { return w.charAt(0); }).join("").slice(0, 2);
      var avatar = element("span", "avatar avatar-xs rounded" + (viewer.mode === "editing" ? " bg-orange-lt" : " bg-blue-lt"), initials.toUpperCase());
      avatar.title = seen(viewer);
      box.appendChild(avatar);
    });
    var names = others.map(seen);
    box.appendChild(element("span", "", word("Also on this record: {names}", { names: names.join(", ") })));
  }

  function handle(message) {
    if (message.type === "hello") me = message.user;
    else if (message.type === "change") onChange(message);
    else if (message.type === "presence") onPresence(message);
    else if (message.type === "resync") onResync();
    else if (message.type === "error") status(word("Live updates: {detail}", { detail: message.detail }));
  }

  // The connection's state, on the panel for anyone inspecting the page (and the tests).
  function state(name) {
    panel.root.setAttribute("data-state", name);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    state("connecting");
    socket = new WebSocket(scheme + window.location.host + socketPath);
    socket.addEventListener("open", function () {
      state("open");
      openedAt = Date.now();
      status("");
      socket.send(JSON.stringify({
        type: "watch", model: page.model, pk: page.pk,
        mode: page.kind === "edit" ? "editing" : "viewing",
      }));
      if (everConnected) onResync();
      everConnected = true;
    });
    socket.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      handle(message);
    });
    socket.addEventListener("close", function (event) {
      var lasted = openedAt ? Date.now() - openedAt : 0;
      state("closed");
      socket = null;
      openedAt = 0;
      panel.presence.className = "";
      panel.presence.hidden = true;
      if (stopped) return;
      if (event.code === 4401) {
        status(word("Your session has ended. Sign in again to see live changes."));
      } else if (event.code === 1008) {
        status(word("Live updates stopped: {reason}.", { reason: event.reason || word("refused by the server") }));
      } else {
        reconnectLater(lasted);
      }
    });
  }

  // Exponential backoff with full jitter: 0.25 s up to about 30 s between tries.
  function reconnectLater(lasted) {
    if (lasted > 5000) attempt = 0;  // it was working: start again from a short delay
    var delay = 250 + Math.random() * Math.min(30000, 500 * Math.pow(2, attempt));
    attempt += 1;
    panel.root.setAttribute("data-retry-in", String(Math.round(delay)));
    if (everConnected) status(word("Live updates paused: reconnecting…"));
    window.setTimeout(connect, delay);
  }

  window.addEventListener("pagehide", function () {
    stopped = true;
    if (socket) socket.close(1000);
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;  // back from the page cache: the socket is gone
    stopped = false;
    if (!socket) connect();
  });
  connect();
})();
