// The admin user form: ticking "Send an invitation instead of setting a password" makes
// the password fields pointless, so they are hidden while it is ticked, and disabled, so
// nothing typed in them before is sent. Unticked, they are shown and required.
// Without this script the server still checks the same rule.
(function () {
  "use strict";
  var box = document.getElementById("send_invitation");
  if (!box) return;
  var inputs = ["password", "password_confirm"]
    .map(function (id) { return document.getElementById(id); })
    .filter(Boolean);

  // The block that holds a field's label and input (the label says which input it is for).
  function group(input) {
    var element = input.parentElement;
    while (element && !element.querySelector('label[for="' + input.id + '"]')) {
      element = element.parentElement;
    }
    return element || input;
  }

  function apply() {
    var inviting = box.checked;
    inputs.forEach(function (input) {
      group(input).hidden = inviting;
      input.disabled = inviting;
      input.required = !inviting;
      var label = document.querySelector('label[for="' + input.id + '"]');
      if (label) label.classList.toggle("required", !inviting);
    });
  }

  box.addEventListener("change", apply);
  apply();
})();
