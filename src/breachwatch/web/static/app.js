// Progressive enhancement only: the form works without this file.
// 1) Default the country picker from the browser's locale (en-EG -> EG) when nothing is chosen yet.
// 2) Show country names (Intl.DisplayNames) next to the codes.
(function () {
  "use strict";
  var select = document.getElementById("region");
  if (!select) { return; }
  var names = null;
  try { names = new Intl.DisplayNames([navigator.language || "en"], { type: "region" }); } catch (e) { names = null; }
  if (names) {
    for (var i = 0; i < select.options.length; i++) {
      var opt = select.options[i];
      if (!opt.value) { continue; }
      var name = names.of(opt.value);
      if (name && name !== opt.value) { opt.textContent = name + " (+" + opt.getAttribute("data-cc") + ")"; }
    }
  }
  if (select.value === "") {
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (var j = 0; j < langs.length; j++) {
      var m = /[-_]([A-Za-z]{2})\b/.exec(langs[j] || "");
      if (m && select.querySelector('option[value="' + m[1].toUpperCase() + '"]')) {
        select.value = m[1].toUpperCase();
        break;
      }
    }
  }
})();
