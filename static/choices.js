// Long choice lists (templates/admin/fields/form/enum.html) arrive with only their blank
// and current options. The rest is fetched once, the first time the list is focused or
// pressed, or when the browser is idle, and put in place keeping the current choice.
(function () {
  "use strict";

  function load(select) {
    if (!select.appChoices) {
      select.appChoices = fetch(select.dataset.appChoices, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.ok ? response.json() : Promise.reject(response.status);
        })
        .then(function (items) {
          var current = select.value;
          var offered = items.some(function (item) {
            return item[0] === current;
          });
          // The blank option stays, and so does a stored value the list does not offer.
          var kept = Array.prototype.filter.call(select.options, function (option) {
            return option.value === "" || (option.value === current && !offered);
          });
          var options = items.map(function (item) {
            return new Option(item[1], item[0], false, item[0] === current);
          });
          select.replaceChildren.apply(select, kept.concat(options));
          select.value = current;
          select.dataset.appChoicesLoaded = "true";
        })
        .catch(function () {
          select.appChoices = null; // try again at the next focus
        });
    }
    return select.appChoices;
  }

  document.querySelectorAll("select[data-app-choices]").forEach(function (select) {
    select.addEventListener("focus", function () {
      load(select);
    });
    select.addEventListener("mousedown", function (event) {
      if (select.dataset.appChoicesLoaded) return;
      event.preventDefault(); // open it once the options are there
      select.focus();
      load(select).then(function () {
        if (select.showPicker) {
          try {
            select.showPicker();
          } catch (error) {
            /* not allowed without a user gesture any more: the list is focused */
          }
        }
      });
    });
    (window.requestIdleCallback || window.setTimeout)(function () {
      load(select);
    });
  });
})();
