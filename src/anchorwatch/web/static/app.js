// anchorwatch: charts from data-* attributes (no inline scripts: the CSP
// allows only the app's own files). A canvas carries its Chart.js config as
// JSON in data-chart; the server escapes it like any other attribute.
(function () {
  function draw() {
    if (typeof Chart === "undefined") return;
    Chart.defaults.font.family = '-apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif';
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      try {
        var config = JSON.parse(canvas.getAttribute("data-chart"));
        config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
        canvas.chart = new Chart(canvas, config);
        canvas.setAttribute("data-rendered", "1");
      } catch (e) {
        canvas.setAttribute("data-error", String(e));
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
