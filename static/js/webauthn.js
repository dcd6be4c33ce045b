// WebAuthn steps (form[data-js=webauthn]): ask the browser for a credential, put the results in the
// form's hidden inputs (base64url) and submit it. data-webauthn-mode is "get" (verify, with
// contextualData.challengeData), "create" (enroll, with contextualData.activationData) or
// "autofill" (passkeys on the sign-in page: offered in the username field's autofill as soon as
// the page loads, and by a button).
(function () {
  "use strict";
  var form = document.querySelector('form[data-js="webauthn"]');
  if (!form) return;
  var mode = form.getAttribute("data-webauthn-mode");
  var DEFAULT_TIMEOUT_MS = 120000; // when the Identity Engine names none
  var status = form.querySelector(".webauthn__status");
  var button = form.querySelector("[data-webauthn-start]");
  function json(name, fallback) {
    try { return JSON.parse(form.getAttribute(name) || "null") || fallback; } catch (e) { return fallback; }
  }
  var options = json("data-webauthn-options", {});
  var allow = json("data-webauthn-allow", []);
  function say(key, isError) {
    status.textContent = form.getAttribute("data-msg-" + key) || "";
    status.classList.toggle("message--error", !!isError);
  }

  function toBuffer(b64url) {
    var b64 = String(b64url).replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }
  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (c) { return typeof c === "string" ? { id: c } : c; }).filter(function (c) { return c && c.id; }).map(function (c) {
      var d = { type: c.type || "public-key", id: toBuffer(c.id) };
      if (c.transports) d.transports = c.transports;
      return d;
    });
  }
  function set(name, value) {
    var input = form.elements.namedItem("credentials." + name);
    if (input) input.value = value;
  }

  function requestOptions() {
    var o = options;
    var publicKey = { challenge: toBuffer(o.challenge), userVerification: o.userVerification || "preferred" };
    if (o.rpId) publicKey.rpId = o.rpId;
    publicKey.timeout = o.timeout || DEFAULT_TIMEOUT_MS;
    if (o.extensions) publicKey.extensions = o.extensions;
    var creds = descriptors(o.allowCredentials || allow);
    if (creds.length) publicKey.allowCredentials = creds;
    return { publicKey: publicKey };
  }
  function creationOptions() {
    var o = options;
    var user = o.user || {};
    var publicKey = {
      rp: o.rp, challenge: toBuffer(o.challenge),
      user: { id: toBuffer(user.id), name: user.name, displayName: user.displayName || user.name },
      pubKeyCredParams: o.pubKeyCredParams || [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -257 }]
    };
    publicKey.timeout = o.timeout || DEFAULT_TIMEOUT_MS;
    ["attestation", "authenticatorSelection", "extensions"].forEach(function (k) { if (o[k]) publicKey[k] = o[k]; });
    var exclude = descriptors(o.excludeCredentials);
    if (exclude.length) publicKey.excludeCredentials = exclude;
    return { publicKey: publicKey };
  }

  function done(credential) {
    var r = credential.response;
    set("clientData", toB64url(r.clientDataJSON));
    if (mode === "create") {
      set("attestation", toB64url(r.attestationObject));
      set("transports", JSON.stringify(typeof r.getTransports === "function" ? r.getTransports() : []));
    } else {
      set("authenticatorData", toB64url(r.authenticatorData));
      set("signatureData", toB64url(r.signature));
      if (r.userHandle) set("userHandle", toB64url(r.userHandle));
    }
    set("clientExtensions", JSON.stringify(typeof credential.getClientExtensionResults === "function" ? credential.getClientExtensionResults() : {}));
    form.submit();
  }

  var waiting = null; // the AbortController of the browser prompt we are waiting on
  var attempt = 0; // answers to an abandoned attempt are ignored

  function failed(cancelled) {
    waiting = null;
    say(cancelled ? "cancelled" : "error", true);
    button.textContent = form.getAttribute("data-msg-retry");
    button.focus();
  }

  // The username field lists this site's passkeys; picking one answers this request. The button's
  // own request replaces it (starting one aborts the other).
  var autofill = null;
  function offerInAutofill() {
    var username = document.querySelector('input[autocomplete~="username"]');
    if (!username || !PublicKeyCredential.isConditionalMediationAvailable) return;
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || waiting) return;
      username.setAttribute("autocomplete", "username webauthn");
      autofill = new AbortController();
      var request = requestOptions();
      request.mediation = "conditional";
      request.signal = autofill.signal;
      navigator.credentials.get(request).then(function (credential) {
        if (credential && !waiting) done(credential);
      }).catch(function () { /* aborted, or nothing picked: the page works as before */ });
    });
  }

  function start() {
    if (autofill) { autofill.abort(); autofill = null; }
    if (waiting) { // "Stop waiting": nobody is stuck behind a prompt that never answers
      attempt += 1;
      waiting.abort();
      failed(true);
      return;
    }
    waiting = new AbortController();
    var mine = ++attempt;
    say("working", false);
    button.textContent = form.getAttribute("data-msg-stop");
    var call;
    try {
      var request = mode === "create" ? creationOptions() : requestOptions();
      request.signal = waiting.signal;
      call = mode === "create" ? navigator.credentials.create(request) : navigator.credentials.get(request);
    } catch (e) {
      call = Promise.reject(e);
    }
    call.then(function (credential) {
      if (mine !== attempt) return;
      if (!credential) throw new Error("no credential");
      done(credential);
    }).catch(function (error) {
      if (mine !== attempt) return;
      failed(error && (error.name === "NotAllowedError" || error.name === "AbortError"));
    });
  }

  if (!window.PublicKeyCredential || !navigator.credentials || !options.challenge) {
    say("unsupported", true);
    return;
  }
  button.hidden = false;
  button.addEventListener("click", start);
  if (mode === "autofill") offerInAutofill();
  // No Enter-key submission of an empty form: the only way on is through the browser prompt.
  form.addEventListener("submit", function (event) {
    var clientData = form.elements.namedItem("credentials.clientData");
    if (!clientData || !clientData.value) { event.preventDefault(); start(); }
  });
})();
