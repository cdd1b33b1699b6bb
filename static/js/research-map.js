// The researchers' interactive map: Leaflet and Leaflet.markercluster (from npm, served from
// static/vendor/), the Natural Earth outline of Kazakhstan as the only basemap (no tiles, no
// other site), one marker per place that /research/map.json lists, clustered, with zoom into
// any town. Counts come as the SVG shows them: a hidden count is null and reads "fewer than
// 3"; a cluster adds only the counts that are shown. Clicking a place lists its incidents
// (the timeline page's own list, fetched for that place) with links to each.
// Without JavaScript the server's SVG map and its table stay; this replaces the SVG only.
// Text never goes through innerHTML: every node is built with textContent.
(function () {
  "use strict";
  var wrap = document.querySelector(".interactive-map-wrap");
  if (!wrap || !window.fetch || !window.L || !L.markerClusterGroup) { return; }
  var box = wrap.querySelector(".interactive-map");
  var statusLine = wrap.querySelector("#map-status");
  var zoomBar = wrap.querySelector(".map-zoom");
  var MAX_ZOOM = 10;  // a town's whole area; the points are never finer than a town
  var TOWN_ZOOM = 8;  // "zoom to" a town
  var LABEL_ZOOM = 6; // names shown from here in
  var BUTTONS = 8;    // "zoom to" buttons: the places with most incidents

  function text(name) { return wrap.getAttribute("data-text-" + name) || ""; }
  function fill(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, function (_m, key) { return String(values[key]); });
  }
  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined) { node.textContent = content; }
    return node;
  }
  function say(message) { statusLine.textContent = message; }

  var threshold = 3;
  function shownText(point) {
    return point.count === null ? fill(text("fewer"), {threshold: threshold}) : String(point.count);
  }

  // The filters of this page (the URL, which the timeline's brush keeps current) without
  // paging, optionally with the place replaced.
  function query(extra) {
    var params = new URLSearchParams(window.location.search);
    ["page", "per_page", "sort"].forEach(function (k) { params.delete(k); });
    if (extra) {
      params.delete("town"); params.delete("region");
      params.append(extra[0], extra[1]);
    }
    return params;
  }

  wrap.hidden = false;
  var section = wrap.closest("section[hidden]");
  if (section) { section.hidden = false; }
  var svgFigure = document.querySelector("figure.map");
  if (svgFigure) { svgFigure.hidden = true; }
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", text("label"));

  var map = L.map(box, {zoomSnap: 0.5, minZoom: 3, maxZoom: MAX_ZOOM, attributionControl: false,
                        zoomControl: false, worldCopyJump: false});
  L.control.zoom({zoomInTitle: text("zoom-in"), zoomOutTitle: text("zoom-out")}).addTo(map);
  map.setView([48, 67], 4);
  function nameAtZoom() { box.classList.toggle("map-far", map.getZoom() < LABEL_ZOOM); }
  map.on("zoomend", nameAtZoom);
  nameAtZoom();
  var countryBounds = null;

  function markerIcon(point) {
    var size = point.count === null ? 30 : Math.round(30 + 26 * Math.min(1, Math.sqrt(point.count / 60)));
    var inner = element("span", "map-point-inner");
    inner.appendChild(element("span", "", point.count === null ? "<" + threshold : String(point.count)))
      .setAttribute("aria-hidden", "true");
    inner.appendChild(element("span", "visually-hidden",
      point.name + ": " + fill(text("incidents"), {count: shownText(point)})));
    return L.divIcon({html: inner, iconSize: [size, size],
                      className: "map-point" + (point.count === null ? " map-point-fewer" : "") +
                                 (point.precision === "region" ? " map-point-region" : "")});
  }

  function clusterIcon(cluster) {
    var shown = 0, hidden = 0, places = 0;
    cluster.getAllChildMarkers().forEach(function (m) {
      places += 1;
      if (m.options.point.count === null) { hidden += 1; } else { shown += m.options.point.count; }
    });
    // Only shown counts are added: a cluster never gives back a hidden one.
    var label = hidden === 0 ? String(shown) : shown > 0 ? shown + "+" : "<" + threshold + "×" + hidden;
    var spoken = hidden === 0 ? fill(text("cluster"), {places: places, count: shown})
      : shown === 0 ? fill(text("cluster-hidden"), {places: places, threshold: threshold})
      : fill(text("cluster-some"), {places: places, count: shown, threshold: threshold});
    var inner = element("span", "map-point-inner");
    inner.appendChild(element("span", "", label)).setAttribute("aria-hidden", "true");
    inner.appendChild(element("span", "visually-hidden", spoken));
    var size = Math.round(36 + 24 * Math.min(1, Math.sqrt(shown / 120)));
    return L.divIcon({html: inner, iconSize: [size, size], className: "map-cluster"});
  }

  var clusters = L.markerClusterGroup({
    iconCreateFunction: clusterIcon, showCoverageOnHover: false, maxClusterRadius: 50,
    spiderfyOnMaxZoom: true, zoomToBoundsOnClick: true
  });
  map.addLayer(clusters);
  var markers = {};

  // The incidents at one place: the timeline's own list for that place, fetched as HTML
  // and read as data (links and dates), so the list is exactly what the page would show.
  function listInto(container, point, grown) {
    var params = query(point.filter);
    var link = wrap.getAttribute("data-timeline") + "?" + params.toString();
    var status = element("p", "help", text("loading"));
    container.appendChild(status);
    var list = element("ul", "map-incidents");
    container.appendChild(list);
    var all = element("a", "", point.precision === "region" ? text("region-list") : text("list"));
    all.href = link;
    container.appendChild(element("p")).appendChild(all);
    params.set("per_page", "25");
    fetch(wrap.getAttribute("data-timeline") + "?" + params.toString(),
          {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var rows = page.querySelectorAll("#incident-list table.incidents tbody tr");
        status.textContent = rows.length ? "" : text("none");
        status.hidden = rows.length > 0;
        Array.prototype.slice.call(rows, 0, 10).forEach(function (row) {
          var a = row.querySelector("a[href]");
          var when = row.querySelector("td time") || row.querySelector("td");
          if (!a) { return; }
          var item = element("li");
          var to = element("a", "user-text", a.textContent.trim());
          to.href = a.getAttribute("href");
          item.appendChild(to);
          if (when) { item.appendChild(element("span", "help", " · " + when.textContent.trim())); }
          list.appendChild(item);
        });
        grown();
      })
      .catch(function () { status.textContent = text("failed"); grown(); });
  }

  // A popup whose list arrived after it opened: laid out again and panned into view.
  function refit(marker) {
    var popup = marker.getPopup();
    if (popup && popup.isOpen()) { popup.update(); popup.setLatLng(popup.getLatLng()); }
  }

  // Built once, on first opening (Leaflet asks again on each update; markers are made anew
  // whenever the filters change, so a kept list is never stale).
  function popupFor(point, marker) {
    var content = null;
    return function () {
      if (content) { return content; }
      content = element("div", "map-popup");
      content.appendChild(element("h3", "", point.name));
      content.appendChild(element("p", "", fill(text("incidents"), {count: shownText(point)})));
      if (point.precision === "region") { content.appendChild(element("p", "help", text("region"))); }
      listInto(content, point, function () { refit(marker); });
      return content;
    };
  }

  function zoomTo(point) {
    var marker = markers[point.place + "/" + point.precision];
    if (!marker) { return; }
    // Close in at once: at this zoom a town stands apart from the next one; only places on
    // the same point (a city and its region) stay together, and are spread out.
    whenStill(function () {
      map.setView(marker.getLatLng(), Math.max(map.getZoom(), TOWN_ZOOM), {animate: false});
      openWhenShown(marker, 0);
    }, 0);
  }

  // While Leaflet zooms or markercluster regroups, markers are taken off and put back (which
  // closes their popups): wait for both to finish.
  function busy() { return !!box.querySelector(".leaflet-zoom-anim, .leaflet-cluster-anim"); }
  function whenStill(then, tries) {
    if (!busy() || tries > 40) { then(); return; }
    window.setTimeout(function () { whenStill(then, tries + 1); }, 50);
  }

  // markercluster's zoomToShowLayer can wait for an animation that never comes at a
  // fractional zoom; this waits for the marker itself (a few frames at most).
  function openWhenShown(marker, tries) {
    if (!busy() && map.hasLayer(marker)) { marker.openPopup(); return; }
    var parent = clusters.getVisibleParent(marker);
    if (parent && parent !== marker && tries % 5 === 0) { parent.spiderfy(); }
    if (tries < 40) { window.setTimeout(function () { openWhenShown(marker, tries + 1); }, 50); }
  }

  function zoomButtons(points) {
    Array.prototype.slice.call(zoomBar.querySelectorAll("button[data-place]"))
      .forEach(function (b) { b.remove(); });
    var seen = {};
    points.slice().sort(function (a, b) { return (b.count || 0) - (a.count || 0); })
      .filter(function (p) { if (seen[p.name]) { return false; } seen[p.name] = true; return true; })
      .slice(0, BUTTONS)
      .forEach(function (point) {
        var button = element("button", "secondary", point.name);
        button.type = "button";
        button.setAttribute("data-place", point.place);
        button.addEventListener("click", function () { zoomTo(point); });
        zoomBar.appendChild(button);
      });
  }
  zoomBar.querySelector("button[data-zoom=country]").addEventListener("click", function () {
    if (countryBounds) { map.fitBounds(countryBounds); }
  });

  function draw(data) {
    threshold = data.threshold;
    clusters.clearLayers();
    markers = {};
    data.points.forEach(function (point) {
      var marker = L.marker([point.lat, point.lon], {icon: markerIcon(point), point: point,
                                                     keyboard: true, riseOnHover: true});
      var room = Math.max(180, Math.min(320, box.clientWidth - 120));
      marker.bindPopup(popupFor(point, marker), {maxWidth: room, minWidth: Math.min(200, room),
                                                 maxHeight: 300, autoPanPaddingTopLeft: [56, 16],
                                                 autoPanPaddingBottomRight: [16, 16]});
      // The place's name beside it once the map is close enough for names not to collide.
      marker.bindTooltip(element("span", "", point.name), {permanent: true, direction: "right",
                                                           offset: [12, 0], className: "map-label"});
      markers[point.place + "/" + point.precision] = marker;
      clusters.addLayer(marker);
    });
    zoomButtons(data.points);
    say(data.points.length ? "" : text("none"));
  }

  var loading = 0;
  function load() {
    var mine = ++loading;
    var source = wrap.getAttribute("data-source").split("?")[0] + "?" + query().toString();
    return fetch(source, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { if (mine === loading) { draw(data); } })
      .catch(function () { say(text("error")); });
  }

  fetch(wrap.getAttribute("data-outline"), {credentials: "same-origin"})
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (outline) {
      var country = L.geoJSON(outline, {interactive: false, style: function () {
        return {color: "#666666", weight: 1, fillColor: "#eef0f2", fillOpacity: 1};
      }}).addTo(map);
      country.bringToBack();
      countryBounds = country.getBounds();
      map.fitBounds(countryBounds);
      map.setMaxBounds(countryBounds.pad(0.5));
    })
    .catch(function () { say(text("error")); });
  load();
  // The timeline's brush and category choice change the URL's filters, then say so.
  document.addEventListener("research:filters", load);
  window.addEventListener("resize", function () { map.invalidateSize(); });
}());
