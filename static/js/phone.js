// Phone number fields: show the E.164 format expected for the browser's region (configured by
// data-template, "{0}" = country, "{1}" = example). Without JavaScript the server's plain hint stays.
(function () {
  "use strict";
  var script = document.currentScript;
  var template = script && script.getAttribute("data-template");
  // Calling code and a sample national number per region (fictional or reserved numbers).
  var REGIONS = {
    US: ["1", "202 555 0143"], CA: ["1", "613 555 0143"], GB: ["44", "7700 900123"], IE: ["353", "85 012 3456"],
    FR: ["33", "6 12 34 56 78"], DE: ["49", "1512 3456789"], ES: ["34", "612 34 56 78"], IT: ["39", "312 345 6789"],
    NL: ["31", "6 12345678"], BE: ["32", "470 12 34 56"], CH: ["41", "78 123 45 67"], AT: ["43", "664 123456"],
    SE: ["46", "70 123 45 67"], NO: ["47", "412 34 567"], DK: ["45", "20 12 34 56"], FI: ["358", "41 2345678"],
    PL: ["48", "512 345 678"], PT: ["351", "912 345 678"], AU: ["61", "412 345 678"], NZ: ["64", "21 123 4567"],
    IN: ["91", "81234 56789"], JP: ["81", "90 1234 5678"], KR: ["82", "10 2345 6789"], CN: ["86", "131 2345 6789"],
    BR: ["55", "11 91234 5678"], MX: ["52", "55 1234 5678"], AR: ["54", "9 11 2345 6789"], ZA: ["27", "71 123 4567"],
    SG: ["65", "8123 4567"], IL: ["972", "50 234 5678"]
  };
  function region() {
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (var i = 0; i < langs.length; i++) {
      try {
        var r = new Intl.Locale(langs[i]).maximize().region;
        if (r && REGIONS[r]) return r;
      } catch (e) {
        var m = /[-_]([A-Za-z]{2})\b/.exec(langs[i]);
        if (m && REGIONS[m[1].toUpperCase()]) return m[1].toUpperCase();
      }
    }
    return null;
  }
  var r = region();
  if (!r || !template) return;
  var country = r;
  try { country = new Intl.DisplayNames([navigator.language || "en"], { type: "region" }).of(r) || r; } catch (e) { /* keep the code */ }
  var example = "+" + REGIONS[r][0] + " " + REGIONS[r][1];
  var hints = document.querySelectorAll('[data-hint-for$="phoneNumber"]');
  Array.prototype.forEach.call(hints, function (hint) {
    hint.textContent = template.replace("{0}", country).replace("{1}", example);
    var input = document.getElementById(hint.id.replace(/-hint$/, ""));
    if (input && !input.placeholder) input.placeholder = "+" + REGIONS[r][0];
  });
})();
