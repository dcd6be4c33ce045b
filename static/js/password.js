// New-password forms (form[data-js=new-password]): tick the org's rules as the person types (the
// names and username a registration's own fields hold included) and check the confirmation. The
// server decides; this only helps. The confirmation field is not an IDX field and is never sent
// on (the server drops undeclared names).
(function () {
  "use strict";
  var form = document.querySelector('form[data-js="new-password"]');
  if (!form) return;
  var password = form.querySelector('input[type="password"]:not([name="confirmPassword"])');
  var confirm = form.querySelector('input[name="confirmPassword"]');
  var confirmStatus = document.getElementById("f-confirm-password-messages");
  var list = form.querySelector(".rules__list");
  if (!password) return;

  // Who the password may not name: the username and names the page knows (data-username, a rule's
  // data-known), or, on a registration, what is typed in its own fields, read as it changes.
  function typed(name) {
    var input = form.querySelector('[name="userProfile.' + name + '"]');
    return input ? input.value.trim() : "";
  }
  function username() {
    return (list && list.getAttribute("data-username")) || typed("login") || typed("email");
  }
  // Okta splits a username at , . - _ # @ + and refuses a password holding any part of 3 or more
  // characters (page.py's `breaks` checks the same on the server).
  function usernameParts() {
    return username().toLowerCase().split(/[,.\-_#@+]/).filter(function (part) { return part.length >= 3; });
  }

  function count(re, s) { return (s.match(re) || []).length; }
  function longestRun(s) {
    var best = 0, run = 0;
    for (var i = 0; i < s.length; i++) { run = i && s[i] === s[i - 1] ? run + 1 : 1; best = Math.max(best, run); }
    return best;
  }
  var LOWER = /\p{Ll}/gu, UPPER = /\p{Lu}/gu, DIGIT = /\p{Nd}/gu, SYMBOL = /[^\p{L}\p{N}\s]/gu;
  var CHECKS = {
    minLength: function (s, n) { return Array.from(s).length >= n; },
    minLowerCase: function (s, n) { return count(LOWER, s) >= n; },
    minUpperCase: function (s, n) { return count(UPPER, s) >= n; },
    minNumber: function (s, n) { return count(DIGIT, s) >= n; },
    minSymbol: function (s, n) { return count(SYMBOL, s) >= n; },
    adComplexity: function (s, n) {
      return [LOWER, UPPER, DIGIT, SYMBOL].filter(function (re) { return count(re, s) > 0; }).length >= n;
    },
    maxConsecutiveRepeatingCharacters: function (s, n) { return s.length > 0 && longestRun(s) <= n; },
    excludeUsername: function (s) {
      var l = s.toLowerCase();
      return s.length > 0 && !usernameParts().some(function (part) { return l.indexOf(part) >= 0; });
    },
    excludeAttribute: function (s, attribute, li) {
      var name = (typed(attribute) || li.getAttribute("data-known") || "").toLowerCase();
      return s.length > 0 && !(name && s.toLowerCase().indexOf(name) >= 0);
    }
  };

  var items = list ? Array.prototype.slice.call(list.querySelectorAll("[data-rule]")) : [];
  function tick(event) {
    var s = password.value;
    items.forEach(function (li) {
      var check = CHECKS[li.getAttribute("data-rule")];
      if (!check) return;
      var value = li.getAttribute("data-value");
      var ok = check(s, /^\d+$/.test(value) ? parseInt(value, 10) : value, li);
      if (event) li.classList.remove("rule--broken");  // the refused password's marks go once the person types
      li.classList.toggle("rule--met", ok);
      var state = li.querySelector(".rule__state");
      var said = li.classList.contains("rule--broken") ? "data-broken" : ok ? "data-met" : "data-unmet";
      if (state) state.textContent = " " + state.getAttribute(said);
    });
    checkConfirm(false);
  }
  // A mismatch is the confirmation field's own error, shown beside it (not the browser's bubble):
  // on submit, and again as the person corrects it.
  function checkConfirm(final) {
    if (!confirm || !confirmStatus) return true;
    var same = confirm.value === password.value;
    var shown = confirm.getAttribute("aria-invalid") === "true";
    if (final || shown) {
      confirmStatus.textContent = "";
      if (!same) {
        var item = document.createElement("li");
        item.className = "message message--error";
        item.textContent = confirmStatus.getAttribute("data-mismatch");
        confirmStatus.appendChild(item);
      }
      confirm.setAttribute("aria-invalid", same ? "false" : "true");
      confirm.closest(".field").classList.toggle("field--invalid", !same);
    }
    return same;
  }
  if (list && list.parentNode.id) {
    var described = password.getAttribute("aria-describedby");
    password.setAttribute("aria-describedby", (described ? described + " " : "") + list.parentNode.id);
  }
  password.addEventListener("input", tick);
  // A registration's names and address, as they change, change what the password may hold.
  Array.prototype.forEach.call(form.querySelectorAll('[name^="userProfile."]'), function (input) {
    input.addEventListener("input", function () { tick(); });
  });
  if (confirm) {
    confirm.required = true;
    confirm.addEventListener("input", function () { checkConfirm(false); });
  }
  form.addEventListener("submit", function (event) {
    if (!checkConfirm(true)) {
      event.preventDefault();
      confirm.focus();
    }
  });
  tick();
})();
