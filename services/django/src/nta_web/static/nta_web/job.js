// Live progress of one job: polls status.json about once a second and stops when the job has finished.
// Plain JavaScript, no build step; the page works without it (reload shows the same facts).
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) return;
  var url = root.dataset.statusUrl;
  var FINISHED = { completed: true, failed: true };
  var elapsed = parseFloat(root.dataset.elapsed);
  var running = !FINISHED[root.dataset.status];
  var ticker = null;

  function $(id) { return document.getElementById(id); }

  function formatElapsed(seconds) {
    if (isNaN(seconds)) return "";
    var s = Math.max(0, Math.round(seconds));
    var m = Math.floor(s / 60);
    return m > 0 ? m + " min " + (s % 60) + " s" : s + " s";
  }

  function show(state) {
    var status = $("job-status");
    status.textContent = state.status;
    status.className = "status status-" + state.status;
    $("job-step").textContent = state.step;
    $("job-progress").value = state.percent;
    $("job-percent").textContent = state.percent + "%";
    if (state.elapsed_seconds !== null) elapsed = state.elapsed_seconds;
    $("job-elapsed").textContent = formatElapsed(elapsed);
    if (state.status === "failed" && state.error) {
      $("job-error-step").textContent = state.error.step;
      $("job-error-message").textContent = state.error.message;
      $("job-failed").hidden = false;
    }
    if (state.status === "completed") $("job-done").hidden = false;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (state) {
        show(state);
        if (FINISHED[state.status]) stop(); else schedule(1000);
      })
      .catch(function () { schedule(3000); }); // a restart of the web server is not the end of the job
  }

  function schedule(ms) { if (running) window.setTimeout(poll, ms); }

  function stop() {
    running = false;
    if (ticker) window.clearInterval(ticker);
  }

  if (running) {
    // Count the seconds between polls so the elapsed time moves smoothly.
    ticker = window.setInterval(function () { elapsed += 1; $("job-elapsed").textContent = formatElapsed(elapsed); }, 1000);
    $("job-elapsed").textContent = formatElapsed(elapsed);
    schedule(1000);
  }
})();
