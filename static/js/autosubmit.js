// Submits the page's one [data-autosubmit] form as soon as it loads (sign-out at the org): the
// form is a POST so what it carries never becomes part of a URL.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
})();
