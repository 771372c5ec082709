// The child rows of a parent's form (templates/admin/inline_table.html), an order's lines:
// Add, Move up/down and Remove, the full product list on every row, and each row's total
// and the sum of them kept up to date as you type. Without this script the form still
// works: rows are edited and removed in place, their place typed in, one blank row added.
(function () {
  "use strict";

  function money(value) {
    return (Math.round(value * 100) / 100).toFixed(2);
  }

  function setUp(section) {
    var body = section.querySelector("[data-child-rows-body]");
    var template = section.querySelector("[data-child-row-template]");
    var add = section.querySelector("[data-child-row-add]");
    var status = section.querySelector("[data-child-rows-status]");
    var totalOf = (section.dataset.totalOf || "").split(" ").filter(Boolean);
    var hintTo = section.dataset.hintTo || "";
    var noun = section.dataset.noun || window.appWord("Row");
    var next = 0;

    function rows() {
      return Array.prototype.slice.call(body.querySelectorAll("[data-child-row]"));
    }

    function fieldInput(row, name) {
      return row.querySelector('[data-field="' + name + '"] input, [data-field="' + name + '"] select');
    }

    function isBlank(row) {
      return Array.prototype.every.call(
        row.querySelectorAll("[data-field] input, [data-field] select"),
        function (control) { return control.type === "hidden" || !control.value; }
      );
    }

    function announce(text) {
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }

    function relabel(row, number) {
      row.querySelectorAll("label.visually-hidden, .form-check-label .visually-hidden").forEach(function (label) {
        label.textContent = label.textContent.replace(/\s*\d*$/, " " + number);
      });
      row.querySelectorAll("[data-child-row-up], [data-child-row-down]").forEach(function (button) {
        var values = { thing: noun.toLowerCase(), n: number };
        var up = button.hasAttribute("data-child-row-up");
        button.setAttribute("aria-label", up ? window.appWord("Move {thing} {n} up", values) :
          window.appWord("Move {thing} {n} down", values));
      });
    }

    function renumber() {
      rows().forEach(function (row, i) {
        var place = row.querySelector(".child-rows-place input:not([type=hidden])") ||
          row.querySelector('.child-rows-place input[name$=".position"]');
        if (place) place.value = String(i + 1);
        relabel(row, i + 1);
      });
    }

    function recount() {
      if (!totalOf.length) return;
      var sum = 0;
      rows().forEach(function (row) {
        var value = 1;
        totalOf.forEach(function (name) {
          var control = fieldInput(row, name);
          var number = control ? parseFloat(control.value) : NaN;
          value *= isFinite(number) ? number : 0;
        });
        var removed = row.classList.contains("child-row-removed");
        var out = row.querySelector("[data-child-row-total]");
        if (out) out.textContent = money(value);
        if (!removed) sum += value;
      });
      var total = section.querySelector("[data-child-rows-total]");
      if (total) total.textContent = money(sum);
    }

    function fillChoices(select) {
      if (select.dataset.childChoicesLoaded) return;
      var source = template.content.querySelector(
        '[data-child-choices="' + select.dataset.childChoices + '"]');
      if (!source) return;
      var current = select.value;
      var offered = false;
      var options = Array.prototype.map.call(source.options, function (option) {
        if (option.value === current) offered = true;
        var copy = option.cloneNode(true);
        copy.selected = option.value === current;
        return copy;
      });
      var kept = Array.prototype.filter.call(select.options, function (option) {
        return option.value && option.value === current && !offered;
      });
      select.replaceChildren.apply(select, options.concat(kept));
      select.value = current;
      select.dataset.childChoicesLoaded = "true";
    }

    function prepare(row) {
      var place = row.querySelector(".child-rows-place input");
      if (place) {
        place.type = "hidden";
        var label = row.querySelector(".child-rows-place label");
        if (label) label.remove();
      }
      var move = row.querySelector(".child-row-move");
      if (move) move.hidden = false;
      row.querySelectorAll("[data-child-choices]").forEach(function (select) {
        select.dataset.previousHint = hintOf(select);
      });
    }

    function hintOf(select) {
      var option = select.options[select.selectedIndex];
      return option ? option.getAttribute("data-hint") || "" : "";
    }

    function newRow() {
      var index = next++;
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("tbody");
      holder.innerHTML = html.trim();
      var row = holder.querySelector("[data-child-row]");
      row.querySelectorAll("[data-child-choices]").forEach(function (select) {
        select.dataset.childChoicesLoaded = "true"; // the template carries the whole list
      });
      return row;
    }

    function move(row, up) {
      var other = up ? row.previousElementSibling : row.nextElementSibling;
      if (!other) return;
      if (up) body.insertBefore(row, other);
      else body.insertBefore(other, row);
      renumber();
      var place = rows().indexOf(row) + 1;
      var button = row.querySelector(up ? "[data-child-row-up]" : "[data-child-row-down]");
      var edge = up ? !row.previousElementSibling : !row.nextElementSibling;
      if (edge) button = row.querySelector(up ? "[data-child-row-down]" : "[data-child-row-up]");
      if (button) button.focus();
      announce(window.appWord("{thing} moved to place {n} of {total}.",
        { thing: noun, n: place, total: rows().length }));
    }

    rows().forEach(function (row) {
      var index = parseInt(row.dataset.index, 10);
      if (isFinite(index)) next = Math.max(next, index + 1);
      if (row.hasAttribute("data-child-row-new") && isBlank(row) &&
          !row.querySelector(".is-invalid")) {
        row.remove(); // the blank row for pages without script; Add makes new ones
      }
    });
    rows().forEach(prepare);

    add.hidden = false;
    add.addEventListener("click", function () {
      var row = newRow();
      body.appendChild(row);
      prepare(row);
      renumber();
      recount();
      var first = row.querySelector("[data-field] select, [data-field] input:not([type=hidden])");
      if (first) first.focus();
      announce(window.appWord("{thing} {n} added.", { thing: noun, n: rows().length }));
    });

    body.addEventListener("focusin", function (event) {
      if (event.target.matches("[data-child-choices]")) fillChoices(event.target);
    });
    body.addEventListener("pointerdown", function (event) {
      if (event.target.matches("[data-child-choices]")) fillChoices(event.target);
    });
    body.addEventListener("input", recount);
    body.addEventListener("change", function (event) {
      var target = event.target;
      var row = target.closest("[data-child-row]");
      if (target.matches("[data-child-row-remove]")) {
        row.classList.toggle("child-row-removed", target.checked);
        announce(window.appWord(target.checked ? "{thing} will be removed when you save." : "{thing} kept.",
          { thing: noun }));
      }
      if (target.matches("[data-child-choices]") && hintTo) {
        var to = fieldInput(row, hintTo);
        var hint = hintOf(target);
        if (to && hint && (!to.value || to.value === target.dataset.previousHint)) to.value = hint;
        target.dataset.previousHint = hint;
      }
      recount();
    });
    body.addEventListener("click", function (event) {
      var button = event.target.closest("[data-child-row-up], [data-child-row-down]");
      if (!button) return;
      move(button.closest("[data-child-row]"), button.hasAttribute("data-child-row-up"));
    });

    renumber();
    recount();
  }

  document.querySelectorAll("[data-child-rows]").forEach(setUp);
})();
