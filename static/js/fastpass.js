// Okta Verify FastPass by loopback ([data-js=loopback]): Okta Verify on this computer listens on one
// of a few loopback ports. Probe them in order; the first that answers gets the challenge, and the
// page's polling (poll.js) notices when Okta has the signed answer. When none answers, say so: the
// page already offers the way on (another method, or the org's own sign-in page), and the person
// chooses; nothing is submitted for them.
(function () {
  "use strict";
  var box = document.querySelector('[data-js="loopback"]');
  if (!box) return;
  var status = box.querySelector(".device__status");
  var domain = box.getAttribute("data-domain");
  var request = box.getAttribute("data-challenge-request");
  var ports;
  try { ports = JSON.parse(box.getAttribute("data-ports") || "[]"); } catch (e) { ports = []; }
  var PROBE_MS = 1000; // a closed port fails at once; a slow loopback handshake needs a moment
  var CHALLENGE_MS = 5000;

  function call(url, options, ms) {
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, ms);
    options.signal = controller.signal;
    options.headers = { "Content-Type": "application/json" };
    options.cache = "no-store";
    options.credentials = "omit";
    return fetch(url, options).then(function (response) {
      window.clearTimeout(timer);
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response;
    }, function (error) {
      window.clearTimeout(timer);
      throw error;
    });
  }

  function giveUp() {
    status.textContent = box.getAttribute("data-msg-none");
    status.classList.remove("waiting");
    status.classList.add("message--error");
  }

  function probe(index) {
    if (index >= ports.length) return giveUp();
    var base = domain + ":" + ports[index];
    call(base + "/probe", { method: "GET" }, PROBE_MS).then(function () {
      return call(base + "/challenge", { method: "POST", body: JSON.stringify({ challengeRequest: request }) }, CHALLENGE_MS).then(function () {
        status.textContent = box.getAttribute("data-msg-found");
      }, giveUp);
    }, function () {
      probe(index + 1);
    });
  }

  probe(0);
})();
