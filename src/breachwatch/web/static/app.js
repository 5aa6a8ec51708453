// Progressive enhancement only: every form works without this file, and the steps are then a plain list.
// 1) Default the country picker from the browser's locale (en-EG -> EG) when nothing is chosen yet.
// 2) Turn "What to do now" into a checklist whose ticks are kept in this browser only (localStorage),
//    never sent to the server.
(function () {
  "use strict";
  var select = document.getElementById("region");
  if (select && select.value === "") {
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (var j = 0; j < langs.length; j++) {
      var m = /[-_]([A-Za-z]{2})\b/.exec(langs[j] || "");
      if (m && select.querySelector('option[value="' + m[1].toUpperCase() + '"]')) {
        select.value = m[1].toUpperCase();
        break;
      }
    }
  }

  var list = document.querySelector("ol.steps");
  if (!list) { return; }
  var KEY = "breachwatch.steps";
  var done = {};
  var storage = null;
  try { storage = window.localStorage; done = JSON.parse(storage.getItem(KEY) || "{}") || {}; } catch (e) { storage = null; }
  var progress = document.querySelector("p.progress");
  var items = list.querySelectorAll("li[data-step]");
  function update() {
    var count = 0;
    for (var i = 0; i < items.length; i++) { if (done[items[i].getAttribute("data-step")]) { count++; } }
    if (progress) {
      progress.textContent = progress.getAttribute("data-template").replace("{done}", String(count))
        .replace("{total}", String(items.length));
    }
  }
  for (var i = 0; i < items.length; i++) {
    (function (item) {
      var id = item.getAttribute("data-step");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.className = "step-done";
      box.id = "done-" + id;
      box.setAttribute("aria-labelledby", "step-" + id);
      box.checked = !!done[id];
      item.classList.toggle("done", box.checked);
      box.addEventListener("change", function () {
        if (box.checked) { done[id] = true; } else { delete done[id]; }
        item.classList.toggle("done", box.checked);
        if (storage) { try { storage.setItem(KEY, JSON.stringify(done)); } catch (e) { /* full or blocked */ } }
        update();
      });
      item.insertBefore(box, item.firstChild);
      item.classList.add("checkable");
    })(items[i]);
  }
  list.classList.add("checklist");
  if (progress) { progress.hidden = false; }
  var note = document.querySelector("p.steps-note");
  if (note && storage) { note.hidden = false; }
  update();
})();
