// Quick exit: the link works without JavaScript; with it, leave by replacing this page in
// the history (so "back" does not return here), and let the Esc key do the same.
(function () {
  "use strict";
  function leave(url) {
    // The server clears cookies, storage and cache (Clear-Site-Data); where a browser
    // ignores that header, forget what this page can reach itself.
    try { window.sessionStorage.clear(); window.localStorage.clear(); } catch (e) { /* off */ }
    window.location.replace(url);
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-quick-exit]");
    if (!link) { return; }
    event.preventDefault();
    leave(link.href);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var link = document.querySelector("a[data-quick-exit]");
    if (link) { leave(link.href); }
  });
}());
