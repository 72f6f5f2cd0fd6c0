// SaeGuard feature dashboard: one page for the static export (data/*.js script files, works from
// file://) and for `saeguard serve --sae --acts` (the same data from /v1/features).
(function () {
  'use strict';
  const $ = id => document.getElementById(id);
  const MAX_ROWS = 200;
  const staticData = window.SAEGUARD_FEATURES || null;
  let index = null; // { info, features }

  function fail(msg) { const e = $('error'); e.textContent = msg; e.hidden = false; }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const fmt = (v, d) => (v === null || v === undefined) ? '–' : Number(v).toPrecision(d || 3);
  // token text for display: SentencePiece/BPE word markers become spaces; without markers
  // (WordPiece) a space goes before every token that is not a ## continuation
  const MARK = /[\u2581\u0120]/;
  const display = (tokens) => {
    const marked = tokens.some(t => MARK.test(t));
    return tokens.map((t, i) => marked ? t.replace(/[\u2581\u0120]/g, ' ')
      : t.startsWith('##') ? t.slice(2) : (i ? ' ' : '') + t);
  };

  function loadIndex() {
    if (staticData) return Promise.resolve(staticData);
    return fetch('/v1/features').then(r => { if (!r.ok) throw new Error('GET /v1/features: HTTP ' + r.status); return r.json(); });
  }
  function loadPage(id) {
    if (!staticData) return fetch('/v1/features/' + id).then(r => { if (!r.ok) throw new Error('GET /v1/features/' + id + ': HTTP ' + r.status); return r.json(); });
    return new Promise((resolve, reject) => {
      window.SAEGUARD_FEATURE_PAGE = p => resolve(p);
      const s = el('script', { src: 'data/f/' + id + '.js' });
      s.onerror = () => reject(new Error('feature ' + id + ' has no page'));
      document.body.appendChild(s);
      s.onload = () => s.remove();
    });
  }

  // ---- feature list ----
  function sortKeys() {
    const keys = [['firing', 'firing rate'], ['max', 'max activation'], ['mean', 'mean active'], ['weight', '|probe weight|'], ['id', 'id']];
    index.info.labels.forEach(l => keys.push(['label:' + l, 'specificity to label ' + l]));
    index.info.categories.forEach(c => keys.push(['category:' + c, 'specificity to category ' + c]));
    return keys;
  }
  function specOf(f, key) {
    if (key.startsWith('label:')) return f.label_specificity[key.slice(6)];
    if (key.startsWith('category:')) return f.category_specificity[key.slice(9)];
    return undefined;
  }
  function matches(f, q) {
    if (!q) return true;
    const id = q.replace(/^#/, '');
    if (/^\d+$/.test(id) && f.id === Number(id)) return true;
    if (q.startsWith('#')) return false;
    const lq = q.toLowerCase();
    return f.label.toLowerCase().includes(lq) || f.top_tokens.some(t => t.toLowerCase().includes(lq));
  }
  function renderList() {
    const q = $('search').value.trim(), key = $('sort').value;
    const minRate = Number($('min-rate').value) || 0, hideDead = $('hide-dead').checked;
    let rows = index.features.filter(f => matches(f, q) && f.firing_rate >= minRate && !(hideDead && f.firing_rate === 0));
    const by = {
      firing: f => f.firing_rate, max: f => f.max, mean: f => f.mean_active, weight: f => Math.abs(f.probe_weight || 0), id: f => -f.id,
    }[key] || (f => { const s = specOf(f, key); return s === undefined ? -Infinity : s; });
    rows.sort((a, b) => (by(b) - by(a)) || (a.id - b.id));
    const specKey = specOf(index.features[0] || { label_specificity: {}, category_specificity: {} }, key) !== undefined ? key
      : (index.info.labels.includes('harmful') ? 'label:harmful' : index.info.labels.length ? 'label:' + index.info.labels[0] : '');
    $('spec-head').textContent = specKey ? 'specificity (' + specKey.replace(':', ' ') + ')' : 'specificity';
    const label = (sortKeys().find(k => k[0] === key) || ['', key])[1];
    $('features-summary').textContent = index.features.length + ' features; ' + rows.length + ' match' +
      (rows.length > MAX_ROWS ? ' (first ' + MAX_ROWS + ' shown)' : '') + '; sorted by ' + label + '.';
    const body = document.querySelector('#feature-table tbody');
    body.replaceChildren();
    for (const f of rows.slice(0, MAX_ROWS)) {
      const tr = el('tr', { 'data-id': f.id });
      const a = el('a', { href: '#/feature/' + f.id, class: 'feature-link' }, '#' + f.id);
      const td0 = el('td'); td0.appendChild(a); tr.appendChild(td0);
      tr.appendChild(el('td', { class: 'l label' }, f.label));
      tr.appendChild(el('td', { class: 'firing', 'data-value': f.firing_rate }, fmt(f.firing_rate)));
      tr.appendChild(el('td', { class: 'mean' }, fmt(f.mean_active)));
      tr.appendChild(el('td', { class: 'max' }, fmt(f.max)));
      const s = specKey ? specOf(f, specKey) : undefined;
      tr.appendChild(el('td', { class: 'spec', 'data-value': s === undefined ? '' : s }, s === undefined ? '–' : fmt(s)));
      tr.appendChild(el('td', { class: 'weight' }, fmt(f.probe_weight)));
      body.appendChild(tr);
    }
  }

  // ---- feature page ----
  function contextItem(c, max) {
    const li = el('li');
    const shown = display(c.tokens);
    c.tokens.forEach((t, i) => {
      const v = c.values[i];
      const s = el('span', { class: 'tok' + (v > 0 ? ' active' : '') + (i === c.centre && v > 0 ? ' hit' : ''), 'data-activation': v, title: t + ': ' + v }, shown[i]);
      if (v > 0 && max > 0) s.style.backgroundColor = 'rgba(255, 122, 0, ' + Math.min(1, 0.12 + 0.88 * v / max).toFixed(3) + ')';
      li.appendChild(s);
    });
    li.appendChild(el('span', { class: 'ctx-meta' }, 'doc ' + c.doc + (c.label ? ' · ' + c.label : '') + (c.category ? ' · ' + c.category : '') + ' · ' + fmt(c.value)));
    return li;
  }
  function fill(list, contexts, max) {
    list.replaceChildren();
    contexts.forEach(c => list.appendChild(contextItem(c, max)));
    if (!contexts.length) list.appendChild(el('li', { class: 'muted' }, 'none'));
  }
  function histogram(h) {
    const W = 760, H = 240, L = 60, R = 16, T = 10, B = 44, ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('width', W); svg.setAttribute('height', H); svg.setAttribute('role', 'img');
    const mk = (tag, attrs, text) => { const e = document.createElementNS(ns, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; };
    if (!h.counts.length) { svg.appendChild(mk('text', { x: L, y: H / 2 }, 'never fires')); return svg; }
    const lx0 = Math.log2(h.edges[0]), lx1 = Math.log2(h.edges[h.edges.length - 1]);
    const x = v => L + (Math.log2(v) - lx0) / Math.max(1e-9, lx1 - lx0) * (W - L - R);
    const top = Math.max(...h.counts), y = c => H - B - c / top * (H - T - B);
    h.counts.forEach((c, i) => svg.appendChild(mk('rect', { class: 'hbar', x: x(h.edges[i]) + 0.5, width: Math.max(1, x(h.edges[i + 1]) - x(h.edges[i]) - 1), y: y(c), height: H - B - y(c), 'data-count': c, 'data-low': h.edges[i], 'data-high': h.edges[i + 1] }))
      .appendChild(mk('title', {}, '[' + fmt(h.edges[i]) + ', ' + fmt(h.edges[i + 1]) + '): ' + c + ' tokens')));
    const xa = mk('g', { class: 'axis x-axis' }), ya = mk('g', { class: 'axis y-axis' });
    xa.appendChild(mk('line', { x1: L, x2: W - R, y1: H - B, y2: H - B }));
    ya.appendChild(mk('line', { x1: L, x2: L, y1: T, y2: H - B }));
    const step = Math.max(1, Math.ceil(h.edges.length / 8));
    h.edges.forEach((e, i) => { if (i % step && i !== h.edges.length - 1) return;
      xa.appendChild(mk('line', { x1: x(e), x2: x(e), y1: H - B, y2: H - B + 4 }));
      xa.appendChild(mk('text', { class: 'tick', x: x(e), y: H - B + 16, 'text-anchor': 'middle' }, fmt(e, 2))); });
    for (let k = 0; k <= 4; k++) { const c = Math.round(top * k / 4);
      ya.appendChild(mk('line', { x1: L - 4, x2: L, y1: y(c), y2: y(c) }));
      ya.appendChild(mk('text', { class: 'tick', x: L - 6, y: y(c) + 4, 'text-anchor': 'end' }, String(c))); }
    xa.appendChild(mk('text', { class: 'axis-title', x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle' }, 'activation (log scale)'));
    ya.appendChild(mk('text', { class: 'axis-title', x: 14, y: (T + H - B) / 2, 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (T + H - B) / 2 + ')' }, 'tokens'));
    svg.appendChild(xa); svg.appendChild(ya);
    return svg;
  }
  function groupTable(t, groups) {
    t.replaceChildren();
    if (!groups.length) { t.appendChild(el('tr')).appendChild(el('td', { class: 'l muted' }, 'the documents carry none')); return; }
    const head = el('tr');
    ['group', 'tokens', 'fires', 'firing rate', 'mean active', 'specificity', '95% CI'].forEach((h, i) => head.appendChild(el('th', i ? {} : { class: 'l' }, h)));
    t.appendChild(head);
    for (const g of groups) {
      const tr = el('tr', { 'data-group': g.group });
      tr.appendChild(el('td', { class: 'l' }, g.group));
      tr.appendChild(el('td', {}, String(g.tokens)));
      tr.appendChild(el('td', { class: 'fires' }, String(g.fires)));
      tr.appendChild(el('td', { class: 'rate', 'data-value': g.firing_rate }, fmt(g.firing_rate)));
      tr.appendChild(el('td', {}, fmt(g.mean_active)));
      tr.appendChild(el('td', { class: 'spec', 'data-value': g.specificity }, fmt(g.specificity)));
      tr.appendChild(el('td', {}, fmt(g.specificity_low) + ' … ' + fmt(g.specificity_high)));
      t.appendChild(tr);
    }
  }
  function renderFeature(p) {
    $('feature-title').textContent = 'Feature #' + p.id + (p.label ? ' — ' + p.label : '');
    const stats = $('feature-stats');
    stats.replaceChildren();
    const kv = [['firing rate', fmt(p.firing_rate, 4) + ' (' + p.fires + ' tokens)'], ['mean when active', fmt(p.mean_active, 4)], ['max activation', fmt(p.max, 4)]];
    if (p.probe_weight !== undefined && p.probe_weight !== null)
      kv.push(['probe weight', fmt(p.probe_weight, 4)], ['probe contribution at mean firing', fmt(p.probe_contribution, 4)]);
    kv.forEach(([k, v]) => { const tr = el('tr'); tr.appendChild(el('td', {}, k)); tr.appendChild(el('td', { id: 'stat-' + k.replace(/\W+/g, '-') }, v)); stats.appendChild(tr); });
    $('histogram').replaceChildren(histogram(p.histogram));
    groupTable($('by-label'), p.by_label); groupTable($('by-category'), p.by_category);
    $('spec-note').textContent = 'Specificity: log-odds ratio of firing in the group versus all other tokens, with a prior of ' + index.info.prior + ' pseudo-tokens spread as independence predicts (0 = no preference); Woolf 95% interval.';
    fill($('top-examples'), p.top, p.max);
    const bands = $('bands');
    bands.replaceChildren();
    p.bands.forEach((b, i) => {
      const card = el('div', { class: 'card band', 'data-band': i });
      card.appendChild(el('h3', {}, 'Interval ' + fmt(b.low) + ' – ' + fmt(b.high) + ' (' + b.count + ' tokens)'));
      const ol = el('ol', { class: 'contexts' }); card.appendChild(ol); fill(ol, b.examples, p.max); bands.appendChild(card);
    });
    fill($('non-firing'), p.non_firing, p.max);
    const nb = $('neighbours');
    nb.replaceChildren();
    p.neighbours.forEach(n => { const li = el('li'); li.appendChild(el('a', { href: '#/feature/' + n.id }, '#' + n.id));
      li.appendChild(document.createTextNode(' ' + (n.label || '') + ' (cos ' + fmt(n.cosine) + ')')); nb.appendChild(li); });
    if (!p.neighbours.length) nb.appendChild(el('li', { class: 'muted' }, 'not computed'));
    $('logits-card').hidden = !p.logits;
    if (p.logits) {
      const lens = (t, title, toks, vals, cls) => {
        t.replaceChildren();
        const h = el('tr'); h.appendChild(el('th', { class: 'l' }, title)); h.appendChild(el('th', {}, 'logit')); t.appendChild(h);
        toks.forEach((s, i) => { const tr = el('tr', { class: cls }); tr.appendChild(el('td', { class: 'l' }, s)); tr.appendChild(el('td', {}, fmt(vals[i]))); t.appendChild(tr); });
      };
      lens($('pos-logits'), 'promotes', p.logits.pos_str, p.logits.pos_values, 'pos');
      lens($('neg-logits'), 'suppresses', p.logits.neg_str, p.logits.neg_values, 'neg');
    }
  }

  function route() {
    const m = location.hash.match(/^#\/feature\/(\d+)$/);
    $('list-view').hidden = !!m; $('feature-view').hidden = !m;
    if (!m) { renderList(); return; }
    loadPage(Number(m[1])).then(renderFeature).catch(e => fail(e.message));
  }

  loadIndex().then(d => {
    index = d;
    $('set-info').textContent = d.info.model + ' · ' + d.info.hook + ' · ' + d.info.d_sae + ' features · ' + d.info.tokens + ' tokens';
    const sort = $('sort');
    sortKeys().forEach(([k, l]) => sort.appendChild(el('option', { value: k }, l)));
    ['search', 'sort', 'min-rate', 'hide-dead'].forEach(id => $(id).addEventListener('input', renderList));
    window.addEventListener('hashchange', route);
    route();
  }).catch(e => fail(e.message));
})();
