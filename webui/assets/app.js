// idpsync admin UI: small enhancements; every page works without them.
"use strict";
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  // data-confirm: ask before a consequential action (discard, disable).
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    ev.preventDefault();
    return;
  }
  // data-busy: a slow action (a sync, an approval) shows it is working and
  // cannot be sent twice.
  var busy = form.getAttribute("data-busy");
  if (busy) {
    var button = form.querySelector("button[type=submit]");
    if (button) {
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = busy;
      }, 0);
    }
    form.setAttribute("aria-busy", "true");
  }
});

// A page that shows a message (a form's outcome, or why it was refused)
// moves focus to it, so that keyboard and screen reader users start there.
document.addEventListener("DOMContentLoaded", function () {
  var message = document.getElementById("flash") || document.getElementById("mappings-error");
  if (message) {
    message.focus();
  }
});
