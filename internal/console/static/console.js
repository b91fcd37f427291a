// Progressive enhancement only: every page works without this script.
// A form marked data-busy disables its button while the server processes the file, so that a
// second click does not send the password twice.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (!form.hasAttribute("data-busy")) { return; }
  var button = form.querySelector("button[type=submit]");
  if (button) {
    setTimeout(function () { button.disabled = true; }, 0);
  }
});
