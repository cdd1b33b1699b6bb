// Staff forms, enhanced: narrow a picker's list as you type, and show beside each date and
// time the UTC moment it will be stored as. Without JavaScript the server does both (the
// "Show matching reports" button; the UTC shown after saving).
(function () {
  "use strict";

  function narrow(input) {
    var form = input.closest("form");
    var lists = form ? form.querySelectorAll("[data-picker]") : [];
    var words = input.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    lists.forEach(function (list) {
      list.querySelectorAll(":scope > li[data-picker-text]").forEach(function (row) {
        var text = row.getAttribute("data-picker-text").toLocaleLowerCase();
        var ticked = row.querySelector("input[type=checkbox]:checked");
        row.hidden = !ticked && !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
  }

  // The zone's offset at a moment, in minutes, from what Intl says the clock showed then.
  function offsetAt(zone, millis) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(new Date(millis)).forEach(function (p) { parts[p.type] = p.value; });
    var shown = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour,
                         +parts.minute, +parts.second);
    return Math.round((shown - millis) / 60000);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function showUtc(output) {
    var end = output.getAttribute("data-utc-of");
    var day = document.getElementById("f-" + end + "_date");
    var time = document.getElementById("f-" + end + "_time");
    if (!day || !time) { return; }
    var zone = day.getAttribute("data-zone");
    var d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.value);
    var t = /^(\d{2}):(\d{2})/.exec(time.value);
    if (!d || !t || !zone) { return; }
    var wall = Date.UTC(+d[1], +d[2] - 1, +d[3], +t[1], +t[2]);
    var guess = wall - offsetAt(zone, wall) * 60000;
    var utc = new Date(wall - offsetAt(zone, guess) * 60000);
    var text = pad(utc.getUTCHours()) + ":" + pad(utc.getUTCMinutes()) + " UTC";
    if (utc.getUTCDate() !== +d[3]) {
      text = utc.getUTCFullYear() + "-" + pad(utc.getUTCMonth() + 1) + "-" +
        pad(utc.getUTCDate()) + " " + text;
    }
    output.textContent = "= " + text;
  }

  document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll("[data-picker-narrow]").forEach(function (input) {
    input.addEventListener("input", function () { narrow(input); });
  });
  document.querySelectorAll("output[data-utc-of]").forEach(function (output) {
    var end = output.getAttribute("data-utc-of");
    ["_date", "_time"].forEach(function (suffix) {
      var input = document.getElementById("f-" + end + suffix);
      if (input) { input.addEventListener("input", function () { showUtc(output); }); }
    });
  });
}());
