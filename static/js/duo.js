// Duo Web v2 (form[data-js=duo]): load Duo's frame for this transaction; when it posts back its
// signed "AUTH|…|…" answer (from Duo's origin, nowhere else), append the app half of the signed
// request and submit the pair as credentials.signatureData.
(function () {
  "use strict";
  var form = document.querySelector('form[data-js="duo"]');
  if (!form) return;
  var origin = form.getAttribute("data-duo-origin");
  var frame = form.querySelector("iframe");
  var answer = /^(AUTH|ENROLL)\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$/;
  var parent = window.location.href.split("#")[0];
  frame.src = origin + "/frame/web/v1/auth?tx=" + encodeURIComponent(form.getAttribute("data-duo-tx")) +
    "&parent=" + encodeURIComponent(parent) + "&v=2.6";

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    if (typeof event.data !== "string" || !answer.test(event.data)) return;
    form.elements.namedItem("credentials.signatureData").value = event.data + ":" + form.getAttribute("data-duo-app");
    form.submit();
  });
})();
