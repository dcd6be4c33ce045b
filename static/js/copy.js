// Copy buttons: <button data-copy="ID"> copies the element's data-copy-text (or its text) and says so
// in the nearby live region. The buttons stay hidden without JavaScript or a clipboard.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var status = button.parentNode.querySelector("[data-copied]");
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.getAttribute("data-copy-text") || source.textContent.replace(/\s+/g, "");
      navigator.clipboard.writeText(text).then(function () {
        if (status) status.textContent = status.getAttribute("data-copied");
      });
    });
  });
})();
