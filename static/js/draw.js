/* Zone, counting-line and calibration drawing on a still frame. Coordinates are normalised 0..1.
   Every value also lives in a labelled text field, so the page works from the keyboard too. */
(function () {
  "use strict";
  const COLOURS = { zone: "#4f8ff7", line: "#f59e0b", calib: "#22c55e", draft: "#ffd166" };

  function init() {
    const wrap = document.getElementById("draw-wrap");
    if (!wrap || wrap.dataset.ready) return;
    wrap.dataset.ready = "1";
    const img = wrap.querySelector("img");
    const canvas = wrap.querySelector("canvas");
    const existing = JSON.parse(document.getElementById("geometry-data").textContent);
    const fields = {
      zone: document.getElementById("id_zone-polygon"),
      line: document.getElementById("id_line-points"),
      calib: document.getElementById("id_calibration-image_points"),
    };
    let mode = "zone";
    const draft = { zone: parse(fields.zone), line: parse(fields.line), calib: parse(fields.calib) };

    function parse(field) {
      try { const v = JSON.parse(field?.value || "[]"); return Array.isArray(v) ? v : []; } catch (e) { return []; }
    }
    function size() {
      canvas.width = img.clientWidth; canvas.height = img.clientHeight;
    }
    function path(ctx, pts, close) {
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x * canvas.width, y * canvas.height));
      if (close) ctx.closePath();
    }
    function dots(ctx, pts, colour, labels) {
      ctx.fillStyle = colour; ctx.font = "12px sans-serif";
      pts.forEach(([x, y], i) => {
        ctx.beginPath(); ctx.arc(x * canvas.width, y * canvas.height, 4, 0, Math.PI * 2); ctx.fill();
        if (labels) ctx.fillText(String(i + 1), x * canvas.width + 6, y * canvas.height - 6);
      });
    }
    function draw() {
      size();
      const ctx = canvas.getContext("2d");
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.lineWidth = 2;
      existing.zones.forEach((z) => {
        ctx.strokeStyle = COLOURS.zone; ctx.fillStyle = "rgba(79,143,247,.18)";
        path(ctx, z.polygon, true); ctx.fill(); ctx.stroke();
        ctx.fillStyle = "#fff"; ctx.fillText(z.name, z.polygon[0][0] * canvas.width + 4, z.polygon[0][1] * canvas.height + 14);
      });
      existing.lines.forEach((l) => {
        ctx.strokeStyle = COLOURS.line; path(ctx, l.points, false); ctx.stroke();
        ctx.fillStyle = "#fff"; ctx.fillText(l.name, l.points[0][0] * canvas.width + 4, l.points[0][1] * canvas.height - 4);
      });
      ctx.strokeStyle = COLOURS.draft; ctx.setLineDash([6, 4]);
      if (draft.zone.length) { path(ctx, draft.zone, draft.zone.length > 2); ctx.stroke(); }
      if (draft.line.length) { path(ctx, draft.line, false); ctx.stroke(); }
      ctx.setLineDash([]);
      dots(ctx, draft.zone, COLOURS.draft, false);
      dots(ctx, draft.line, COLOURS.draft, false);
      dots(ctx, draft.calib.length ? draft.calib : existing.calibration, COLOURS.calib, true);
    }
    function sync(kind) {
      if (fields[kind]) fields[kind].value = JSON.stringify(draft[kind]);
      if (kind === "calib") renderCalibRows();
      draw();
    }
    function renderCalibRows() {
      const tbody = document.getElementById("calib-rows");
      if (!tbody) return;
      const world = document.getElementById("id_calibration-world_points");
      let worldPts = [];
      try { worldPts = JSON.parse(world.value || "[]"); } catch (e) { worldPts = []; }
      tbody.replaceChildren();
      // Built node by node, never parsed as HTML: the world values come from an editable field.
      const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
      const worldInput = (i, axis, value) => {
        const td = document.createElement("td");
        const label = document.createElement("label");
        label.className = "sr";
        label.textContent = `${axis === 0 ? "X" : "Y"} (m) `;
        const input = document.createElement("input");
        Object.assign(input, { type: "number", step: "any", size: 6 });
        input.dataset.w = String(i);
        input.dataset.axis = String(axis);
        input.value = value === null || value === undefined ? "" : String(value);
        label.appendChild(input);
        td.appendChild(label);
        return td;
      };
      draft.calib.forEach(([x, y], i) => {
        const w = worldPts[i] || ["", ""];
        const tr = document.createElement("tr");
        tr.append(cell(String(i + 1)), cell(`${Number(x).toFixed(4)}, ${Number(y).toFixed(4)}`),
                  worldInput(i, 0, w[0]), worldInput(i, 1, w[1]));
        tbody.appendChild(tr);
      });
      tbody.querySelectorAll("input[data-w]").forEach((inp) => inp.addEventListener("input", () => {
        const pts = draft.calib.map((_, i) => {
          const xs = tbody.querySelector(`input[data-w="${i}"][data-axis="0"]`).value;
          const ys = tbody.querySelector(`input[data-w="${i}"][data-axis="1"]`).value;
          return [xs === "" ? null : Number(xs), ys === "" ? null : Number(ys)];
        });
        world.value = JSON.stringify(pts);
      }));
    }
    canvas.addEventListener("click", (evt) => {
      const r = canvas.getBoundingClientRect();
      const pt = [+((evt.clientX - r.left) / r.width).toFixed(4), +((evt.clientY - r.top) / r.height).toFixed(4)];
      if (mode === "line" && draft.line.length >= 2) draft.line = [];
      draft[mode].push(pt);
      sync(mode);
    });
    document.querySelectorAll("[data-draw-mode]").forEach((btn) => btn.addEventListener("click", () => {
      mode = btn.dataset.drawMode;
      document.querySelectorAll("[data-draw-mode]").forEach((b) => b.setAttribute("aria-pressed", String(b === btn)));
      document.getElementById("draw-mode-label").textContent = btn.textContent;
    }));
    document.querySelectorAll("[data-draw-clear]").forEach((btn) => btn.addEventListener("click", () => {
      draft[btn.dataset.drawClear] = []; sync(btn.dataset.drawClear);
    }));
    Object.entries(fields).forEach(([kind, field]) => field?.addEventListener("change", () => {
      draft[kind] = parse(field); sync(kind);
    }));
    img.complete ? draw() : img.addEventListener("load", draw);
    window.addEventListener("resize", draw);
    renderCalibRows();
  }
  window.CrowdSafeDraw = { init };
})();
