// Waits for progress made elsewhere (a push approved, a magic link opened) without
// disturbing the page: asks the app's poll URL, which makes at most one upstream call per
// interval, and moves on only when the sign-in state has changed.
(function () {
  var script = document.currentScript;
  var url = script.getAttribute("data-poll-url");
  var stepUrl = script.getAttribute("data-step-url");
  var delay = Math.max(parseInt(script.getAttribute("data-poll-ms"), 10) || 4000, 1000);

  function again(ms) {
    window.setTimeout(check, Math.max(ms || delay, 1000));
  }

  function check() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("poll answered " + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (answer.changed) {
          window.location.assign(answer.location || stepUrl);
        } else {
          again(answer.next_ms);
        }
      })
      .catch(function () {
        delay = Math.min(delay * 2, 60000); // the app or the network is struggling: back off
        again(delay);
      });
  }

  again(delay);
})();
