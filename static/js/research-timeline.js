// The researchers' interactive timeline: stacked bars by day and category, drawn from the
// same cells as the server's SVG (read from the page's #chart-data block: a hidden count is
// null and is drawn as a hatched block of one fixed height that reads "fewer than 3", never
// as zero and never as its size). Dragging across the bars, or the arrow keys, chooses a
// date range; the category boxes choose categories. Either one updates the URL (the same
// parameters as the filter form, so the view can be shared and reloads the same without
// JavaScript), the form's fields, the list below (the page itself fetched for the new
// filters, its list swapped in) and the map (research-map.js listens for "research:filters").
// Without JavaScript the SVG and the table stay. Nothing here writes HTML from strings.
(function () {
  "use strict";
  var holder = document.querySelector(".interactive-chart");
  var source = document.getElementById("chart-data");
  if (!holder || !source || !window.fetch || !window.URLSearchParams) { return; }
  var data;
  try { data = JSON.parse(source.textContent); } catch (e) { return; }
  if (!data || !data.days || !data.days.length) { return; }

  var SVG = "http://www.w3.org/2000/svg";
  var HEIGHT = 220, TOP = 12, BOTTOM = 30, LEFT = 34, RIGHT = 8;
  var box = holder.querySelector(".chart-box");
  var legend = holder.querySelector(".chart-legend");
  var detail = holder.querySelector(".chart-detail");
  var chosenLine = holder.querySelector(".chart-chosen");
  var clear = holder.querySelector(".chart-clear");
  var form = document.querySelector("form.filters-form");
  var days = data.days, cats = data.categories, cells = data.cells;
  var visible = cats.map(function () { return true; });
  var selection = null;  // [first, last] day indexes, or null for every day
  var cursor = null;     // the day the keyboard is on
  var width = 0;

  function text(name) { return holder.getAttribute("data-text-" + name) || ""; }
  function fill(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, function (_m, key) { return String(values[key]); });
  }
  function node(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }
  var fewer = fill(text("fewer"), {threshold: data.threshold});

  // The categories the URL asks for (none: all), as the legend's starting state.
  (function () {
    var asked = new URLSearchParams(window.location.search).getAll("category");
    if (asked.length) { visible = cats.map(function (c) { return asked.indexOf(c.id) >= 0; }); }
  }());

  cats.forEach(function (cat, j) {
    var label = document.createElement("label");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = visible[j];
    box.value = cat.id;
    box.addEventListener("change", function () {
      visible[j] = box.checked;
      draw();
      apply();
    });
    var swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = cat.colour;  // CSSOM, which the style-src policy allows
    swatch.setAttribute("aria-hidden", "true");
    label.appendChild(box);
    label.appendChild(swatch);
    label.appendChild(document.createTextNode(cat.label));
    legend.appendChild(label);
  });

  function stackOf(i) {
    // What a day's bar stands for: shown counts, and 1 for each hidden cell ("some").
    var total = 0;
    cells[i].forEach(function (n, j) { if (visible[j]) { total += n === null ? 1 : n; } });
    return total;
  }
  function niceTop(value) {
    if (value <= 1) { return 1; }
    var m = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 5, 10];
    for (var k = 0; k < steps.length; k++) { if (steps[k] * m >= value) { return steps[k] * m; } }
    return 10 * m;
  }
  function describe(i) {
    var parts = [];
    cats.forEach(function (cat, j) {
      if (!visible[j]) { return; }
      var n = cells[i][j];
      parts.push(cat.label + ": " + (n === null ? fewer : String(n)));
    });
    return days[i].label + " — " + parts.join(", ");
  }

  var svg, plot, selectionRect, band;
  function draw() {
    width = Math.max(280, box.clientWidth || 600);
    var plotWidth = width - LEFT - RIGHT, plotHeight = HEIGHT - TOP - BOTTOM;
    band = plotWidth / days.length;
    var bar = Math.max(band * 0.8, 1);
    var top = niceTop(Math.max.apply(null, days.map(function (_d, i) { return stackOf(i); })));
    var unit = plotHeight / top, base = TOP + plotHeight;
    svg = node("svg", {viewBox: "0 0 " + width + " " + HEIGHT, width: width, height: HEIGHT,
                       "class": "timeline-chart-live", "aria-hidden": "true", focusable: "false"});
    var defs = node("defs");
    var hatch = node("pattern", {id: "live-hatch", width: 6, height: 6,
                                 patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)"});
    hatch.appendChild(node("rect", {width: 6, height: 6, fill: "#ffffff"}));
    hatch.appendChild(node("line", {x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#555555", "stroke-width": 2}));
    defs.appendChild(hatch);
    svg.appendChild(defs);
    [0, Math.floor(top / 2), top].filter(function (v, k, all) { return all.indexOf(v) === k; })
      .forEach(function (v) {
        var y = base - v * unit;
        svg.appendChild(node("line", {x1: LEFT, x2: width - RIGHT, y1: y, y2: y, stroke: "#cccccc"}));
        var label = node("text", {x: LEFT - 6, y: y + 4, "font-size": 12, "text-anchor": "end",
                                  fill: "#333333"});
        label.textContent = String(v);
        svg.appendChild(label);
      });
    var every = Math.max(1, Math.ceil(days.length / Math.max(1, Math.floor(plotWidth / 64))));
    for (var i = 0; i < days.length; i += every) {
      var t = node("text", {x: LEFT + band * (i + 0.5), y: base + 18, "font-size": 12,
                            "text-anchor": "middle", fill: "#333333"});
      t.textContent = days[i].label;
      svg.appendChild(t);
    }
    plot = node("g", {"class": "bars"});
    days.forEach(function (day, i) {
      var x = LEFT + band * i + (band - bar) / 2, y = base;
      var group = node("g", {"data-day": day.date});
      cells[i].forEach(function (n, j) {
        if (!visible[j] || n === 0) { return; }
        var h = (n === null ? 1 : n) * unit;
        y -= h;
        var attrs = {x: x, y: y, width: bar, height: h, "data-category": cats[j].id};
        if (n === null) {
          attrs.fill = "url(#live-hatch)";
          attrs.stroke = cats[j].colour;
          attrs["stroke-width"] = 1.5;
          attrs["class"] = "fewer";
        } else {
          attrs.fill = cats[j].colour;
        }
        group.appendChild(node("rect", attrs));
      });
      plot.appendChild(group);
    });
    svg.appendChild(plot);
    svg.appendChild(node("line", {x1: LEFT, x2: width - RIGHT, y1: base, y2: base, stroke: "#333333"}));
    selectionRect = node("rect", {y: TOP, height: plotHeight, fill: "#0b5394", "fill-opacity": 0.15,
                                  stroke: "#0b5394", "stroke-width": 1, "class": "brush"});
    svg.appendChild(selectionRect);
    svg.appendChild(node("rect", {x: LEFT, y: 0, width: plotWidth, height: HEIGHT, fill: "transparent",
                                  "class": "brush-area"}));
    box.textContent = "";
    box.appendChild(svg);
    showSelection();
  }

  function showSelection() {
    if (!selection) {
      selectionRect.setAttribute("width", 0);
      selectionRect.setAttribute("x", LEFT);
      chosenLine.textContent = text("all");
      clear.hidden = true;
      return;
    }
    selectionRect.setAttribute("x", LEFT + band * selection[0]);
    selectionRect.setAttribute("width", band * (selection[1] - selection[0] + 1));
    chosenLine.textContent = selection[0] === selection[1]
      ? fill(text("chosen-day"), {day: days[selection[0]].label})
      : fill(text("chosen"), {start: days[selection[0]].label, end: days[selection[1]].label});
    clear.hidden = false;
  }

  function dayAt(clientX) {
    var rect = svg.getBoundingClientRect();
    var x = (clientX - rect.left) * (width / rect.width) - LEFT;
    return Math.max(0, Math.min(days.length - 1, Math.floor(x / band)));
  }

  // The range the page was opened with (the form's dates), shown as the starting choice.
  (function () {
    var params = new URLSearchParams(window.location.search);
    var from = params.get("from"), to = params.get("to");
    var dates = days.map(function (d) { return d.date; });
    var a = from ? dates.indexOf(from) : 0, b = to ? dates.indexOf(to) : days.length - 1;
    if ((from || to) && a >= 0 && b >= 0 && !(a === 0 && b === days.length - 1 && from && to)) {
      selection = [a, b];
    }
  }());
  // The whole span of the chart as first drawn: "Show all dates" goes back to it.
  var initial = new URLSearchParams(window.location.search);

  var dragFrom = null, before = null;
  box.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) { return; }
    before = selection;
    dragFrom = dayAt(event.clientX);
    selection = [dragFrom, dragFrom];
    box.setPointerCapture(event.pointerId);
    showSelection();
    event.preventDefault();
  });
  box.addEventListener("pointermove", function (event) {
    var i = dayAt(event.clientX);
    detail.textContent = describe(i);
    if (dragFrom === null) { return; }
    selection = [Math.min(dragFrom, i), Math.max(dragFrom, i)];
    showSelection();
  });
  function endDrag() {
    if (dragFrom === null) { return; }
    dragFrom = null;
    apply();
  }
  box.addEventListener("pointerup", endDrag);
  // A finger that scrolls the page past the chart is not a choice: put the old one back.
  box.addEventListener("pointercancel", function () {
    if (dragFrom === null) { return; }
    dragFrom = null;
    selection = before;
    showSelection();
  });

  var keyTimer = null;
  box.addEventListener("keydown", function (event) {
    var last = days.length - 1;
    if (cursor === null) { cursor = selection ? selection[1] : 0; }
    var anchor = selection ? (cursor === selection[1] ? selection[0] : selection[1]) : cursor;
    var moves = {ArrowLeft: cursor - 1, ArrowRight: cursor + 1, Home: 0, End: last,
                 PageUp: cursor - 7, PageDown: cursor + 7};
    if (event.key === "Escape") {
      selection = null; cursor = null; showSelection(); schedule(); event.preventDefault();
      return;
    }
    if (!(event.key in moves)) { return; }
    event.preventDefault();
    cursor = Math.max(0, Math.min(last, moves[event.key]));
    selection = event.shiftKey ? [Math.min(anchor, cursor), Math.max(anchor, cursor)] : [cursor, cursor];
    detail.textContent = describe(cursor);
    showSelection();
    schedule();
  });
  function schedule() {
    window.clearTimeout(keyTimer);
    keyTimer = window.setTimeout(apply, 700);
  }
  clear.addEventListener("click", function () { selection = null; cursor = null; showSelection(); apply(); });

  // The filters as the URL, the form and the list see them.
  function params() {
    var p = new URLSearchParams(window.location.search);
    p.delete("page");
    p.delete("from"); p.delete("to");
    if (selection) {
      p.set("from", days[selection[0]].date);
      p.set("to", days[selection[1]].date);
    } else {
      if (initial.get("from")) { p.set("from", initial.get("from")); }
      if (initial.get("to")) { p.set("to", initial.get("to")); }
    }
    p.delete("category");
    if (visible.some(function (v) { return !v; })) {
      cats.forEach(function (c, j) { if (visible[j]) { p.append("category", c.id); } });
    }
    return p;
  }

  function syncForm(p) {
    if (!form) { return; }
    var from = form.querySelector("input[name=from]"), to = form.querySelector("input[name=to]");
    if (from) { from.value = p.get("from") || ""; }
    if (to) { to.value = p.get("to") || ""; }
    var select = form.querySelector("select[name=category]");
    if (select) {
      var chosen = p.getAll("category");
      Array.prototype.forEach.call(select.options, function (o) { o.selected = chosen.indexOf(o.value) >= 0; });
    }
  }

  var requests = 0;
  function apply() {
    var p = params();
    var search = p.toString();
    var url = window.location.pathname + (search ? "?" + search : "");
    if (url === window.location.pathname + window.location.search) { return; }
    window.history.replaceState(null, "", url);
    syncForm(p);
    document.dispatchEvent(new CustomEvent("research:filters"));
    var mine = ++requests;
    var list = document.getElementById("incident-list");
    if (list) { list.setAttribute("aria-busy", "true"); }
    detail.textContent = text("updating");
    fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        if (mine !== requests) { return; }
        var page = new DOMParser().parseFromString(html, "text/html");
        ["incident-list", "incident-count", "exports"].forEach(function (id) {
          var fresh = page.getElementById(id), old = document.getElementById(id);
          if (fresh && old) { old.replaceWith(document.importNode(fresh, true)); }
        });
        // Back to the day under the cursor, if any, once the list is in.
        detail.textContent = cursor === null ? "" : describe(cursor);
      })
      .catch(function () {
        if (mine === requests) { detail.textContent = text("failed"); }
        if (list) { list.removeAttribute("aria-busy"); }
      });
  }

  holder.hidden = false;
  var figure = document.querySelector("figure.chart");
  if (figure) { figure.hidden = true; }
  box.tabIndex = 0;
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", text("label"));
  draw();
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(draw, 150);
  });
}());
