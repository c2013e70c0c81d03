// The Live page: the pool's last 5 minutes as SVG charts, once a second.
//
// On load it asks GET /status/?history=300&top=5 for the last 300 complete
// seconds, then each second only for the seconds since the last answer
// (history=2 or more), merged by their "t" (unix seconds). One request at a
// time: the next is sent a second after the last one ended, and a request
// that takes longer than TIMEOUT_MS is aborted. A slow or failed request
// leaves the last charts in place and says so in a sentence ("No update for
// 6 s: …"). Memory is bounded: WINDOW_S seconds of history, MAX_PRODUCTS
// products' stock lines of at most WINDOW_S points each.
//
// Only an administrator's page has the [data-live] block (nginx's SSI leaves
// it out for anyone else): without it this script does nothing. Everything
// from the server is written as text or as numbers, never as markup.
'use strict';

(() => {
  const root = document.querySelector('[data-live]');
  if (!root) return;

  const WINDOW_S = 300;        // seconds on the charts
  const PERIOD_MS = 1000;      // one request a second ...
  const TIMEOUT_MS = 4000;     // ... aborted after this long
  const MAX_BACKOFF_MS = 5000; // failures in a row wait longer, up to this
  const TOP = 5;
  const MAX_PRODUCTS = 40;     // stock lines kept (the top 5 and recent ones)
  const STALE_S = 3;           // "No update for N s" from this age on
  const SVGNS = 'http://www.w3.org/2000/svg';

  const CHARTS = [
    {
      name: 'rate', title: 'Requests and orders per second', unit: 'per second', step: 1,
      series: [{ key: 'requests', label: 'requests', unit: '/s' }, { key: 'orders', label: 'orders', unit: '/s' }],
    },
    {
      name: 'latency', title: 'Latency', unit: 'ms', step: 0.5,
      series: [{ key: 'p50_ms', label: 'p50', unit: ' ms' }, { key: 'p99_ms', label: 'p99', unit: ' ms' }],
    },
    {
      name: 'errors', title: 'Errors and retries per second', unit: 'per second', step: 1,
      series: [{ key: 'errors', label: 'errors (5xx)', unit: '/s' }, { key: 'retries', label: 'retries', unit: '/s' }],
    },
  ];

  const $ = (sel, el = document) => el.querySelector(sel);
  const stateEl = $('[data-state]', root);
  const announceEl = $('[data-announce]', root);
  const topList = $('[data-top]', root);
  const topEmpty = $('[data-top-empty]', root);
  for (const c of CHARTS) {
    c.fig = $(`[data-chart="${c.name}"]`, root);
    c.plot = $('[data-plot]', c.fig);
    c.svg = document.createElementNS(SVGNS, 'svg');
    c.svg.setAttribute('role', 'img');
    c.svg.setAttribute('aria-label', `${c.title}: no data yet`);
    c.svg.classList.add('plot-svg');
    c.plot.append(c.svg);
  }

  // ---- state ----------------------------------------------------------------

  let hist = [];            // [{t, requests, orders, errors, retries, p50_ms, p99_ms}], by t, the last WINDOW_S s
  const products = new Map(); // id -> {id, name, stock, sold, seen (t), points: [[t, stock]]}
  let topIds = [];
  let lastOkAt = 0;         // Date.now() of the last good answer
  let failures = 0;
  let problem = '';         // the last failure as a sentence; '' when the last request worked
  let stopped = false;      // 401/403: no more requests
  let inFlight = false;
  let timer = 0;

  // ---- formatting -------------------------------------------------------------

  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const intText = (v) => (v == null ? '–' : Math.round(v).toLocaleString('en-US'));
  const msText = (v) => (v == null ? '–' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US'));
  const valueText = (c, v) => (c.name === 'latency' ? msText(v) : intText(v));

  function tickText(v) {
    if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
    if (v >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
    if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
    return String(+v.toFixed(2));
  }

  function clock(t) {
    return `${new Date(t * 1000).toISOString().slice(11, 19)} UTC`;
  }

  // A tick step of 1, 2, 2.5 or 5 × 10^k, at least min, so that 4 steps cover max.
  function niceStep(max, min) {
    const raw = Math.max(max / 4, min);
    const p = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return Math.max(m * p, min);
    return 10 * p;
  }

  function svg(tag, attrs, text) {
    const el = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text != null) el.textContent = text;
    return el;
  }

  const r1 = (v) => Math.round(v * 10) / 10;

  // ---- the three line charts --------------------------------------------------

  function drawChart(c) {
    const w = Math.max(200, Math.floor(c.plot.clientWidth));
    const h = w < 480 ? 170 : 200;
    const m = { l: 50, r: 12, t: 12, b: 40 };
    const iw = w - m.l - m.r;
    const ih = h - m.t - m.b;
    const end = hist.length ? hist[hist.length - 1].t : Math.floor(Date.now() / 1000) - 1;
    const t0 = end - WINDOW_S + 1;

    let max = 0;
    for (const e of hist) {
      for (const s of c.series) {
        const v = num(e[s.key]);
        if (v != null && v > max) max = v;
      }
    }
    const step = niceStep(max, c.step);
    const top = step * 4;
    const x = (t) => r1(m.l + ((t - t0) / (WINDOW_S - 1)) * iw);
    const y = (v) => r1(m.t + ih - (Math.min(v, top) / top) * ih);

    const parts = [];
    // Grid and the y axis's labels.
    for (let i = 0; i <= 4; i++) {
      const v = step * i;
      parts.push(svg('line', { class: i ? 'grid' : 'axis', x1: m.l, x2: m.l + iw, y1: y(v), y2: y(v) }));
      parts.push(svg('text', { class: 'tick', x: m.l - 6, y: y(v), dy: '0.35em', 'text-anchor': 'end' }, tickText(v)));
    }
    parts.push(svg('line', { class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: m.t + ih }));
    parts.push(svg('text', { class: 'axis-title', transform: `translate(12 ${m.t + ih / 2}) rotate(-90)`, 'text-anchor': 'middle' }, c.unit));
    // The x axis: a tick a minute, "now" at the right.
    for (let k = 0; k <= 5; k++) {
      const t = end - (5 - k) * 60;
      const xt = Math.max(m.l, x(t));
      parts.push(svg('line', { class: 'axis', x1: xt, x2: xt, y1: m.t + ih, y2: m.t + ih + 4 }));
      parts.push(svg('text', {
        class: 'tick', x: xt, y: m.t + ih + 16, 'text-anchor': k === 0 ? 'start' : k === 5 ? 'end' : 'middle',
      }, k === 5 ? 'now' : `−${5 - k}`));
    }
    parts.push(svg('text', { class: 'axis-title', x: m.l + iw / 2, y: h - 4, 'text-anchor': 'middle' }, 'minutes ago'));

    // The lines: a gap (a second missing, or a latency of no requests) breaks them.
    for (const [i, s] of c.series.entries()) {
      let d = '';
      let prev = null;
      for (const e of hist) {
        const v = num(e[s.key]);
        if (v == null || e.t < t0) {
          prev = null;
          continue;
        }
        d += `${prev != null && e.t === prev + 1 ? 'L' : 'M'}${x(e.t)} ${y(v)}`;
        prev = e.t;
      }
      parts.push(svg('path', { class: `line s${i + 1}`, 'data-series': s.key, d: d || 'M0 0' }));
    }

    c.svg.setAttribute('width', w);
    c.svg.setAttribute('height', h);
    c.svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    c.svg.replaceChildren(...parts);

    // The latest second as text: next to the chart, and the chart's label.
    const last = hist[hist.length - 1];
    const said = [];
    for (const s of c.series) {
      const v = last ? num(last[s.key]) : null;
      const el = $(`[data-now="${s.key}"]`, c.fig);
      const text = valueText(c, v);
      if (el.textContent !== text) el.textContent = text;
      said.push(`${s.label} ${text}${v == null ? '' : s.unit}`);
    }
    c.svg.setAttribute('aria-label', last
      ? `${c.title} over the last 5 minutes, up to ${tickText(top)} ${c.unit}; at ${clock(last.t)}: ${said.join(', ')}`
      : `${c.title}: no data yet`);
  }

  // ---- the products selling fastest ----------------------------------------------

  function drawSpark(p, el, end) {
    const w = 160;
    const h = 36;
    // The page's own samples, over at least the last minute.
    const pts = p.points.filter(([t]) => t > end - WINDOW_S);
    const t0 = Math.min(pts.length ? pts[0][0] : end, end - 59);
    let lo = Infinity;
    let hi = -Infinity;
    for (const [, s] of pts) {
      lo = Math.min(lo, s);
      hi = Math.max(hi, s);
    }
    const span = hi - lo || 1;
    const x = (t) => r1(2 + ((t - t0) / (end - t0)) * (w - 4));
    const y = (s) => r1(hi === lo ? h / 2 : 3 + ((hi - s) / span) * (h - 6));
    let d = '';
    for (const [i, [t, s]] of pts.entries()) d += `${i ? 'L' : 'M'}${x(t)} ${y(s)}`;
    const parts = [svg('line', { class: 'grid', x1: 0, x2: w, y1: h - 1, y2: h - 1 })];
    if (d) parts.push(svg('path', { class: 'line s1', d }));
    const [lt, ls] = pts.length ? pts[pts.length - 1] : [end, p.stock];
    parts.push(svg('circle', { class: 'dot', cx: x(lt), cy: y(ls), r: 3 }));
    el.replaceChildren(...parts);
    const first = pts[0];
    el.setAttribute('aria-label', first && first[0] !== lt
      ? `Stock of ${p.name} from ${clock(first[0])}: ${intText(first[1])}, now ${intText(ls)}`
      : `Stock of ${p.name} now: ${intText(ls)}`);
  }

  function drawTop() {
    const end = hist.length ? hist[hist.length - 1].t : Math.floor(Date.now() / 1000);
    const rows = new Map([...topList.children].map((li) => [li.dataset.product, li]));
    const want = topIds.map(String);
    for (const [id, li] of rows) if (!want.includes(id)) li.remove();
    for (const [i, id] of want.entries()) {
      const p = products.get(Number(id));
      let li = rows.get(id);
      if (!li) {
        li = document.createElement('li');
        li.dataset.product = id;
        li.innerHTML = '<span class="name"><span class="pname"></span> <span class="pid"></span></span>'
          + '<span class="stock num"><span class="stock-n"></span> in stock</span>'
          + '<span class="sold num"><span class="sold-n"></span> sold in the last minute</span>';
        const spark = svg('svg', { class: 'spark', role: 'img', width: 160, height: 36, viewBox: '0 0 160 36' });
        li.append(spark);
      }
      if (topList.children[i] !== li) topList.insertBefore(li, topList.children[i] || null);
      const set = (sel, text) => {
        const el = $(sel, li);
        if (el.textContent !== text) el.textContent = text;
      };
      set('.pname', p.name);
      set('.pid', `No. ${p.id}`);
      set('.stock-n', intText(p.stock));
      set('.sold-n', intText(p.sold));
      li.classList.toggle('sold-out', p.stock === 0);
      drawSpark(p, $('svg', li), end);
    }
    topEmpty.hidden = want.length > 0;
  }

  // ---- merging an answer ------------------------------------------------------

  function merge(data) {
    if (!Array.isArray(data.history)) throw new Error('the answer has no history of the last seconds');
    const byT = new Map(hist.map((e) => [e.t, e]));
    for (const e of data.history) {
      if (e && Number.isSafeInteger(e.t)) byT.set(e.t, e);
    }
    const all = [...byT.values()].sort((a, b) => a.t - b.t);
    const end = all.length ? all[all.length - 1].t : 0;
    hist = all.filter((e) => e.t > end - WINDOW_S);

    const now = end || Math.floor(Date.now() / 1000);
    topIds = [];
    for (const tp of Array.isArray(data.top_products) ? data.top_products.slice(0, TOP) : []) {
      const id = tp && Number.isSafeInteger(tp.id) ? tp.id : null;
      const stock = tp ? num(tp.stock) : null;
      if (id == null || stock == null) continue;
      let p = products.get(id);
      if (!p) {
        p = { id, points: [] };
        products.set(id, p);
      }
      p.name = String(tp.name ?? `Product No. ${id}`);
      p.stock = stock;
      p.sold = num(tp.sold);
      p.seen = now;
      const lastPt = p.points[p.points.length - 1];
      if (lastPt && lastPt[0] === now) lastPt[1] = stock;
      else p.points.push([now, stock]);
      while (p.points.length && p.points[0][0] <= now - WINDOW_S) p.points.shift();
      topIds.push(id);
    }
    // Forget products not seen for the window, and the oldest beyond MAX_PRODUCTS.
    for (const [id, p] of products) if (p.seen <= now - WINDOW_S) products.delete(id);
    if (products.size > MAX_PRODUCTS) {
      const old = [...products.values()].filter((p) => !topIds.includes(p.id)).sort((a, b) => a.seen - b.seen);
      for (const p of old.slice(0, products.size - MAX_PRODUCTS)) products.delete(p.id);
    }
  }

  function drawAll() {
    for (const c of CHARTS) drawChart(c);
    drawTop();
  }

  // ---- the state line ---------------------------------------------------------------

  let lastSaid = 'ok';
  function showState() {
    const age = lastOkAt ? Math.floor((Date.now() - lastOkAt) / 1000) : null;
    const data = hist.length ? ` The charts show the seconds up to ${clock(hist[hist.length - 1].t)}.` : '';
    let text;
    let kind;
    if (stopped) {
      text = problem;
      kind = 'error';
    } else if (age == null) {
      text = problem ? `The status could not be loaded: ${problem} Trying again…` : 'Loading the last 5 minutes…';
      kind = problem ? 'error' : 'busy';
    } else if (age >= STALE_S || problem) {
      const why = problem || 'the last request is taking long (the server is busy).';
      text = `Last update ${age} s ago: ${why}${data}`;
      kind = problem ? 'error' : 'stale';
    } else {
      text = `Updated every second; the last complete second is ${clock(hist[hist.length - 1].t)}.`;
      kind = 'ok';
    }
    if (stateEl.textContent !== text) stateEl.textContent = text;
    stateEl.className = `live-state ${kind}`;
    // Screen readers hear only the changes of state, not every second.
    const said = kind === 'ok' || kind === 'busy' ? 'ok' : 'bad';
    if (said !== lastSaid) {
      announceEl.textContent = said === 'ok' ? 'Live updates resumed.' : `Live updates stopped. ${problem || 'The server is slow to answer.'}`;
      lastSaid = said;
    }
  }

  // ---- the request loop: one at a time ------------------------------------------------

  async function problemSentence(res) {
    let title = '';
    let detail = '';
    try {
      const p = await res.json();
      title = typeof p.title === 'string' ? p.title : '';
      detail = typeof p.detail === 'string' ? p.detail : '';
    } catch {
      // not problem+json (e.g. an HTML error page of a proxy)
    }
    let s = `the server answered ${res.status}${title ? ` (${title})` : ''}`;
    if (detail) s += `: ${detail}`;
    return /[.!?]$/.test(s) ? s : `${s}.`;
  }

  async function fetchOnce() {
    const n = lastOkAt ? Math.min(WINDOW_S, Math.max(2, Math.ceil((Date.now() - lastOkAt) / 1000) + 2)) : WINDOW_S;
    const ctl = new AbortController();
    const abort = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(`/status/?history=${n}&top=${TOP}`, {
        headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal,
      });
      if (res.status === 401 || res.status === 403) {
        stopped = true;
        problem = res.status === 401
          ? 'You are no longer signed in: sign in again as an administrator to see the live status.'
          : 'This account is not an administrator\'s: the live status is for administrators.';
        return;
      }
      if (!res.ok) throw new Error(await problemSentence(res));
      const data = await res.json();
      merge(data);
      lastOkAt = Date.now();
      failures = 0;
      problem = '';
      drawAll();
    } catch (e) {
      failures += 1;
      if (e.name === 'AbortError') problem = `the status did not answer within ${TIMEOUT_MS / 1000} s.`;
      else if (e instanceof TypeError) problem = 'the server could not be reached.';
      else problem = e.message;
    } finally {
      clearTimeout(abort);
    }
  }

  async function tick() {
    timer = 0;
    if (inFlight || stopped) return;
    if (document.hidden) { // a hidden tab asks nothing; it catches up when shown
      timer = setTimeout(tick, PERIOD_MS);
      return;
    }
    inFlight = true;
    const started = Date.now();
    try {
      await fetchOnce();
    } finally {
      inFlight = false;
      showState();
    }
    if (stopped) return;
    const wait = failures ? Math.min(MAX_BACKOFF_MS, PERIOD_MS * 2 ** (failures - 1)) : PERIOD_MS;
    timer = setTimeout(tick, Math.max(0, wait - (Date.now() - started)));
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !inFlight && timer && !stopped) {
      clearTimeout(timer);
      tick();
    }
  });

  // Redraw at the new width (the charts are drawn in pixels, so text stays its size).
  let frame = 0;
  const redraw = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      for (const c of CHARTS) drawChart(c);
    });
  };
  if (typeof ResizeObserver === 'function') new ResizeObserver(redraw).observe($('.charts', root));
  else window.addEventListener('resize', redraw);

  drawAll(); // the empty axes until the first answer
  setInterval(showState, 1000); // the age of the data, without a request
  tick();
})();
