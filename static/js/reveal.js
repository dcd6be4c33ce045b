// Show/hide buttons on password fields: <button data-reveal="INPUT_ID" aria-pressed> switches the
// input between type=password and type=text. The button keeps one name ("Show password"); its
// state is aria-pressed. Without JavaScript the buttons stay hidden and the fields are ordinary
// password fields. Before the form is sent the password is hidden again, so no browser keeps it
// as typed text (autofill history, a restored page).
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("button[data-reveal]"), function (button) {
    var input = document.getElementById(button.getAttribute("data-reveal"));
    if (!input || button.getAttribute("data-ready")) return;
    button.setAttribute("data-ready", "1");
    function show(shown) {
      input.type = shown ? "text" : "password";
      button.setAttribute("aria-pressed", shown ? "true" : "false");
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      show(input.type === "password");
      input.focus();
    });
    if (input.form) input.form.addEventListener("submit", function () { show(false); });
  });
})();
