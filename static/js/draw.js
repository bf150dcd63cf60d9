/* Zone editor: zones, exclusion areas, counting lines and calibration points drawn as SVG over
   an unannotated still of the camera. Coordinates are normalised 0..1 (x / width, y / height).
   Click adds a point, drag moves one, right-click or Delete removes one, Ctrl+Z undoes. Every
   value also lives in a labelled text field, so the page works from the keyboard too; the
   forms post to the server, which validates and shows its errors next to the fields. */
(function () {
  "use strict";
  const SVGNS = "http://www.w3.org/2000/svg";
  const KINDS = ["zone", "exclusion", "line", "calib"];
  const POLYGONS = ["zone", "exclusion"];
  const STYLE = {
    zone: { stroke: "#4f8ff7", fill: "rgba(79,143,247,.18)" },
    exclusion: { stroke: "#f87171", fill: "rgba(248,113,113,.28)" },
    line: { stroke: "#f59e0b", fill: "none" },
    calib: { stroke: "#22c55e", fill: "none" },
  };
  const DRAFT = "#ffd166";
  const ARROW_PX = 36;

  /* The "in" side of a line p1→p2, as the engine counts it (analytics/engine/density.py,
     LineCounter): a point is on the left when cross(p2 - p1, point - p1) < 0 in image
     coordinates (y down). The unit normal towards the in side, in pixels. */
  function inNormal(p1, p2, inSide) {
    const dx = p2[0] - p1[0], dy = p2[1] - p1[1];
    const len = Math.hypot(dx, dy) || 1;
    const left = [dy / len, -dx / len];
    return inSide === "right" ? [-left[0], -left[1]] : left;
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVGNS, name);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, String(v)));
    if (parent) parent.appendChild(node);
    return node;
  }

  function init() {
    const wrap = document.getElementById("draw-wrap");
    if (!wrap || wrap.dataset.ready) return;
    wrap.dataset.ready = "1";
    const img = wrap.querySelector("img");
    const svg = document.getElementById("draw-svg");
    const status = document.getElementById("still-status");
    const existing = JSON.parse(document.getElementById("geometry-data").textContent);
    const fields = {
      zone: document.getElementById("id_zone-polygon"),
      exclusion: document.getElementById("id_exclusion-polygon"),
      line: document.getElementById("id_line-points"),
      calib: document.getElementById("id_calibration-image_points"),
    };
    const inSideField = document.getElementById("id_line-in_side");
    let mode = "zone";
    let selected = null; // {kind, index} of the chosen point
    let drag = null; // {kind, index, before, moved}
    let pressedHandle = false; // the click that follows a press on a point adds nothing
    const undo = [];
    const draft = {};
    KINDS.forEach((k) => { draft[k] = parse(fields[k]); });

    function parse(field) {
      try { const v = JSON.parse(field?.value || "[]"); return Array.isArray(v) ? v : []; } catch (e) { return []; }
    }
    function size() {
      if (wrap.dataset.still === "loaded") return [img.clientWidth, img.clientHeight];
      const w = wrap.clientWidth || 640;
      return [w, Math.round(w * 9 / 16)]; // no picture yet: a 16:9 area to draw on
    }
    function snapshot() { return JSON.stringify(draft); }
    function remember(state) {
      undo.push(state || snapshot());
      if (undo.length > 200) undo.shift();
    }
    const px = ([x, y], [w, h]) => [x * w, y * h];
    const norm = (evt) => {
      const r = svg.getBoundingClientRect();
      const clamp = (v) => Math.min(1, Math.max(0, v));
      return [+clamp((evt.clientX - r.left) / r.width).toFixed(4), +clamp((evt.clientY - r.top) / r.height).toFixed(4)];
    };

    function arrow(group, p1n, p2n, inSide, dim, label) {
      const p1 = px(p1n, dim), p2 = px(p2n, dim);
      const n = inNormal(p1, p2, inSide);
      const mid = [(p1[0] + p2[0]) / 2, (p1[1] + p2[1]) / 2];
      const tip = [mid[0] + n[0] * ARROW_PX, mid[1] + n[1] * ARROW_PX];
      const g = el("g", {
        class: "in-arrow", "data-line": label,
        "data-tail": `${(mid[0] / dim[0]).toFixed(4)},${(mid[1] / dim[1]).toFixed(4)}`,
        "data-tip": `${(tip[0] / dim[0]).toFixed(4)},${(tip[1] / dim[1]).toFixed(4)}`,
      }, group);
      el("line", { x1: mid[0], y1: mid[1], x2: tip[0], y2: tip[1], stroke: "#fff", "stroke-width": 2.5 }, g);
      const back = [tip[0] - n[0] * 10, tip[1] - n[1] * 10];
      const side = [-n[1] * 6, n[0] * 6];
      el("polygon", {
        points: `${tip[0]},${tip[1]} ${back[0] + side[0]},${back[1] + side[1]} ${back[0] - side[0]},${back[1] - side[1]}`,
        fill: "#fff",
      }, g);
      const t = el("text", { x: tip[0] + n[0] * 8, y: tip[1] + n[1] * 8 + 4, fill: "#fff", "font-size": 12, "text-anchor": "middle" }, g);
      t.textContent = "in";
    }

    function shape(kind, pts, dim, opts) {
      const g = el("g", { class: `${opts.draft ? "draft" : "saved"} ${kind}`, "data-name": opts.name || "" }, svg);
      const style = STYLE[kind];
      const points = pts.map((p) => px(p, dim).join(",")).join(" ");
      const closed = POLYGONS.includes(kind) && pts.length > 2;
      if (pts.length > 1) {
        el(closed ? "polygon" : "polyline", {
          points, fill: closed ? style.fill : "none", stroke: opts.draft ? DRAFT : style.stroke,
          "stroke-width": 2, "stroke-dasharray": opts.draft ? "6 4" : "none",
        }, g);
      }
      if (opts.name && pts.length) {
        const [x, y] = px(pts[0], dim);
        el("text", { x: x + 4, y: y - 6, fill: "#fff", "font-size": 12 }, g).textContent = opts.name;
      }
      if (kind === "line" && pts.length === 2) arrow(g, pts[0], pts[1], opts.inSide, dim, opts.name || "draft");
      return g;
    }

    function handles(kind, dim) {
      draft[kind].forEach((p, i) => {
        const [x, y] = px(p, dim);
        const isSel = selected && selected.kind === kind && selected.index === i;
        el("circle", {
          cx: x, cy: y, r: isSel ? 8 : 6, class: "handle", "data-kind": kind, "data-index": i,
          fill: kind === "calib" ? STYLE.calib.stroke : DRAFT, stroke: isSel ? "#fff" : "#111318", "stroke-width": 2,
        }, svg);
        if (kind === "calib") el("text", { x: x + 8, y: y - 8, fill: "#fff", "font-size": 12 }, svg).textContent = String(i + 1);
      });
    }

    function draw() {
      const dim = size();
      svg.setAttribute("width", dim[0]); svg.setAttribute("height", dim[1]);
      svg.setAttribute("viewBox", `0 0 ${dim[0]} ${dim[1]}`);
      svg.replaceChildren();
      existing.zones.forEach((z) => shape("zone", z.polygon, dim, { name: z.name }));
      existing.exclusions.forEach((z) => shape("exclusion", z.polygon, dim, { name: z.name }));
      existing.lines.forEach((l) => shape("line", l.points, dim, { name: l.name, inSide: l.in_side }));
      if (!draft.calib.length && existing.calibration.length) {
        existing.calibration.forEach((p, i) => {
          const [x, y] = px(p, dim);
          el("circle", { cx: x, cy: y, r: 4, fill: STYLE.calib.stroke }, svg);
          el("text", { x: x + 6, y: y - 6, fill: "#fff", "font-size": 12 }, svg).textContent = String(i + 1);
        });
      }
      shape("zone", draft.zone, dim, { draft: true });
      shape("exclusion", draft.exclusion, dim, { draft: true });
      shape("line", draft.line, dim, { draft: true, inSide: inSideField?.value || "left" });
      KINDS.forEach((k) => handles(k, dim));
    }

    function sync(kind) {
      if (fields[kind]) fields[kind].value = JSON.stringify(draft[kind]);
      if (kind === "calib") renderCalibRows();
      draw();
    }
    function syncAll() { KINDS.forEach((k) => { if (fields[k]) fields[k].value = JSON.stringify(draft[k]); }); renderCalibRows(); draw(); }

    /* A new point of a polygon goes into the edge it lengthens least, so a point added to a
       saved zone lands where it was clicked instead of closing the shape across it. */
    function insertAt(pts, p) {
      if (pts.length < 3) return pts.length;
      const d = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);
      let best = pts.length, cost = Infinity;
      pts.forEach((a, i) => {
        const b = pts[(i + 1) % pts.length];
        const c = d(a, p) + d(p, b) - d(a, b);
        if (c < cost) { cost = c; best = i + 1; }
      });
      return best;
    }

    function addPoint(pt) {
      remember();
      if (mode === "line" && draft.line.length >= 2) draft.line = [];
      const at = POLYGONS.includes(mode) ? insertAt(draft[mode], pt) : draft[mode].length;
      draft[mode].splice(at, 0, pt);
      selected = { kind: mode, index: at };
      sync(mode);
    }

    function deletePoint(kind, index) {
      if (!draft[kind] || index < 0 || index >= draft[kind].length) return;
      remember();
      draft[kind].splice(index, 1);
      selected = null;
      sync(kind);
    }

    svg.addEventListener("pointerdown", (evt) => {
      const h = evt.target.closest?.(".handle");
      pressedHandle = false; // a drag that ended outside the picture left no click to eat
      if (!h || evt.button !== 0) return;
      evt.preventDefault();
      const kind = h.dataset.kind, index = Number(h.dataset.index);
      selected = { kind, index };
      pressedHandle = true;
      drag = { kind, index, before: snapshot(), moved: false };
      svg.setPointerCapture(evt.pointerId);
      draw();
    });
    svg.addEventListener("pointermove", (evt) => {
      if (!drag) return;
      draft[drag.kind][drag.index] = norm(evt);
      drag.moved = true;
      sync(drag.kind);
    });
    const endDrag = (evt) => {
      if (!drag) return;
      if (drag.moved) remember(drag.before);
      if (svg.hasPointerCapture?.(evt.pointerId)) svg.releasePointerCapture(evt.pointerId);
      drag = null;
    };
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointercancel", endDrag);
    svg.addEventListener("click", (evt) => {
      if (pressedHandle) { pressedHandle = false; return; } // a press on a point selects or drags it
      addPoint(norm(evt));
    });
    svg.addEventListener("contextmenu", (evt) => {
      const h = evt.target.closest?.(".handle");
      if (!h) return;
      evt.preventDefault();
      deletePoint(h.dataset.kind, Number(h.dataset.index));
    });
    document.addEventListener("keydown", (evt) => {
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "");
      if (typing) return;
      if ((evt.ctrlKey || evt.metaKey) && evt.key.toLowerCase() === "z") { evt.preventDefault(); doUndo(); }
      else if ((evt.key === "Delete" || evt.key === "Backspace") && selected) { evt.preventDefault(); deletePoint(selected.kind, selected.index); }
    });
    function doUndo() {
      const state = undo.pop();
      if (!state) return;
      Object.assign(draft, JSON.parse(state));
      selected = null;
      syncAll();
    }
    document.getElementById("draw-undo")?.addEventListener("click", doUndo);
    document.getElementById("draw-delete-point")?.addEventListener("click", () => {
      if (selected) deletePoint(selected.kind, selected.index);
      else deletePoint(mode, draft[mode].length - 1);
    });
    document.querySelectorAll("[data-draw-mode]").forEach((btn) => btn.addEventListener("click", () => {
      mode = btn.dataset.drawMode;
      document.querySelectorAll("[data-draw-mode]").forEach((b) => b.setAttribute("aria-pressed", String(b === btn)));
      document.getElementById("draw-mode-label").textContent = btn.textContent;
    }));
    document.querySelectorAll("[data-draw-clear]").forEach((btn) => btn.addEventListener("click", () => {
      remember();
      draft[btn.dataset.drawClear] = []; selected = null; sync(btn.dataset.drawClear);
    }));
    Object.entries(fields).forEach(([kind, field]) => field?.addEventListener("change", () => {
      remember();
      draft[kind] = parse(field); sync(kind);
    }));
    inSideField?.addEventListener("change", draw);

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

    /* The still: fetched, not an <img src>, so "no picture" (204: an unreachable source) is a
       message rather than a broken image. */
    function loadStill() {
      fetch(wrap.dataset.stillUrl, { credentials: "same-origin", cache: "no-store" })
        .then((r) => (r.status === 200 ? r.blob() : null))
        .then((blob) => {
          if (!blob) {
            status.textContent = "No picture: the source did not answer (or no video is uploaded yet). You can still draw or type points.";
            wrap.dataset.still = "none";
            draw();
            return;
          }
          img.addEventListener("load", () => {
            status.textContent = "Unannotated still of the camera.";
            wrap.dataset.still = "loaded";
            draw();
          }, { once: true });
          img.src = URL.createObjectURL(blob);
        })
        .catch(() => { status.textContent = "The camera's picture could not be loaded."; wrap.dataset.still = "none"; draw(); });
    }
    window.addEventListener("resize", draw);
    renderCalibRows();
    draw();
    loadStill();
  }
  window.CrowdSafeDraw = { init, inNormal };
})();
