// Every htmx request carries the page's CSRF token as a header (the server refuses
// state-changing requests without it).
"use strict";
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});
