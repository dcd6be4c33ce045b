// Poll pages: after the interval the Identity Engine asked for, submit the page's own
// poll form (one upstream call). Without JavaScript the form's button does the same.
(function () {
  var script = document.currentScript;
  var delay = Math.max(parseInt(script.getAttribute("data-poll-ms"), 10) || 4000, 1000);
  var form = document.querySelector("form.step-form");
  if (!form) return;
  window.setTimeout(function () {
    // Nothing typed yet: safe to move on without losing input.
    var typed = Array.prototype.some.call(form.querySelectorAll("input[type=text],input[type=password]"), function (i) { return i.value; });
    if (!typed) form.submit();
  }, delay);
})();
