// The dashboard's charts, drawn with Chart.js from the figures the page embeds as JSON
// (<script type="application/json" id="…"> next to each <canvas data-chart="…">).
// The tables beside the charts hold the same figures; nothing here computes one.
"use strict";

(function () {
  const COLOURS = ["#0b5cad", "#a40e26"];

  function percent(rate) {
    return rate === null ? "—" : (rate * 100).toFixed(1) + "%";
  }

  function scale(axis, position) {
    const rate = axis === "rate";
    return {
      type: "linear",
      position: position,
      beginAtZero: true,
      grid: { drawOnChartArea: position === "left" },
      ticks: rate ? { callback: percent } : { precision: 0 },
    };
  }

  function draw(canvas) {
    const spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    const axes = [...new Set(spec.series.map((series) => series.axis))];
    const scales = {};
    axes.forEach((axis, index) => {
      scales[axis] = scale(axis, index === 0 ? "left" : "right");
    });
    scales.x = { ticks: { autoSkip: true, maxRotation: 45 } };
    new Chart(canvas, {
      type: spec.kind,
      data: {
        labels: spec.labels,
        datasets: spec.series.map((series, index) => ({
          label: series.label,
          data: series.values,
          yAxisID: series.axis,
          backgroundColor: COLOURS[index % COLOURS.length],
          borderColor: COLOURS[index % COLOURS.length],
          borderDash: index ? [6, 4] : [],
          pointRadius: spec.kind === "line" ? 2 : undefined,
          maxBarThickness: 72,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: spec.series.length > 1, labels: { usePointStyle: true } },
          tooltip: {
            callbacks: {
              label: (item) => {
                const value = item.raw;
                const shown = item.dataset.yAxisID === "rate" ? percent(value) : value;
                return item.dataset.label + ": " + shown;
              },
            },
          },
        },
        scales: scales,
      },
    });
  }

  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    Chart.defaults.animation = false;
  }
  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
