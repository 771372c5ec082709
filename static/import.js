// The import pages (templates/admin/import.html, admin_app/admin/import_pages.py).
//
// Step 1 sends the chosen file as the body of a PUT (never a multipart form: the server
// writes it to disk as it arrives), then opens the job's own page. There the job's
// status picks the step shown; the buttons call the JSON routes of
// admin_app/admin/import_jobs.py, and a running job is followed through the live
// channel (/admin/ws sends its user `{"type": "import", "job"}` as it goes), with a poll
// of its status every 3 s besides (every second while the socket is not open, and at
// once when the live channel says the status changed). Refusals are shown at
// the field or step they are about. Everything is bound here: the CSP forbids inline
// handlers.
(function () {
  "use strict";
  var root = document.querySelector("[data-import-page]");
  var source = document.getElementById("import-data");
  if (!root || !source) return;
  var data = JSON.parse(source.textContent);
  var job = data.job;
  var RUNNING = { pending: "checking", validating: "checking", applying: "applying" };
  var STEPS = {
    uploaded: "mapping", validated: "result", done: "done", failed: "failed", cancelled: "cancelled"
  };
  var STEP_NUMBER = { upload: 1, mapping: 2, checking: 3, result: 3 };
  var polling = null;
  var started = null; // the first progress sample of the apply: {at, done}

  function one(selector) { return root.querySelector(selector); }
  function all(selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }
  function number(n) { return window.appNumber(Number(n || 0)); }
  var word = window.appWord;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)starlette_admin_csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // A JSON call; resolves to {status, body}, body being {} when the answer is not JSON.
  function call(method, url, body, contentType) {
    var headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
    if (contentType) headers["Content-Type"] = contentType;
    return fetch(url, { method: method, body: body, headers: headers, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) {
          var parsed = {};
          try { parsed = text ? JSON.parse(text) : {}; } catch (ignored) { parsed = {}; }
          return { status: response.status, body: parsed };
        });
      });
  }

  function jobUrl(suffix) { return data.api_url + job.id + (suffix || ""); }
  function post(suffix, payload) {
    var body = payload === undefined ? undefined : JSON.stringify(payload);
    return call("POST", jobUrl(suffix), body, payload === undefined ? null : "application/json");
  }
  function messageOf(answer, fallback) {
    return (answer.body && (answer.body.error || answer.body.detail)) || fallback;
  }

  // ---- errors, at the place they are about --------------------------------------------
  function clearErrors() {
    all("[data-import-error]").forEach(function (box) {
      box.textContent = "";
      if (box.classList.contains("alert")) box.classList.add("d-none");
    });
    all(".is-invalid").forEach(function (input) { input.classList.remove("is-invalid"); });
  }
  function showError(where, text) {
    var box = one('[data-import-error="' + where + '"]') || one('[data-import-error="action"]');
    box.textContent = text;
    box.classList.remove("d-none");
    var input = box.classList.contains("invalid-feedback") && box.parentNode.querySelector("input, select");
    if (input) {
      input.classList.add("is-invalid");
      input.focus();
    } else {
      box.setAttribute("tabindex", "-1");
      box.focus();
    }
  }

  // ---- which step shows ---------------------------------------------------------------
  function show(step) {
    all("[data-import-step]").forEach(function (section) {
      section.classList.toggle("d-none", section.getAttribute("data-import-step") !== step);
    });
    var at = STEP_NUMBER[step] || 4;
    all("[data-import-step-item]").forEach(function (item) {
      var current = Number(item.getAttribute("data-import-step-item")) === at;
      item.classList.toggle("active", current);
      if (current) item.setAttribute("aria-current", "step"); else item.removeAttribute("aria-current");
    });
    root.setAttribute("data-import-status", job ? job.status : "new");
  }
  function moveTo(step) {
    show(step);
    var heading = one('[data-import-step="' + step + '"] h2');
    if (heading) heading.focus();
  }

  function render(next) {
    var before = job && job.status;
    job = next;
    var step = RUNNING[job.status] || STEPS[job.status] || "mapping";
    if (step === "checking") {
      one("[data-import-checking-text]").textContent = word("Rows checked so far: {n}", { n: number(job.rows_done) });
    } else if (step === "result") {
      renderResult();
    } else if (step === "applying") {
      renderProgress();
    } else if (step === "done") {
      one("[data-import-done-text]").textContent = word("{n} rows imported from {file} ({new} new, {updated} updated).",
        { n: number(job.rows_done), file: job.file, "new": number(job.new), updated: number(job.updated) });
    } else if (step === "failed") {
      one("[data-import-failed-text]").textContent = job.error || word("The import stopped.");
    }
    if (before !== job.status) moveTo(step); else show(step);
    if (RUNNING[job.status]) schedulePoll(); else stopPolling();
  }

  function renderResult() {
    ["new", "updated", "unchanged", "errors"].forEach(function (name) {
      one('[data-import-count="' + name + '"]').textContent = number(job[name]);
    });
    var box = one("[data-import-errors]");
    box.classList.toggle("d-none", !job.errors);
    var apply = one('[data-import-action="apply"]');
    var hint = one("[data-import-apply-hint]");
    var writes = job.new + job.updated;
    apply.disabled = Boolean(job.errors) || !writes;
    if (job.errors) {
      one("[data-import-errors-text]").textContent = word(
        "Rows with errors: {n}. Nothing can be imported yet: fix them in the file and upload it again, or change the mapping.",
        { n: number(job.errors) });
      fillErrors(job.first_errors || []);
      one("[data-import-errors-link]").setAttribute("href", jobUrl("/errors.csv"));
      hint.textContent = "";
    } else {
      hint.textContent = writes ? word("Rows to write: {n}, all of them or none.", { n: number(writes) }) :
        word("The file changes nothing: every row is already there as it is.");
    }
  }

  function fillErrors(rows) {
    var body = one("[data-import-errors-body]");
    body.textContent = "";
    rows.forEach(function (error) {
      var tr = document.createElement("tr");
      var row = document.createElement("td");
      var reason = document.createElement("td");
      row.textContent = error.row;
      reason.textContent = error.reason;
      tr.appendChild(row);
      tr.appendChild(reason);
      body.appendChild(tr);
    });
  }

  function duration(seconds) {
    if (seconds < 60) return word("about {n} s", { n: Math.max(1, Math.round(seconds)) });
    if (seconds < 3600) return word("about {n} min", { n: Math.round(seconds / 60) });
    return word("about {n} h", { n: Math.round(seconds / 360) / 10 });
  }

  function renderProgress() {
    var total = Math.max(1, job.new + job.updated);
    var done = Math.min(job.rows_done, total);
    var percent = Math.round((100 * done) / total);
    var bar = one("[data-import-bar]");
    bar.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    one("[data-import-done]").textContent = word("{done} of {total} ({percent}%)", { done: done, total: total, percent: percent });
    var now = Date.now();
    if (!started) started = { at: now, done: done };
    var seconds = (now - started.at) / 1000;
    var rate = seconds > 0 ? (done - started.done) / seconds : 0;
    one("[data-import-rate]").textContent = rate > 0 ? word("{n} rows/s", { n: Math.round(rate) }) : "—";
    one("[data-import-left]").textContent = rate > 0 ? duration((total - done) / rate) : "—";
  }

  // ---- following a running job --------------------------------------------------------
  var live = null; // the open WebSocket, if any
  function poll() {
    call("GET", jobUrl()).then(function (answer) {
      if (answer.status === 200) render(answer.body); else schedulePoll();
    }, schedulePoll);
  }
  function schedulePoll() {
    if (polling) return;
    polling = window.setTimeout(function () {
      polling = null;
      poll();
    }, live ? 3000 : 1000);
  }
  function heard(message) {
    if (message.type !== "import" || !message.job || !job || message.job.id !== job.id) return;
    if (RUNNING[job.status] && message.job.status === job.status) {
      render(Object.assign({}, job, message.job));
    } else if (message.job.status !== job.status) {
      stopPolling();
      poll(); // the whole answer: a checked job's first errors come with it
    }
  }
  function listen() {
    var script = document.querySelector("script[data-live-ws]");
    if (!script || !("WebSocket" in window)) return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + script.getAttribute("data-live-ws"));
    socket.addEventListener("open", function () { live = socket; });
    socket.addEventListener("close", function () { live = null; });
    socket.addEventListener("message", function (event) {
      try { heard(JSON.parse(event.data)); } catch (ignored) { /* not for this page */ }
    });
  }
  if (job) listen();
  function stopPolling() {
    if (polling) window.clearTimeout(polling);
    polling = null;
  }

  // ---- step 1: the file, as the body of a PUT -----------------------------------------
  var upload = one("[data-import-upload]");
  if (upload) {
    upload.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors();
      var input = upload.querySelector('input[type="file"]');
      var file = input.files && input.files[0];
      if (!file) {
        showError("file", word("Choose a CSV or XLSX file first."));
        return;
      }
      var button = upload.querySelector('[data-import-action="upload"]');
      var status = upload.querySelector("[data-import-uploading]");
      button.disabled = true;
      status.classList.remove("d-none");
      upload.querySelector("[data-import-uploading-text]").textContent = word("Uploading {name}…", { name: file.name });
      var url = data.upload_url + "?name=" + encodeURIComponent(file.name);
      call("PUT", url, file, "application/octet-stream").then(function (answer) {
        if (answer.status === 201) {
          window.location.assign(data.page_url + "/" + answer.body.id);
          return;
        }
        var fallback = answer.status === 413 ? word("The file is larger than this server accepts.") :
          word("The upload failed ({status}). Try again.", { status: String(answer.status) });
        button.disabled = false;
        status.classList.add("d-none");
        showError("file", messageOf(answer, fallback));
      }, function () {
        button.disabled = false;
        status.classList.add("d-none");
        showError("file", word("The upload did not reach the server. Check the connection and try again."));
      });
    });
  }

  // ---- step 2: the mapping ------------------------------------------------------------
  var form = one("[data-import-mapping]");
  function keyShown() {
    var mode = one("[data-import-mode]");
    var row = one("[data-import-key-row]");
    if (mode && row) row.classList.toggle("d-none", mode.value === "create");
  }
  function choice() {
    var columns = {};
    all("[data-import-column]").forEach(function (select) {
      if (select.value) columns[select.getAttribute("data-import-column")] = select.value;
    });
    var mode = one("[data-import-mode]").value;
    var key = one("[data-import-key]");
    return {
      mapping: columns,
      mode: mode,
      key: mode === "create" || !key ? null : key.value,
      save_as: one("[data-import-save-as]").value.trim()
    };
  }
  function validate(payload, where) {
    clearErrors();
    all('[data-import-action="validate"], [data-import-action="retry"]').forEach(function (b) { b.disabled = true; });
    started = null;
    return post("/validate", payload).then(function (answer) {
      all('[data-import-action="validate"], [data-import-action="retry"]').forEach(function (b) { b.disabled = false; });
      if (answer.status === 202) {
        render(answer.body);
        return;
      }
      var field = answer.body && answer.body.field;
      showError(field === "key" || field === "mode" ? field : where, messageOf(answer, word("The check could not start ({status}).", { status: String(answer.status) })));
    });
  }
  if (form) {
    one("[data-import-mode]").addEventListener("change", keyShown);
    keyShown();
    var saved = one("[data-import-saved]");
    if (saved) {
      saved.addEventListener("change", function () {
        var columns = (data.saved || {})[saved.value];
        if (!columns) return;
        all("[data-import-column]").forEach(function (select) {
          select.value = columns[select.getAttribute("data-import-column")] || "";
        });
        one("[data-import-save-as]").value = saved.value;
      });
    }
    form.addEventListener("change", clearErrors); // a new choice answers the refusal
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      validate(choice(), "mapping");
    });
  }

  // ---- the buttons of the other steps -------------------------------------------------
  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-import-action]");
    if (!button || !job) return;
    var action = button.getAttribute("data-import-action");
    if (action === "cancel") {
      clearErrors();
      post("/cancel").then(function (answer) {
        if (answer.status === 200) render(answer.body);
        else call("GET", jobUrl()).then(function (now) { if (now.status === 200) render(now.body); });
      });
    } else if (action === "apply") {
      clearErrors();
      button.disabled = true;
      started = null;
      post("/apply").then(function (answer) {
        if (answer.status === 202) {
          var next = answer.body;
          next.status = "applying";
          next.rows_done = 0;
          render(next);
        } else {
          button.disabled = false;
          showError("action", messageOf(answer, word("The import could not start ({status}).", { status: String(answer.status) })));
        }
      });
    } else if (action === "retry") {
      validate({ mapping: job.mapping, mode: job.mode, key: job.key }, "action");
    } else if (action === "remap") {
      clearErrors();
      moveTo("mapping");
    }
  });

  if (job) render(job);
})();
