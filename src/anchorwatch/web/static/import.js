// anchorwatch /import: follow a running import or analysis (no inline
// scripts: the CSP allows only the app's own files). The page carries the
// job's status URL in data-status-url; this polls it, moves the progress bar
// and, when the job ends, reloads the page, which the server renders with the
// summary and the rejects (every text escaped there, never built here).
(function () {
  var POLL_MS = 800;

  function follow(box) {
    var url = box.getAttribute("data-status-url");
    var bar = document.getElementById("job-bar");
    var phase = document.getElementById("job-phase");
    var percent = document.getElementById("job-percent");
    var failures = 0;

    function show(status) {
      if (status.percent === null || status.percent === undefined) {
        bar.removeAttribute("value");
        percent.textContent = "";
      } else {
        bar.value = status.percent;
        percent.textContent = Math.round(status.percent) + "%";
      }
      phase.textContent = status.phase_label;
      box.setAttribute("data-state", status.state);
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (status) {
          failures = 0;
          show(status);
          if (status.state === "running") {
            window.setTimeout(poll, POLL_MS);
          } else {
            window.location.replace("/import?job=" + encodeURIComponent(status.id));
          }
        })
        .catch(function () {
          failures += 1;
          if (failures < 5) window.setTimeout(poll, POLL_MS * 2);
          else box.setAttribute("data-state", "lost");
        });
    }
    poll();
  }

  function guardSize(form) {
    var max = parseInt(form.getAttribute("data-max-bytes"), 10);
    var input = form.querySelector("input[name=file]");
    var message = document.getElementById("upload-client-error");
    form.addEventListener("submit", function (event) {
      var file = input && input.files && input.files[0];
      if (file && max && file.size > max) {
        event.preventDefault();
        message.textContent = form.getAttribute("data-too-big");
        message.hidden = false;
      }
    });
  }

  function start() {
    var box = document.querySelector("[data-job][data-state=running]");
    if (box) follow(box);
    var form = document.getElementById("upload-form");
    if (form) guardSize(form);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
