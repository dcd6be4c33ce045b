// A CAPTCHA check in a step form (templates/controls/captcha.html): once the provider's script is
// ready it calls embeddedCaptchaReady (its `onload`), which draws the provider's widget; the
// widget's callback puts the token in the form's hidden field. A submit before the check is done
// stays on the page and says why.
(function () {
  "use strict";
  var box = document.querySelector('[data-js="captcha"]');
  var form = box && box.closest("form");
  var input = form && form.elements.namedItem(box.getAttribute("data-field"));
  if (!input) return;
  var missing = box.querySelector(".captcha__missing");
  var api = box.getAttribute("data-provider");

  window.embeddedCaptchaReady = function () {
    var provider = (api === "hcaptcha" || api === "grecaptcha") ? window[api] : null;
    if (!provider || typeof provider.render !== "function") return;
    provider.render(box.querySelector(".captcha__widget"), {
      sitekey: box.getAttribute("data-sitekey"),
      callback: function (token) { input.value = token; missing.hidden = true; },
      "expired-callback": function () { input.value = ""; }
    });
  };

  form.addEventListener("submit", function (event) {
    if (input.value) return;
    event.preventDefault();
    missing.hidden = false;
  });
})();
