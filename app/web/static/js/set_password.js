// The one-time token travels in the URL fragment (never sent to the server by the
// browser, so never in an access log); copy it into the form, then drop it from the URL.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  var field = document.getElementById("token");
  if (match && field) {
    field.value = match[1];
    history.replaceState(null, "", window.location.pathname);
  } else if (!field.value) {
    document.getElementById("no-token").hidden = false;
  }
});
