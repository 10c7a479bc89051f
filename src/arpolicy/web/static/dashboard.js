// The dashboard's charts: draws what the server computed (data-chart: labels and values),
// no figure is computed here. The tables beside the charts carry the same numbers.
(function () {
  function draw(canvas) {
    var data = JSON.parse(canvas.dataset.chart);
    var kind = canvas.dataset.kind;
    new Chart(canvas, {
      type: kind,
      data: {
        labels: data.labels,
        datasets: [{
          label: canvas.dataset.label,
          data: data.values.map(function (v) { return v === null ? null : Number(v); }),
          backgroundColor: kind === "bar" ? "#1f5fa8" : "rgba(31, 95, 168, 0.15)",
          borderColor: "#1f5fa8",
          fill: kind === "line",
          spanGaps: true
        }]
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false } } }
    });
  }
  function start() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
