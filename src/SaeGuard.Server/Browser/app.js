// SaeGuard feature browser: plain JS, no dependencies, talks only to this server's /v1 API.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { lastText: "", verdict: null, feature: null, sort: "abs_probe_weight", order: "desc", offset: 0, pageSize: 50 };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, init);
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(data && data.error ? data.error.message : `HTTP ${res.status}`);
  return data;
}

function showError(err) {
  const p = $("#error");
  p.textContent = err ? String(err.message || err) : "";
  p.hidden = !err;
}

const fmt = (x, d = 3) => Number(x).toFixed(d);
const pct = (x) => (100 * x).toFixed(x < 0.01 ? 3 : 2) + "%";

// WordPiece continuation pieces ("##ing") join the previous token; others start a word.
function tokenPieces(tokens) {
  return tokens.map((t) => t.startsWith("##") ? { text: t.slice(2), join: true } : { text: t, join: false });
}

function renderTokens(container, tokens, activations, max, hitIndex) {
  container.replaceChildren();
  const pieces = tokenPieces(tokens);
  pieces.forEach((p, i) => {
    if (i > 0 && !p.join) container.append(" ");
    const a = activations ? activations[i] : 0;
    const span = el("span", { class: "tok", text: p.text, "data-activation": fmt(a, 4), title: `activation ${fmt(a, 4)}` });
    if (a > 0) {
      span.classList.add("active");
      span.style.backgroundColor = `rgba(255, 122, 0, ${Math.min(1, 0.15 + 0.85 * a / (max || a))})`;
    }
    if (i === hitIndex) span.classList.add("hit");
    container.append(span);
  });
}

// ---- info and reports ----
async function loadInfo() {
  try {
    const info = await api("v1/info");
    const m = info.probe.metrics || {};
    const auroc = m.auroc !== undefined ? ` · AUROC ${fmt(m.auroc)}` : "";
    $("#model-info").textContent = `${info.model} · layer ${info.layer} · SAE ${info.sae.d_sae} × ${info.sae.architecture}${info.sae.k ? " k=" + info.sae.k : ""} · threshold ${fmt(info.threshold, 2)}${auroc}`;
    const links = $("#report-links");
    if (info.reports.analysis) links.append(el("a", { href: info.reports.analysis, id: "link-analysis", target: "_blank", text: "Analysis report" }));
    if (info.reports.probe) links.append(el("a", { href: info.reports.probe, id: "link-probe", target: "_blank", text: "Probe report" }));
  } catch (e) { showError(e); }
}

// ---- classify view ----
async function classify(text) {
  showError(null);
  $("#classify-btn").disabled = true;
  try {
    const res = await api("v1/classify", { text });
    const v = res.results[0];
    state.lastText = text;
    state.verdict = v;
    renderVerdict(v);
    const pick = state.feature !== null ? state.feature : (v.top_features.length ? v.top_features[0].id : null);
    fillFeatureSelect(v, pick);
    $("#result").hidden = false;
    if (pick !== null) await explain(pick); else { $("#tokens").replaceChildren(); $("#tokens-note").textContent = "No feature is active on this text."; }
  } catch (e) { showError(e); } finally { $("#classify-btn").disabled = false; }
}

function renderVerdict(v) {
  const label = $("#verdict-label");
  label.textContent = v.label;
  label.className = "badge " + v.label;
  $("#verdict-score").textContent = `score ${fmt(v.score)} (threshold ${fmt(v.threshold, 2)})`;
  $("#meter-fill").style.width = `${(100 * v.score).toFixed(1)}%`;
  $("#meter-fill").className = v.label;
  $("#meter-threshold").style.left = `${(100 * v.threshold).toFixed(1)}%`;
  const notes = [`${v.tokens} tokens`];
  if (v.truncated) notes.push(`text cut to ${v.chars_scored} of ${v.chars_received} characters`);
  if (v.tokens_truncated) notes.push("text cut to the model's token limit");
  $("#verdict-note").textContent = notes.join(" · ");

  const body = $("#top-features tbody");
  body.replaceChildren();
  for (const f of v.top_features) {
    const bar = el("span", { class: "bar " + (f.contribution >= 0 ? "pos" : "neg") });
    bar.style.width = `${Math.min(100, 40 * Math.abs(f.contribution))}px`;
    const show = el("button", { type: "button", class: "link", "data-feature": String(f.id), text: "highlight" });
    show.addEventListener("click", () => explain(f.id));
    body.append(el("tr", {},
      el("td", {}, el("a", { href: `#/feature/${f.id}`, class: "feature-link", text: `#${f.id}` })),
      el("td", { text: f.label }),
      el("td", { class: "num" }, bar, " " + fmt(f.contribution)),
      el("td", {}, show)));
  }
}

function fillFeatureSelect(v, pick) {
  const sel = $("#feature-select");
  sel.replaceChildren();
  const ids = v.top_features.map((f) => f.id);
  if (pick !== null && !ids.includes(pick)) sel.append(el("option", { value: String(pick), text: `#${pick}` }));
  for (const f of v.top_features) sel.append(el("option", { value: String(f.id), text: `#${f.id} ${f.label} (${fmt(f.contribution, 2)})` }));
  if (pick !== null) sel.value = String(pick);
}

async function explain(featureId) {
  if (!state.lastText) return;
  showError(null);
  try {
    const res = await api("v1/explain", { text: state.lastText, feature: featureId });
    state.feature = res.feature;
    const shown = res.tokens.filter((t) => !t.is_special);
    renderTokens($("#tokens"), shown.map((t) => t.token), shown.map((t) => t.activation), res.max_activation, -1);
    $("#feature-select").value = String(res.feature);
    const active = shown.filter((t) => t.activation > 0).length;
    $("#tokens-note").textContent = `feature #${res.feature} “${res.label}”: active on ${active} of ${shown.length} tokens, max ${fmt(res.max_activation)}`;
  } catch (e) { showError(e); }
}

// ---- feature list ----
async function loadFeatures() {
  showError(null);
  try {
    const q = new URLSearchParams({ sort: state.sort, order: state.order, offset: state.offset, limit: state.pageSize });
    const res = await api(`v1/features?${q}`);
    $("#features-summary").textContent = `${res.total} features, sorted by ${res.sort.replaceAll("_", " ")} (${res.order}); showing ${res.offset + 1}–${res.offset + res.features.length}`;
    const body = $("#feature-table tbody");
    body.replaceChildren();
    for (const f of res.features) {
      body.append(el("tr", {},
        el("td", {}, el("a", { href: `#/feature/${f.id}`, class: "feature-link", text: `#${f.id}` })),
        el("td", { text: f.label }),
        el("td", { class: "num weight", text: fmt(f.probe_weight) }),
        el("td", { class: "num firing", "data-value": String(f.firing_rate), text: pct(f.firing_rate) }),
        el("td", { class: "num", text: fmt(f.max_activation, 2) })));
    }
    $("#features-prev").disabled = state.offset === 0;
    $("#features-next").disabled = state.offset + res.features.length >= res.total;
  } catch (e) { showError(e); }
}

// ---- one feature ----
async function loadFeature(id) {
  showError(null);
  try {
    const f = await api(`v1/features/${id}`);
    $("#feature-title").textContent = `Feature #${f.id} — ${f.label}`;
    const stats = $("#feature-stats");
    stats.replaceChildren();
    for (const [k, v] of [["probe weight", fmt(f.probe_weight)], ["firing rate", pct(f.firing_rate)],
                          ["mean when active", fmt(f.mean_when_active)], ["max activation", fmt(f.max_activation)]])
      stats.append(el("dt", { text: k }), el("dd", { text: v }));
    drawHistogram($("#histogram"), f.histogram);
    const list = $("#contexts");
    list.replaceChildren();
    for (const c of f.top_contexts) {
      const line = el("span", { class: "tokens" });
      const acts = c.tokens.map((_, i) => (i === c.index ? c.activation : 0));
      renderTokens(line, c.tokens, acts, c.activation, c.index);
      list.append(el("li", {}, line, el("span", { class: "act muted", text: ` ${fmt(c.activation)} (doc ${c.doc_id})` })));
    }
    if (!f.top_contexts.length) list.append(el("li", { class: "muted", text: "This feature never fired on the catalogue's documents." }));
    $("#feature-highlight").onclick = (ev) => { ev.preventDefault(); state.feature = f.id; location.hash = "#/"; if (state.lastText) explain(f.id); };
  } catch (e) { showError(e); }
}

function drawHistogram(svgEl, h) {
  svgEl.replaceChildren();
  const W = 640, H = 200, pad = 30;
  if (!h.counts.length) { svgEl.append(Object.assign(svg("text", { x: 10, y: 20 }), { textContent: "no activations" })); return; }
  const max = Math.max(...h.counts);
  const bw = (W - 2 * pad) / h.counts.length;
  h.counts.forEach((c, i) => {
    const bh = max ? (H - 2 * pad) * c / max : 0;
    const r = svg("rect", { x: pad + i * bw + 1, y: H - pad - bh, width: Math.max(1, bw - 2), height: bh, class: "hbar" });
    r.append(Object.assign(svg("title", {}), { textContent: `[${fmt(h.edges[i])}, ${fmt(h.edges[i + 1])}): ${c}` }));
    svgEl.append(r);
  });
  svgEl.append(svg("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: "axis" }));
  const lo = Object.assign(svg("text", { x: pad, y: H - 8, class: "tick" }), { textContent: fmt(h.edges[0], 2) });
  const hi = Object.assign(svg("text", { x: W - pad, y: H - 8, class: "tick end" }), { textContent: fmt(h.edges[h.edges.length - 1], 2) });
  const top = Object.assign(svg("text", { x: pad, y: pad - 8, class: "tick" }), { textContent: `max count ${max}` });
  svgEl.append(lo, hi, top);
}

// ---- routing ----
function route() {
  const hash = location.hash || "#/";
  const m = hash.match(/^#\/feature\/(\d+)$/);
  const view = m ? "feature" : hash === "#/features" ? "features" : "classify";
  for (const v of ["classify", "features", "feature"]) $(`#view-${v}`).hidden = v !== view;
  $("#nav-classify").classList.toggle("current", view === "classify");
  $("#nav-features").classList.toggle("current", view === "features");
  if (view === "feature") loadFeature(m[1]);
  if (view === "features") loadFeatures();
}

$("#classify-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("#prompt").value;
  if (!text.trim()) { showError(new Error("Type a prompt first.")); return; }
  state.feature = null;
  classify(text);
});
$("#feature-select").addEventListener("change", (ev) => explain(Number(ev.target.value)));
$("#feature-go").addEventListener("click", () => {
  const v = $("#feature-input").value;
  if (v !== "") explain(Number(v));
});
for (const b of document.querySelectorAll("#feature-table button[data-sort]")) {
  b.addEventListener("click", () => {
    const s = b.dataset.sort;
    if (state.sort === s) state.order = state.order === "desc" ? "asc" : "desc";
    else { state.sort = s; state.order = s === "id" ? "asc" : "desc"; }
    state.offset = 0;
    loadFeatures();
  });
}
$("#features-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.pageSize); loadFeatures(); });
$("#features-next").addEventListener("click", () => { state.offset += state.pageSize; loadFeatures(); });
window.addEventListener("hashchange", route);
loadInfo();
route();
