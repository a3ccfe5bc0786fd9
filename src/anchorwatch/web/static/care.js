// anchorwatch care pages: ask before an action that cannot be undone (revoking
// a member's venting link, giving an award). A form opts in with
// data-confirm="question"; no inline handlers (the CSP forbids them).
(function () {
  function wire() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var submitter = event.submitter;
        // Only the buttons marked as final ask (a draft save does not).
        if (submitter && submitter.hasAttribute("data-no-confirm")) return;
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
