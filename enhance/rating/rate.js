// The blind two-alternative forced-choice page of `enhance rate` (enhance/rating/page.py embeds this
// file, the crops and the trial list in one HTML file; nothing is fetched). The trial order and
// sides were randomised (seeded) when the page was made; this script shows them one by one,
// records each choice with its response time, keeps the progress in localStorage (resumable), and
// saves the choices as a JSON file (format "enhance-rate-votes/1") for `enhance rate --analyze`.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("rate-data").textContent);
  const ZOOMS = [1, 1.5, 2, 3, 4, 6, 8];
  const storeKey = "enhance-rate-" + data.page_id;
  const state = { index: 0, votes: [], zoom: 0, shownAt: 0, started: new Date().toISOString(), saves: 0 };
  const $ = (id) => document.getElementById(id);
  const views = [$("view-left"), $("view-right")];
  const imgs = [$("img-left"), $("img-right")];

  function rater() {
    return $("rater").value.trim();
  }

  function persist() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({ votes: state.votes, started: state.started, rater: rater() }));
    } catch (e) {
      // file:// pages may have no storage; the page still works, it just cannot resume
    }
  }

  function restore() {
    try {
      const saved = JSON.parse(localStorage.getItem(storeKey) || "null");
      if (saved && Array.isArray(saved.votes) && saved.votes.length <= data.trials.length) {
        state.votes = saved.votes;
        state.index = saved.votes.length;
        state.started = saved.started || state.started;
        $("rater").value = saved.rater || "";
        return saved.votes.length;
      }
    } catch (e) {
      // nothing stored, or storage refused
    }
    return 0;
  }

  function applyZoom() {
    const z = ZOOMS[state.zoom];
    const trial = data.trials[state.index];
    if (!trial) return;
    for (const img of imgs) {
      img.style.width = trial.crop[2] * z + "px";
      img.style.height = trial.crop[3] * z + "px";
    }
    $("zoom-level").textContent = z + "x";
  }

  function show() {
    const total = data.trials.length;
    $("progress").textContent = Math.min(state.index + 1, total) + " / " + total;
    $("bar").style.width = (100 * state.votes.length) / total + "%";
    $("undo").disabled = state.votes.length === 0;
    const done = state.index >= total;
    $("arena").hidden = done;
    $("done").hidden = !done;
    if (done) {
      $("done-count").textContent = String(state.votes.length);
      return;
    }
    const trial = data.trials[state.index];
    imgs[0].src = data.crops[trial.left_crop];
    imgs[1].src = data.crops[trial.right_crop];
    applyZoom();
    state.shownAt = performance.now();
  }

  function choose(side) {
    if (state.index >= data.trials.length) return false;
    if (side !== "left" && side !== "right") throw new Error("side must be 'left' or 'right'");
    const trial = data.trials[state.index];
    const left = data.methods[trial.left];
    const right = data.methods[trial.right];
    state.votes.push({
      trial: trial.id,
      image: trial.image,
      crop: trial.crop,
      left: left,
      right: right,
      choice: side,
      winner: side === "left" ? left : right,
      loser: side === "left" ? right : left,
      ms: Math.round(performance.now() - state.shownAt),
      zoom: ZOOMS[state.zoom],
    });
    state.index += 1;
    persist();
    show();
    return true;
  }

  function undo() {
    if (!state.votes.length) return false;
    state.votes.pop();
    state.index = state.votes.length;
    persist();
    show();
    return true;
  }

  function zoom(step) {
    state.zoom = step === 0 ? 0 : Math.max(0, Math.min(ZOOMS.length - 1, state.zoom + step));
    applyZoom();
  }

  function result() {
    return {
      format: "enhance-rate-votes/1",
      page_id: data.page_id,
      seed: data.seed,
      title: data.title,
      methods: data.methods,
      rater: rater(),
      n_trials: data.trials.length,
      started: state.started,
      saved: new Date().toISOString(),
      user_agent: navigator.userAgent,
      votes: state.votes,
    };
  }

  function save() {
    const blob = new Blob([JSON.stringify(result(), null, 2) + "\n"], { type: "application/json" });
    const link = document.createElement("a");
    const who = rater().replace(/[^A-Za-z0-9_-]+/g, "_");
    link.href = URL.createObjectURL(blob);
    link.download = "votes-" + data.page_id + (who ? "-" + who : "") + ".json";
    document.body.appendChild(link);
    link.click();
    state.saves += 1;
    setTimeout(function () {
      URL.revokeObjectURL(link.href);
      link.remove();
    }, 1000);
  }

  function restart() {
    state.votes = [];
    state.index = 0;
    state.started = new Date().toISOString();
    persist();
    $("resumed").hidden = true;
    show();
  }

  // the two views scroll together (a zoomed crop is panned by scrolling or dragging either one)
  let syncing = false;
  views.forEach(function (view, i) {
    const other = views[1 - i];
    view.addEventListener("scroll", function () {
      if (syncing) return;
      syncing = true;
      other.scrollLeft = view.scrollLeft;
      other.scrollTop = view.scrollTop;
      syncing = false;
    });
    let drag = null;
    view.addEventListener("mousedown", function (e) {
      drag = { x: e.clientX, y: e.clientY, left: view.scrollLeft, top: view.scrollTop, moved: false };
      e.preventDefault();
    });
    window.addEventListener("mousemove", function (e) {
      if (!drag) return;
      if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) drag.moved = true;
      view.scrollLeft = drag.left - (e.clientX - drag.x);
      view.scrollTop = drag.top - (e.clientY - drag.y);
    });
    window.addEventListener("mouseup", function () {
      if (drag && !drag.moved) choose(i === 0 ? "left" : "right"); // a click (not a drag) chooses
      drag = null;
    });
  });

  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "INPUT") {
      if (e.key === "Enter" || e.key === "Escape") e.target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const actions = {
      ArrowLeft: () => choose("left"),
      "1": () => choose("left"),
      ArrowRight: () => choose("right"),
      "2": () => choose("right"),
      Backspace: undo,
      u: undo,
      "+": () => zoom(1),
      "=": () => zoom(1),
      "-": () => zoom(-1),
      "0": () => zoom(0),
      s: save,
      "?": () => ($("help").hidden = !$("help").hidden),
    };
    const action = actions[e.key];
    if (action) {
      action();
      e.preventDefault();
    }
  });
  $("pick-left").addEventListener("click", () => choose("left"));
  $("pick-right").addEventListener("click", () => choose("right"));
  $("undo").addEventListener("click", undo);
  $("zoom-in").addEventListener("click", () => zoom(1));
  $("zoom-out").addEventListener("click", () => zoom(-1));
  $("save").addEventListener("click", save);
  $("save-done").addEventListener("click", save);
  $("restart").addEventListener("click", restart);
  $("rater").addEventListener("change", persist);

  const resumed = restore();
  if (resumed > 0) {
    $("resumed").hidden = false;
    $("resumed-count").textContent = String(resumed);
  }
  show();
  window.enhanceRate = { data: data, state: state, choose: choose, undo: undo, zoom: zoom, result: result, save: save };
})();
