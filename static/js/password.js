// New-password forms (form[data-js=new-password]): tick the org's rules as the person types and
// check the confirmation. The server decides; this only helps. The confirmation field is not an
// IDX field and is never sent on (the server drops undeclared names).
(function () {
  "use strict";
  var form = document.querySelector('form[data-js="new-password"]');
  if (!form) return;
  var password = form.querySelector('input[type="password"]:not([name="confirmPassword"])');
  var confirm = form.querySelector('input[name="confirmPassword"]');
  var confirmStatus = document.getElementById("f-confirm-password-messages");
  var list = form.querySelector(".rules__list");
  if (!password) return;

  var username = list ? (list.getAttribute("data-username") || "").toLowerCase() : "";
  var localPart = username.split("@")[0];

  function count(re, s) { return (s.match(re) || []).length; }
  function longestRun(s) {
    var best = 0, run = 0;
    for (var i = 0; i < s.length; i++) { run = i && s[i] === s[i - 1] ? run + 1 : 1; best = Math.max(best, run); }
    return best;
  }
  var CHECKS = {
    minLength: function (s, n) { return s.length >= n; },
    minLowerCase: function (s, n) { return count(/[a-z]/g, s) >= n; },
    minUpperCase: function (s, n) { return count(/[A-Z]/g, s) >= n; },
    minNumber: function (s, n) { return count(/[0-9]/g, s) >= n; },
    minSymbol: function (s, n) { return count(/[^A-Za-z0-9\s]/g, s) >= n; },
    adComplexity: function (s, n) {
      return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter(function (re) { return re.test(s); }).length >= n;
    },
    maxConsecutiveRepeatingCharacters: function (s, n) { return s.length > 0 && longestRun(s) <= n; },
    excludeUsername: function (s) {
      var l = s.toLowerCase();
      return s.length > 0 && !(username && l.indexOf(username) >= 0) && !(localPart && localPart.length > 2 && l.indexOf(localPart) >= 0);
    }
  };

  var items = list ? Array.prototype.slice.call(list.querySelectorAll("[data-rule]")) : [];
  function tick() {
    var s = password.value;
    items.forEach(function (li) {
      var check = CHECKS[li.getAttribute("data-rule")];
      if (!check) return;
      var ok = check(s, parseInt(li.getAttribute("data-value"), 10) || 0);
      li.classList.toggle("rule--met", ok);
      var state = li.querySelector(".rule__state");
      if (state) state.textContent = " " + state.getAttribute(ok ? "data-met" : "data-unmet");
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
