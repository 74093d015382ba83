"use strict";
// The treeagent tree viewer. Data comes from the JSON block above; nothing is fetched.
// Children are rendered only when their parent is opened, PAGE at a time, so big trees stay fast.
(function () {
  const PAGE = 100;
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const meta = data.meta;
  const byId = new Map();
  const kids = new Map();
  for (const n of data.nodes) {
    byId.set(n.i, n);
    if (n.p !== null && n.p !== undefined) {
      if (!kids.has(n.p)) kids.set(n.p, []);
      kids.get(n.p).push(n.i);
    }
  }
  const best = new Set(data.best_path);
  const rendered = new Map(); // node id -> its <li>
  let selected = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  const fmt = (x) => (x === null || x === undefined ? "—" : typeof x === "number" ? String(Math.round(x * 1000) / 1000) : String(x));
  const score = (n) => (n.q !== undefined ? n.q : n.v !== undefined ? n.v : -1);

  function sortedKids(id) {
    const list = (kids.get(id) || []).slice();
    list.sort((a, b) => {
      const na = byId.get(a), nb = byId.get(b);
      return (best.has(b) - best.has(a)) || ((nb.n || 0) - (na.n || 0)) || (score(nb) - score(na)) || (a - b);
    });
    return list;
  }

  function label(n) {
    const text = n.p === null || n.p === undefined ? "(root)" : n.a || "(no action text)";
    const span = el("span", { class: "label" }, el("span", { class: "id", text: "#" + n.i }), text);
    const badges = [];
    if (n.v !== undefined) badges.push(el("span", { class: "badge value", text: "v=" + fmt(n.v) }));
    if (n.n) badges.push(el("span", { class: "badge", text: "n=" + n.n + " q=" + fmt(n.q) }));
    if (n.c) badges.push(el("span", { class: "badge", text: n.c.length + " LLM" }));
    if (n.s === "failed") badges.push(el("span", { class: "badge", text: "failed" }));
    return [span, ...badges];
  }

  function makeItem(id) {
    const n = byId.get(id);
    const count = (kids.get(id) || []).length;
    const classes = ["node"];
    if (best.has(id)) classes.push("best");
    if (n.s === "failed") classes.push("failed");
    if (n.x) classes.push("terminal");
    const toggle = el("span", { class: count ? "toggle" : "toggle leaf", text: count ? "▸" : "·", title: count ? count + " children" : "leaf" });
    const row = el("div", { class: "row" }, toggle, ...label(n));
    const li = el("li", { class: classes.join(" "), "data-node": String(id), role: "treeitem" }, row);
    li.dataset.shown = "0";
    rendered.set(id, li);
    toggle.addEventListener("click", () => toggleNode(id));
    row.querySelector(".label").addEventListener("click", () => select(id));
    return li;
  }

  function showMore(id, upTo) {
    const li = rendered.get(id);
    let ul = li.querySelector(":scope > ul.kids");
    if (!ul) {
      ul = el("ul", { class: "kids", role: "group" });
      li.append(ul);
    }
    const order = sortedKids(id);
    let shown = Number(li.dataset.shown);
    const target = Math.min(order.length, Math.max(shown + PAGE, upTo || 0));
    const old = ul.querySelector(":scope > li.more");
    if (old) old.remove();
    const frag = document.createDocumentFragment();
    for (; shown < target; shown++) frag.append(makeItem(order[shown]));
    ul.append(frag);
    li.dataset.shown = String(shown);
    if (shown < order.length) {
      const more = el("li", { class: "more", text: "show " + Math.min(PAGE, order.length - shown) + " more of " + (order.length - shown) });
      more.addEventListener("click", () => showMore(id));
      ul.append(more);
    }
    return order;
  }

  function open(id) {
    const li = rendered.get(id);
    if (!li || !(kids.get(id) || []).length) return;
    if (li.dataset.shown === "0") showMore(id);
    li.querySelector(":scope > ul.kids").hidden = false;
    li.querySelector(":scope > .row > .toggle").textContent = "▾";
    li.classList.add("open");
  }

  function close(id) {
    const li = rendered.get(id);
    const ul = li && li.querySelector(":scope > ul.kids");
    if (!ul) return;
    ul.hidden = true;
    li.querySelector(":scope > .row > .toggle").textContent = "▸";
    li.classList.remove("open");
  }

  function toggleNode(id) {
    const li = rendered.get(id);
    if (li.classList.contains("open")) close(id);
    else open(id);
  }

  function pathTo(id) {
    const path = [];
    let cur = id;
    while (cur !== null && cur !== undefined && byId.has(cur)) {
      path.push(cur);
      cur = byId.get(cur).p;
    }
    return path.reverse();
  }

  // Open every ancestor of `id` (rendering as many siblings as it takes) and select it.
  function reveal(id) {
    if (!byId.has(id)) return false;
    const path = pathTo(id);
    for (let k = 0; k < path.length - 1; k++) {
      const parent = path[k];
      open(parent);
      if (!rendered.has(path[k + 1])) {
        const order = sortedKids(parent);
        showMore(parent, order.indexOf(path[k + 1]) + 1);
      }
    }
    select(id);
    rendered.get(id).scrollIntoView({ block: "center" });
    return true;
  }

  function section(title) {
    return el("h2", { text: title });
  }

  function row(name, value) {
    return el("tr", {}, el("td", { text: name }), el("td", { text: fmt(value) }));
  }

  function callView(index) {
    const c = data.calls[index];
    const head = el("div", {
      class: "call-head",
      text: `${c.tag || "call"} · n=${c.n} · ${c.pt} prompt + ${c.ct} completion tokens` +
        (c.cached ? ` (${c.cached} cached)` : "") + ` · ${fmt(c.lat)} s` + (c.replayed ? " · replayed" : ""),
    });
    const box = el("div", { class: "call" }, head);
    const prompt = el("details", { class: "prompt" });
    if (c.messages) {
      prompt.append(el("summary", { text: `prompt (${c.messages.length} messages)` }));
      for (const m of c.messages) {
        const content = typeof m.content === "string" ? m.content : JSON.stringify(m.content, null, 1);
        prompt.append(el("div", { class: "role", text: m.role || "?" }), el("pre", { text: content }));
      }
    } else {
      prompt.append(el("summary", { text: "prompt not recorded" }));
    }
    box.append(prompt);
    const replies = el("details", { class: "replies", open: "" }, el("summary", { text: `replies (${c.texts.length})` }));
    c.texts.forEach((t, k) => {
      replies.append(el("div", { class: "role", text: `reply ${k + 1}` + (c.finish[k] ? ` · ${c.finish[k]}` : "") }), el("pre", { text: t }));
    });
    box.append(replies);
    return box;
  }

  function select(id) {
    const n = byId.get(id);
    if (selected !== null && rendered.has(selected)) rendered.get(selected).classList.remove("selected");
    selected = id;
    if (rendered.has(id)) rendered.get(id).classList.add("selected");
    const box = document.getElementById("details");
    box.replaceChildren();
    box.dataset.node = String(id);
    box.append(el("h2", { id: "details-title", text: `Node #${id}` + (best.has(id) ? " (best path)" : "") }));
    const crumbs = el("div", { class: "crumbs" });
    pathTo(id).forEach((p, k) => {
      if (k) crumbs.append(" → ");
      const a = el("a", { text: k ? byId.get(p).a || "#" + p : "root", title: "#" + p });
      a.addEventListener("click", () => reveal(p));
      crumbs.append(a);
    });
    box.append(crumbs);
    const table = el("table", {},
      row("action", n.p === null || n.p === undefined ? "(root)" : n.a),
      row("raw action", n.ac), row("status", n.s), row("depth", n.d), row("mover", n.m),
      row("value", n.v), row("visits", n.n || 0), row("mean value (q)", n.q), row("prior", n.pr),
      row("reward", n.r), row("terminal", n.x ? "yes" : "no"), row("children", (kids.get(id) || []).length));
    if (n.g) table.append(row("gave up", "yes"));
    box.append(table);
    if (n.e) box.append(section("Error"), el("pre", { class: "error", text: n.e }));
    box.append(section("Observation"), el("pre", { class: "observation", text: n.o === undefined ? "(none)" : n.o }));
    const calls = n.c || [];
    box.append(section(`LLM calls (${calls.length})`));
    if (!calls.length) box.append(el("p", { class: "hint", text: "No model call was made for this node." }));
    for (const index of calls) box.append(callView(index));
  }

  function header() {
    document.getElementById("title").textContent = `${meta.controller} on ${meta.task.id || "?"} (${meta.env})`;
    const s = document.getElementById("summary");
    const stat = meta.stats || {};
    const parts = [
      meta.finished ? (meta.solved ? meta.outcome_words[0] : meta.outcome_words[1]) : "unfinished (no end record yet)",
      meta.stop_reason ? "stopped by " + meta.stop_reason : null,
      meta.stats ? `${stat.expansions} expansions · ${stat.env_steps} env steps · ${stat.llm_calls} LLM calls · ${stat.tokens} tokens · ${fmt(stat.wall_seconds)} s` : null,
      "seed " + meta.seed,
      meta.trace,
    ];
    for (const p of parts) if (p) s.append(el("span", { text: p }));
    document.getElementById("node-count").textContent = String(data.nodes.length);
    if (meta.tree_nodes && meta.tree_nodes !== data.nodes.length) {
      document.getElementById("tree-note").textContent =
        `(the search's tree had ${meta.tree_nodes}; ${meta.tree_nodes - data.nodes.length} were created lazily and never stepped)`;
    }
    const notes = [];
    if (meta.torn_tail) notes.push("The last line of the trace is incomplete (still being written?) and was skipped.");
    if (meta.runs > 1) notes.push(`The file holds ${meta.runs} runs (resumed); this is the last.`);
    if (notes.length) {
      const w = document.getElementById("warning");
      w.textContent = notes.join(" ");
      w.hidden = false;
    }
  }

  function chart() {
    const box = document.getElementById("chart");
    const pts = data.usage;
    if (!pts.length) {
      box.append(el("p", { class: "hint", text: "No records to chart." }));
      return;
    }
    const timed = pts.every((p) => p[0] !== null && p[0] !== undefined);
    const xs = pts.map((p, k) => (timed ? p[0] : k));
    const limits = data.limits || {};
    const series = [
      ["expansions", 1, limits.max_expansions, "#3558a8"],
      ["nodes", 2, null, "#11763a"],
      ["evaluations", 3, null, "#8a6d00"],
      ["LLM calls", 4, limits.max_llm_calls, "#b3261e"],
      ["tokens", 5, limits.max_tokens, "#6b4fa0"],
    ].filter((s) => pts[pts.length - 1][s[1]] > 0);
    const W = 600, H = 200, L = 40, B = 20;
    const xmax = Math.max(xs[xs.length - 1], limits.max_seconds && timed ? limits.max_seconds : 0, 1e-9);
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("preserveAspectRatio", "none");
    const line = (x1, y1, x2, y2, color, dash) => {
      const l = document.createElementNS(svg.namespaceURI, "line");
      for (const [k, v] of Object.entries({ x1, y1, x2, y2, stroke: color, "stroke-width": 1 })) l.setAttribute(k, v);
      if (dash) l.setAttribute("stroke-dasharray", "4 3");
      svg.append(l);
    };
    const text = (x, y, t) => {
      const e = document.createElementNS(svg.namespaceURI, "text");
      e.setAttribute("x", x); e.setAttribute("y", y); e.setAttribute("font-size", "10"); e.setAttribute("fill", "#59637a");
      e.textContent = t;
      svg.append(e);
    };
    const X = (x) => L + (x / xmax) * (W - L - 8);
    const Y = (f) => H - B - Math.min(f, 1.05) * (H - B - 10);
    line(L, H - B, W - 8, H - B, "#9aa3b5");
    line(L, 10, L, H - B, "#9aa3b5");
    line(L, Y(1), W - 8, Y(1), "#c0c6d2", true);
    text(2, Y(1) + 3, "100%");
    text(2, H - B + 3, "0");
    text(W - 80, H - 4, timed ? `${fmt(xmax)} s` : `${pts.length} records`);
    const legend = el("div", { class: "legend" });
    for (const [name, col, limit, color] of series) {
      const last = pts[pts.length - 1][col];
      const scale = limit || last;
      const poly = document.createElementNS(svg.namespaceURI, "polyline");
      poly.setAttribute("points", pts.map((p, k) => `${X(xs[k]).toFixed(1)},${Y(p[col] / scale).toFixed(1)}`).join(" "));
      poly.setAttribute("fill", "none");
      poly.setAttribute("stroke", color);
      poly.setAttribute("stroke-width", "1.5");
      svg.append(poly);
      legend.append(el("span", {}, el("span", { class: "swatch", style: `background:${color}` }),
        `${name}: ${last}` + (limit ? ` of ${limit} (${Math.round((100 * last) / limit)}%)` : " (no limit; scaled to final)")));
    }
    if (timed && limits.max_seconds) legend.append(el("span", { text: `time limit: ${limits.max_seconds} s` }));
    box.append(svg, legend);
  }

  function lessons() {
    if (!data.lessons.length) return;
    const box = document.getElementById("lessons");
    box.append(section(`Lessons (${data.lessons.length})`));
    for (const l of data.lessons) box.append(el("pre", { text: (l.node !== null ? `#${l.node}: ` : "") + l.text }));
  }

  function init() {
    header();
    const tree = document.getElementById("tree");
    tree.append(makeItem(0));
    for (const id of data.best_path.slice(0, -1)) open(id);
    if (!data.best_path.length || data.best_path.length === 1) open(0);
    document.getElementById("show-best").addEventListener("click", () => reveal(data.best_path[data.best_path.length - 1]));
    document.getElementById("collapse-all").addEventListener("click", () => {
      for (const id of rendered.keys()) close(id);
    });
    document.getElementById("goto-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = document.getElementById("goto");
      const ok = reveal(Number(input.value));
      input.setCustomValidity(ok ? "" : "no such node");
      input.reportValidity();
    });
    chart();
    lessons();
    document.body.dataset.ready = "1";
  }

  init();
})();
