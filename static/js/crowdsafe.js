/* CrowdSafe front end: small glue around htmx (live fragments arrive over its ws extension). */
(function () {
  "use strict";
  const body = document.body;
  // The viewer's zone (the browser's); the server's display zone when the browser has none.
  const TZ = (() => {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || body.dataset.timeZone || "UTC"; }
    catch (e) { return body.dataset.timeZone || "UTC"; }
  })();

  // --- clock in the viewer's zone -----------------------------------------------------
  function tick() {
    const el = document.getElementById("clock");
    if (!el) return;
    try {
      el.textContent = new Intl.DateTimeFormat("en-GB", {
        timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
      }).format(new Date()) + " " + TZ;
    } catch (e) { el.textContent = new Date().toISOString().slice(11, 19) + " UTC"; }
  }
  tick(); setInterval(tick, 1000);

  // --- times in the viewer's zone ---------------------------------------------------------
  // <time datetime="…Z" data-local-time="style" title="… UTC"> (core/templatetags/local_time.py):
  // the server's text is the fallback; here it becomes the browser's zone, UTC stays on hover.
  const TIME_STYLES = {
    "datetime": { day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" },
    "datetime-short": { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" },
    "minutes": { day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" },
    "clock": { hour: "2-digit", minute: "2-digit" },
  };
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local-time]:not([data-localised])").forEach((el) => {
      const at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      const style = TIME_STYLES[el.dataset.localTime] || TIME_STYLES.datetime;
      try {
        el.textContent = new Intl.DateTimeFormat("en-GB", { ...style, hour12: false, timeZoneName: "short" }).format(at);
        el.dataset.localised = "1";
      } catch (e) { /* the server's text stays */ }
    });
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) (root || document).querySelectorAll("[data-browser-zone]").forEach((el) => { el.textContent = zone; });
  }

  // --- live sockets ask only for the fragments their page shows ----------------------------
  // An element with ws-connect names them in data-live-show ("alerts status"); the server
  // (cameras/consumers.py) then sends that socket nothing else (?show=alerts,status).
  const openSocket = window.htmx && htmx.createWebSocket;
  if (openSocket) {
    htmx.createWebSocket = function (url) {
      const target = new URL(url, location.href);
      const elt = Array.from(document.querySelectorAll("[ws-connect][data-live-show]")).find(
        (e) => new URL(e.getAttribute("ws-connect"), location.href).pathname === target.pathname);
      const kinds = elt ? elt.dataset.liveShow.trim().split(/\s+/).filter(Boolean) : [];
      if (kinds.length && !target.searchParams.has("show")) target.searchParams.set("show", kinds.join(","));
      return openSocket(target.href);
    };
  }

  // --- navigation: folds behind the Menu button on narrow screens ---------------------------
  function setNav(open, focusButton) {
    const btn = document.querySelector(".menu-toggle");
    if (!btn) return;
    btn.setAttribute("aria-expanded", String(open));
    btn.closest(".sidebar").classList.toggle("nav-open", open);
    if (focusButton) btn.focus();
  }
  document.addEventListener("click", (evt) => {
    const btn = evt.target.closest(".menu-toggle");
    if (btn) setNav(btn.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", (evt) => {
    const btn = document.querySelector(".menu-toggle");
    if (evt.key === "Escape" && btn?.getAttribute("aria-expanded") === "true") setNav(false, true);
  });

  // --- websocket state dot -------------------------------------------------------------
  function wsDot(on) {
    const dot = document.getElementById("ws-dot");
    if (!dot) return;
    dot.classList.toggle("on", on);
    dot.title = on ? "Live updates connected" : "Live updates disconnected";
    const label = document.getElementById("ws-label");
    if (label) label.textContent = on ? "live" : "offline";
  }
  // A page may hold two sockets (the alerts everywhere, its camera's figures): it is live only
  // when every one of them is open, so the dot never says live while one is still connecting.
  const openSockets = new Set();
  function wsState() {
    const wanted = Array.from(document.querySelectorAll("[ws-connect]"));
    wsDot(wanted.length > 0 && wanted.every((elt) => openSockets.has(elt)));
  }
  document.addEventListener("htmx:wsOpen", (evt) => { openSockets.add(evt.target); wsState(); });
  ["htmx:wsClose", "htmx:wsError"].forEach((name) => document.addEventListener(name, (evt) => {
    openSockets.delete(evt.target);
    wsState();
  }));

  // --- toasts: close after 8 s, or by their button ---------------------------------------
  function armToasts() {
    document.querySelectorAll("#toasts .toast:not([data-armed])").forEach((t) => {
      // One alert reaches a camera page twice (dashboard and camera groups): show it once.
      const id = t.dataset.alertId;
      if (id && document.querySelector(`#toasts .toast[data-armed][data-alert-id="${id}"]`)) { t.remove(); return; }
      t.dataset.armed = "1";
      const close = () => t.remove();
      t.querySelector("[data-close]")?.addEventListener("click", close);
      setTimeout(close, 8000);
    });
  }

  // --- dashboard totals from the live tiles ------------------------------------------------
  const LEVELS = ["SAFE", "CAUTION", "WARNING", "CRITICAL"];
  function recomputeTotals() {
    const tiles = document.querySelectorAll("[data-live-tile]");
    if (!tiles.length || !document.getElementById("total-people")) return;
    let people = 0, running = 0, worst = -1, where = "";
    tiles.forEach((t) => {
      if (t.dataset.status !== "running") return;  // a finished or reconnecting camera's figures are not "now"
      running += 1;
      people += parseInt(t.dataset.count || "0", 10) || 0;
      // A tile's level is its camera's or its worst zone's, whichever is worse.
      const rank = LEVELS.indexOf(t.dataset.riskLevel || "");
      if (rank > worst) {
        worst = rank;
        where = (t.dataset.cameraName || "") + (t.dataset.riskZone ? ", zone " + t.dataset.riskZone : "");
      }
    });
    document.getElementById("total-people").textContent = people;
    document.getElementById("total-running").textContent = running;
    const risk = document.getElementById("total-risk");
    const level = worst >= 0 ? LEVELS[worst] : "—";
    risk.textContent = level;
    risk.className = "value risk" + (worst >= 0 ? " risk-" + level.toLowerCase() : "");
    const whereEl = document.getElementById("total-risk-where");
    if (whereEl) whereEl.textContent = worst >= 0 && where ? where : "now";
  }

  // A camera the grid has no tile for yet (it has just started): instead of swapping its
  // fragment into nothing, re-render the grid, which shows its current state (throttled).
  let gridReload = 0;
  document.addEventListener("htmx:wsBeforeMessage", (evt) => {
    const grid = document.getElementById("camera-grid");
    if (!grid) return;
    const ids = Array.from(String(evt.detail?.message || "").matchAll(
      /id="((?:dash-cam|camera-status)-\d+|stream-\d+-placeholder)"[^>]*hx-swap-oob/g), (m) => m[1]);
    if (ids.every((id) => document.getElementById(id))) return;
    evt.preventDefault();
    if (Date.now() - gridReload < 5000) return;
    gridReload = Date.now();
    htmx.ajax("GET", grid.dataset.reloadUrl, { target: "#camera-grid", swap: "outerHTML" });
  });


  // --- the video wall (dashboard): layout, light or full stream, full screen, states, alerts ---
  // A small tile (4+ per row, or narrower than the grid's data-light-below px) shows the light
  // rendering (?overlay=light: boxes and risk badge); full screen and big tiles the full one.
  function wallColumns(grid) {
    const layout = grid.dataset.layout || "auto";
    if (layout !== "auto") return parseInt(layout, 10) || 1;
    const n = grid.querySelectorAll(".wall-tile").length;
    return Math.min(Math.max(1, Math.ceil(Math.sqrt(n))), 4);
  }
  function pickOverlay(tile) {
    const img = tile.querySelector("img[data-wall-stream]");
    const grid = tile.closest("#camera-grid");
    if (!img || !grid) return;
    const small = wallColumns(grid) >= 4 || tile.getBoundingClientRect().width < (parseInt(grid.dataset.lightBelow, 10) || 480);
    const light = small && document.fullscreenElement !== tile;
    const url = new URL(`/api/cameras/${tile.dataset.cameraId}/stream/`, location.href);
    if (light) url.searchParams.set("overlay", "light"); else url.searchParams.delete("overlay");
    const src = url.pathname + url.search;
    tile.dataset.overlay = light ? "light" : "full";
    if (img.dataset.src === src) return;
    img.dataset.src = src;
    if (!img.dataset.failed && img.getAttribute("src")) img.src = src;
  }
  function wallOverlays() { document.querySelectorAll("#camera-grid .wall-tile").forEach(pickOverlay); }
  function setLayout(grid, layout) {
    grid.dataset.layout = layout;
    const cols = wallColumns(grid);
    grid.dataset.columns = String(cols);
    grid.style.setProperty("--wall-cols", String(cols));
    document.querySelectorAll("#wall-layout button[name=layout]").forEach((b) => b.setAttribute("aria-pressed", String(b.value === layout)));
    wallOverlays();
  }
  // The layout is the user's, kept on the server: posted in the background, applied at once.
  document.addEventListener("submit", (evt) => {
    const form = evt.target.closest("#wall-layout");
    const grid = document.getElementById("camera-grid");
    if (!form || !grid || !evt.submitter) return;
    evt.preventDefault();
    const data = new FormData(form);
    data.set("layout", evt.submitter.value);
    setLayout(grid, evt.submitter.value);
    fetch(form.action, { method: "POST", body: data, headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then((r) => { if (!r.ok) throw new Error("layout not saved: " + r.status); form.dataset.saved = evt.submitter.value; })
      .catch((e) => { form.dataset.saved = ""; console.warn(e); });
  });
  document.addEventListener("click", (evt) => {
    const btn = evt.target.closest("[data-fullscreen]");
    if (!btn) return;
    const tile = document.getElementById(btn.dataset.fullscreen);
    if (!tile) return;
    if (document.fullscreenElement === tile) document.exitFullscreen();
    else tile.requestFullscreen().catch((e) => console.warn("full screen refused:", e.message));
  });
  document.addEventListener("fullscreenchange", () => {
    document.querySelectorAll("[data-fullscreen]").forEach((b) => {
      b.setAttribute("aria-pressed", String(document.fullscreenElement?.id === b.dataset.fullscreen));
    });
    wallOverlays();
  });
  // Browsers leave full screen on Esc themselves; this covers those that hand the key to the page.
  document.addEventListener("keydown", (evt) => {
    if (evt.key === "Escape" && document.fullscreenElement?.matches(".wall-tile")) document.exitFullscreen();
  });
  window.addEventListener("resize", () => wallOverlays());
  // A tile whose camera stopped streaming shows its state (the fragment swapped in) instead.
  function wallStates() {
    document.querySelectorAll("#camera-grid .wall-state").forEach((state) => {
      // The tile's figures follow its status (a status change carries no figures): the
      // headline then counts running cameras only, as the server does.
      const figures = document.getElementById(state.id.replace(/^stream-(\d+)-placeholder$/, "dash-cam-$1"));
      if (figures) figures.dataset.status = state.dataset.status;
      if (state.dataset.status === "running") { pickOverlay(state.closest(".wall-tile")); return; }
      const img = state.parentElement.querySelector("img[data-wall-stream]");
      if (!img || img.dataset.failed) return;
      img.hidden = true;
      img.dataset.failed = "1";
      img.removeAttribute("src");
    });
  }
  // A new alert marks its camera's tile until it is acknowledged or resolved.
  function wallAlerts() {
    const sig = document.getElementById("wall-alert-signal");
    if (!sig || !sig.dataset.alertId || sig.dataset.seen) return;
    sig.dataset.seen = "1";
    const tile = document.getElementById("wall-tile-" + sig.dataset.cameraId);
    if (!tile) return;
    const ids = new Set((tile.dataset.alertIds || "").split(/\s+/).filter(Boolean));
    if (sig.dataset.alertStatus === "open") {
      ids.add(sig.dataset.alertId);
      tile.dataset.alertLevel = sig.dataset.alertLevel;
    } else ids.delete(sig.dataset.alertId);
    tile.dataset.alertIds = Array.from(ids).join(" ");
    const on = ids.size > 0;
    tile.classList.toggle("alerting", on);
    tile.setAttribute("aria-label", "Camera " + tile.dataset.cameraName + (on ? ", " + tile.dataset.alertLevel + " alert open" : ""));
    const badge = document.getElementById("wall-alert-" + sig.dataset.cameraId);
    if (badge) { badge.hidden = !on; badge.textContent = on ? tile.dataset.alertLevel + " alert" : ""; }
  }

  // Chart labels in the viewer's zone (the server's, in the site's zone, are the fallback);
  // day and week buckets are the site's days and keep the server's labels.
  const LABEL_STYLES = {
    seconds: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
    minutes: { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" },
  };
  function clockLabel(at) {
    try { return new Intl.DateTimeFormat("en-GB", { ...LABEL_STYLES.seconds, hour12: false }).format(at); } catch (e) { return ""; }
  }
  function localLabels(data) {
    const style = LABEL_STYLES[data.label_style];
    if (!style || !Array.isArray(data.times) || data.times.length !== data.labels.length) return data.labels;
    try {
      const fmt = new Intl.DateTimeFormat("en-GB", { ...style, hour12: false });
      return data.times.map((t, i) => (t ? fmt.format(new Date(t)) : data.labels[i]));
    } catch (e) { return data.labels; }
  }

  // --- live camera chart -------------------------------------------------------------------
  const liveCharts = {};
  function liveChart(canvas) {
    if (liveCharts[canvas.id]) return liveCharts[canvas.id];
    const seed = JSON.parse(document.getElementById(canvas.dataset.seed)?.textContent || "[]");
    const chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: seed.map((p) => (p.at ? clockLabel(new Date(p.at)) : p.t)),
        datasets: [
          { label: "People", data: seed.map((p) => p.count), borderColor: "#00d4ff", yAxisID: "y", pointRadius: 0 },
          { label: "Density (p/m²)", data: seed.map((p) => p.density), borderColor: "#ff9500", yAxisID: "y1", pointRadius: 0 },
          { label: "Risk %", data: seed.map((p) => p.risk), borderColor: "#ff3b5c", yAxisID: "y1", pointRadius: 0 },
        ],
      },
      options: chartOptions({ y1: true }),
    });
    liveCharts[canvas.id] = chart;
    return chart;
  }
  function pushLivePoints() {
    document.querySelectorAll("[data-live-point]").forEach((el) => {
      const canvas = document.getElementById(el.dataset.chart);
      if (!canvas || el.dataset.seen) return;
      el.dataset.seen = "1";
      const chart = liveChart(canvas);
      const max = parseInt(canvas.dataset.maxPoints || "300", 10);
      chart.data.labels.push(clockLabel(new Date()));  // the point is now: the viewer's clock
      chart.data.datasets[0].data.push(Number(el.dataset.count));
      chart.data.datasets[1].data.push(Number(el.dataset.density));
      chart.data.datasets[2].data.push(Number(el.dataset.risk));
      while (chart.data.labels.length > max) {
        chart.data.labels.shift();
        chart.data.datasets.forEach((d) => d.data.shift());
      }
      chart.update("none");
      canvas.dataset.points = String(chart.data.labels.length);
    });
  }

  // --- after every live message --------------------------------------------------------------
  document.addEventListener("htmx:wsAfterMessage", (evt) => {
    armToasts();
    localTimes();
    wallStates();
    wallAlerts();
    retryStreams();
    recomputeTotals();
    pushLivePoints();
    const msg = String(evt.detail?.message || "");
    if (msg.includes("data-alert-event")) body.dispatchEvent(new CustomEvent("crowdsafe:alert"));
  });

  // --- charts (analytics page) ------------------------------------------------------------
  function chartOptions(extra) {
    const grid = { color: "rgba(255,255,255,.08)" };
    const ticks = { color: "#a9b0bf", maxRotation: 0, autoSkip: true, maxTicksLimit: 8 };
    const scales = { x: { grid, ticks }, y: { grid, ticks, beginAtZero: true } };
    if (extra && extra.y1) scales.y1 = { position: "right", grid: { drawOnChartArea: false }, ticks, beginAtZero: true };
    return {
      responsive: true, maintainAspectRatio: false, animation: false,
      spanGaps: false, // a null point (no data for over two buckets) breaks the line
      plugins: { legend: { labels: { color: "#e6e8ee" } } }, scales,
    };
  }
  // A point alone between two gaps (nulls) would draw nothing without its dot.
  function pointRadius(base) {
    return (ctx) => {
      const d = ctx.dataset.data, i = ctx.dataIndex;
      return base || (d[i] != null && d[i - 1] == null && d[i + 1] == null ? 2 : 0);
    };
  }
  const analyticsCharts = {};
  function drawAnalytics() {
    const src = document.getElementById("analytics-data");
    if (!src) return;
    const data = JSON.parse(src.textContent);
    data.labels = localLabels(data);
    const series = [
      ["chart-count", "People", "count", "#00d4ff"],
      ["chart-density", "Density (p/m²)", "density", "#ff9500"],
      ["chart-risk", "Risk %", "risk", "#ff3b5c"],
      ["chart-speed", "Speed (m/s)", "speed", "#00e676"],
    ];
    series.forEach(([id, label, key, colour]) => {
      const canvas = document.getElementById(id);
      if (!canvas) return;
      if (analyticsCharts[id]) analyticsCharts[id].destroy();
      analyticsCharts[id] = new Chart(canvas, {
        type: "line",
        data: { labels: data.labels, datasets: [{ label, data: data[key], borderColor: colour,
          backgroundColor: colour + "33", fill: true, pointRadius: pointRadius(data.labels.length > 80 ? 0 : 2) }] },
        options: chartOptions(),
      });
      canvas.dataset.points = String(data.labels.length);
      canvas.dataset.drawnAt = String(Date.now());
    });
  }

  // --- the MJPEG stream: a placeholder instead of a broken image -----------------------------
  // A stream that fails (the camera stopped: 409) hides; its placeholder shows. When the
  // camera's status pill says it streams again, the image is tried once more.
  const STREAMING = ["running", "starting", "reconnecting", "recovering"];
  function streamFailed(img) {
    img.hidden = true;
    img.dataset.failed = "1";
    img.removeAttribute("src");
    const ph = document.getElementById(img.dataset.placeholder);
    if (ph) ph.hidden = false;
  }
  document.addEventListener("error", (evt) => {
    const img = evt.target;
    if (img instanceof HTMLImageElement && img.matches("img[data-stream]")) streamFailed(img);
  }, true);
  // A stream that failed before this script ran (it is deferred) fired its error unheard.
  function checkStreams() {
    document.querySelectorAll("img[data-stream]:not([data-failed])").forEach((img) => {
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) streamFailed(img);
    });
  }
  function retryStreams() {
    document.querySelectorAll("img[data-stream][data-failed]").forEach((img) => {
      const id = img.id.replace(/^stream-/, "");
      const pill = document.getElementById("camera-status-" + id);
      if (!pill || pill.dataset.status !== "running") return;
      delete img.dataset.failed;
      img.hidden = false;
      const ph = document.getElementById(img.dataset.placeholder);
      if (ph) ph.hidden = true;
      img.src = img.dataset.src;
    });
  }

  // --- per-viewer heatmap toggle on the MJPEG stream ----------------------------------------
  document.addEventListener("click", (evt) => {
    const btn = evt.target.closest("[data-heatmap-toggle]");
    if (!btn) return;
    const img = document.getElementById(btn.dataset.heatmapToggle);
    if (!img || img.dataset.failed) return;
    const on = btn.getAttribute("aria-pressed") !== "true";
    btn.setAttribute("aria-pressed", String(on));
    const url = new URL(img.dataset.src || img.src, location.href);
    if (on) url.searchParams.set("heatmap", "1"); else url.searchParams.delete("heatmap");
    img.src = url.pathname + url.search;
  });

  // --- upload progress (htmx fires xhr progress events) --------------------------------------
  document.addEventListener("htmx:xhr:progress", (evt) => {
    const form = evt.target.closest("form");
    const bar = form?.querySelector("progress");
    if (bar && evt.detail.lengthComputable) {
      bar.hidden = false;
      bar.value = Math.round((evt.detail.loaded / evt.detail.total) * 100);
    }
  });

  // --- source type: show the matching hint -----------------------------------------------
  function sourceHints() {
    const select = document.getElementById("id_source_type");
    if (!select) return;
    const update = () => document.querySelectorAll("[data-source-hint]").forEach((el) => {
      el.hidden = el.dataset.sourceHint !== select.value;
    });
    select.addEventListener("change", update);
    update();
  }

  // --- analytics form: pressed preset, and a new camera reloads its zone list ------------------
  document.addEventListener("click", (evt) => {
    const btn = evt.target.closest("[data-preset]");
    if (!btn) return;
    document.querySelectorAll("[data-preset]").forEach((b) => b.setAttribute("aria-pressed", String(b === btn)));
  });
  // A new camera, zone or bucket size reloads the results for the range in force: the pressed
  // range button (or the custom range) submits the form again through htmx. A new camera also
  // clears the zone; the answer brings that camera's zone list (hx-swap-oob).
  document.addEventListener("change", (evt) => {
    const form = evt.target.closest("#analytics-form");
    if (!form || !["id_camera", "id_zone", "id_bucket"].includes(evt.target.id)) return;
    if (evt.target.id === "id_camera") {
      const zone = form.querySelector("#id_zone");
      if (zone) zone.value = "";
    }
    const pressed = form.querySelector('[data-preset][aria-pressed="true"]');
    const custom = form.querySelector('button[name="preset"][value="custom"]');
    const start = form.querySelector("#id_start");
    (pressed || (start && start.value ? custom : form.querySelector('[data-preset="24h"]')) || custom)?.click();
  });

  function init() {
    armToasts();
    localTimes();
    checkStreams();
    drawAnalytics();
    sourceHints();
    document.querySelectorAll("canvas[data-live-chart]").forEach(liveChart);
    if (window.CrowdSafeDraw) window.CrowdSafeDraw.init();
    wallOverlays();
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", (evt) => {
    localTimes();
    if (evt.detail.target?.id === "camera-grid" || evt.detail.elt?.id === "camera-grid") wallOverlays();
    if (evt.detail.target?.querySelector?.("#analytics-data") || evt.detail.target?.id === "analytics-results") drawAnalytics();
  });
  window.CrowdSafe = { drawAnalytics, recomputeTotals, liveCharts, analyticsCharts, localTimes };
})();
