// orderd front page: lists products and recent orders from the JSON API and
// sends the page's forms with fetch(). No framework, no external resources.
//
// The forms are real HTML forms (see index.html). This script only makes them
// work in place: the same fields are sent urlencoded with
// "Accept: application/json", so the server answers JSON or problem+json
// instead of its 303 redirect. Everything from the server is written as text
// (textContent / text nodes), never parsed as markup.
'use strict';

(() => {
  const POLL_MS = 5000;        // refresh stock (and orders) this often
  const TIMEOUT_MS = 10000;    // give up on a request after this long
  const PAGE_LIMIT = 200;      // the API's largest page
  const ORDERS_LIMIT = 20;
  const MAX_PAGES = 500;       // guard against a `next` that never ends
  const OPEN_STATUSES = new Set(['placed', 'paid']);
  const KNOWN_STATUSES = new Set(['placed', 'paid', 'shipped', 'aborted']);

  // ---- small helpers -------------------------------------------------------

  // h('td', {class: 'num'}, 'text', childNode): strings become text nodes.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c != null) el.append(c);
    return el;
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  // Integer cents -> "12.50" (no float arithmetic on the amount).
  function money(cents) {
    const n = Number(cents);
    if (!Number.isSafeInteger(n)) return '–';
    const a = Math.abs(n);
    return `${n < 0 ? '-' : ''}${Math.trunc(a / 100)}.${String(a % 100).padStart(2, '0')}`;
  }

  function toId(v) {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  }

  function capitalize(s) {
    return s ? s[0].toUpperCase() + s.slice(1) : s;
  }

  // Product names seen so far (kept even if a product leaves the list, so
  // old orders can still name it).
  const names = new Map();
  const productName = (id) => names.get(Number(id)) ?? `product #${id}`;

  // ---- API -----------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem, message) {
      super(message);
      this.status = status;
      this.problem = problem;
    }
  }

  async function api(path, options = {}) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      let res;
      try {
        res = await fetch(path, {
          credentials: 'same-origin',
          ...options,
          headers: { Accept: 'application/json', ...options.headers },
          signal: ctl.signal,
        });
      } catch (e) {
        throw new ApiError(0, null, ctl.signal.aborted
          ? 'The server did not answer in time. Please try again.'
          : 'Could not reach the server. Please try again.');
      }
      let body = null;
      if (/json/i.test(res.headers.get('Content-Type') || '')) {
        try { body = await res.json(); } catch { body = null; }
      }
      if (res.ok) {
        if (body === null || typeof body !== 'object') {
          throw new ApiError(res.status, null, 'The server gave an unexpected answer.');
        }
        return body;
      }
      const problem = body && typeof body === 'object' ? body : null;
      const text = (typeof problem?.detail === 'string' && problem.detail) ||
        (typeof problem?.title === 'string' && problem.title) ||
        `The server answered ${res.status}${res.statusText ? ' ' + res.statusText : ''}.`;
      throw new ApiError(res.status, problem, text);
    } finally {
      clearTimeout(timer);
    }
  }

  // A short sentence for a failed request, from its problem+json answer.
  function problemText(err) {
    const p = err instanceof ApiError ? err.problem : null;
    const type = typeof p?.type === 'string' ? p.type : '';
    if (type.endsWith('/out-of-stock') && p.available != null && p.product != null) {
      return `Only ${p.available} left of ${productName(p.product)}`;
    }
    if (type.endsWith('/order-state') && !p.detail && p.status) {
      return `This order is already ${p.status}.`;
    }
    return err instanceof Error ? err.message : String(err);
  }

  // ---- messages ------------------------------------------------------------

  const banner = document.getElementById('banner');
  const bannerStatus = document.getElementById('banner-status');
  const bannerAlert = document.getElementById('banner-alert');
  const bannerClose = document.getElementById('banner-close');

  function showBanner(text, isError) {
    setText(isError ? bannerStatus : bannerAlert, '');
    (isError ? bannerAlert : bannerStatus).textContent = text;
    banner.classList.toggle('is-ok', !isError);
    banner.classList.toggle('is-error', isError);
    bannerClose.hidden = false;
  }

  function clearBanner() {
    bannerStatus.textContent = '';
    bannerAlert.textContent = '';
    banner.classList.remove('is-ok', 'is-error');
    bannerClose.hidden = true;
  }
  bannerClose.addEventListener('click', clearBanner);

  function say(msg, text, kind) {
    msg.classList.toggle('ok', kind === 'ok');
    msg.classList.toggle('error', kind === 'error');
    msg.textContent = text;
  }

  // Outcome of a plain form post (303 back to /?ok=… or /?error=…).
  function outcomeFromQuery(q) {
    const ok = q.get('ok');
    const error = q.get('error');
    const id = toId(q.get('id'));
    const ref = id ? ` #${id}` : '';
    if (ok) {
      const texts = {
        'order-created': `Order${ref} placed`,
        'order-aborted': `Order${ref} cancelled`,
        'product-created': `Product${ref} created`,
        'product-restocked': `Product${ref} restocked`,
      };
      return { isError: false, text: texts[ok] ?? 'Done.' };
    }
    if (error) {
      const product = toId(q.get('product'));
      const available = q.get('available');
      if (error === 'out-of-stock' && product && /^\d+$/.test(available ?? '')) {
        return { isError: true, text: `Only ${available} left of ${productName(product)}` };
      }
      const detail = q.get('detail');
      const status = q.get('status');
      return {
        isError: true,
        text: detail || `${capitalize(error.replace(/-/g, ' '))}${status ? ` (${status})` : ''}`,
      };
    }
    return null;
  }

  // ---- products --------------------------------------------------------------

  const productsSection = document.getElementById('products');
  const productsBody = productsSection.querySelector('tbody');
  const productsState = productsSection.querySelector('.list-state');
  const productRows = new Map(); // id -> {row, name, labelName, price, stock}
  let productsGen = 0;

  async function fetchAllProducts() {
    const items = [];
    let after = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const q = new URLSearchParams({ limit: String(PAGE_LIMIT) });
      if (after != null) q.set('after', String(after));
      const data = await api(`/product/?${q}`);
      const list = Array.isArray(data.items) ? data.items : [];
      items.push(...list);
      const next = toId(data.next);
      if (next == null || next === after || list.length === 0) break;
      after = next;
    }
    return items;
  }

  function makeProductRow(id) {
    const nameCell = h('th', { scope: 'row', role: 'rowheader', id: `p-${id}-name`, 'data-label': 'Name' });
    const labelName = h('span', { class: 'vh' });
    const qtyId = `p-${id}-qty`;
    const form = h('form', { method: 'post', action: '/order/', class: 'row-form', 'data-ajax': 'order' },
      h('input', { type: 'hidden', name: 'product', value: id }),
      h('label', { for: qtyId }, 'Quantity', labelName),
      h('input', {
        id: qtyId, name: 'quantity', type: 'number', min: 1, max: 10000, step: 1,
        value: 1, inputmode: 'numeric', required: true,
      }),
      h('input', { type: 'hidden', name: 'next', value: '/' }),
      h('button', { type: 'submit', 'aria-describedby': nameCell.id }, 'Order'));
    const msg = h('p', { class: 'msg', 'aria-live': 'polite', tabindex: -1 });
    const price = h('td', { role: 'cell', class: 'num', 'data-label': 'Price' });
    const stock = h('td', { role: 'cell', class: 'num', 'data-label': 'Stock' });
    const row = h('tr', { role: 'row', 'data-product': id },
      nameCell, price, stock, h('td', { role: 'cell', class: 'act', 'data-label': 'Order' }, form, msg));
    return { row, name: nameCell, labelName, price, stock };
  }

  function renderProducts(items) {
    const seen = new Set();
    let prev = null;
    for (const p of items) {
      const id = toId(p?.id);
      if (id == null || seen.has(id)) continue;
      seen.add(id);
      const name = String(p.name ?? '');
      names.set(id, name);
      let r = productRows.get(id);
      if (!r) {
        r = makeProductRow(id);
        productRows.set(id, r);
      }
      setText(r.name, name);
      setText(r.labelName, ` of ${name}`);
      setText(r.price, money(p.price));
      const stock = Number(p.stock);
      setText(r.stock, Number.isSafeInteger(stock) ? String(stock) : '–');
      r.row.classList.toggle('sold-out', stock === 0);
      // Move a row only when it is out of place, so focus and typing survive.
      const expected = prev ? prev.nextElementSibling : productsBody.firstElementChild;
      if (expected !== r.row) {
        if (prev) prev.after(r.row); else productsBody.prepend(r.row);
      }
      prev = r.row;
    }
    for (const [id, r] of productRows) {
      if (!seen.has(id)) {
        r.row.remove();
        productRows.delete(id);
      }
    }
  }

  async function refreshProducts() {
    const gen = ++productsGen;
    try {
      const items = await fetchAllProducts();
      if (gen !== productsGen) return; // a newer refresh is under way
      renderProducts(items);
      setText(productsState, items.length ? '' : 'No products yet.');
    } catch (err) {
      if (gen !== productsGen) return;
      setText(productsState, `Could not load the products: ${problemText(err)} Retrying every ${POLL_MS / 1000} s.`);
    }
  }

  // ---- orders ----------------------------------------------------------------

  const ordersSection = document.getElementById('orders');
  const ordersBody = ordersSection.querySelector('tbody');
  const ordersState = ordersSection.querySelector('.list-state');
  const orderRows = new Map(); // id -> {row, lines, linesKey, total, status, act, form, msg}
  let ordersGen = 0;

  function makeCancelForm(id, idCellId) {
    return h('form', { method: 'post', action: `/order/${id}/abort/`, class: 'row-form', 'data-ajax': 'abort' },
      h('input', { type: 'hidden', name: '_method', value: 'PUT' }),
      h('input', { type: 'hidden', name: 'next', value: '/' }),
      h('button', { type: 'submit', class: 'secondary', 'aria-describedby': idCellId }, 'Cancel'));
  }

  function makeOrderRow(id) {
    const idCell = h('th', { scope: 'row', role: 'rowheader', id: `o-${id}-id`, 'data-label': 'Order' }, `#${id}`);
    const lines = h('td', { role: 'cell', 'data-label': 'Items' });
    const total = h('td', { role: 'cell', class: 'num', 'data-label': 'Total' });
    const statusBadge = h('span', { class: 'status' });
    const status = h('td', { role: 'cell', 'data-label': 'Status' }, statusBadge);
    const msg = h('p', { class: 'msg', 'aria-live': 'polite', tabindex: -1 });
    const act = h('td', { role: 'cell', class: 'act' }, msg);
    const row = h('tr', { role: 'row', 'data-order': id }, idCell, lines, total, status, act);
    return { id, row, idCellId: idCell.id, lines, linesKey: '', total, statusBadge, act, msg, form: null };
  }

  function renderLines(r, order) {
    const list = Array.isArray(order.lines) ? order.lines : [];
    const parts = list.map((l) => [Number(l?.quantity), productName(l?.product), money(l?.price)]);
    const key = JSON.stringify(parts);
    if (key === r.linesKey) return;
    r.linesKey = key;
    const ul = h('ul', { class: 'lines' });
    for (const [qty, name, price] of parts) {
      ul.append(h('li', null, `${qty} × ${name}`, h('span', { class: 'each' }, ` at ${price}`)));
    }
    r.lines.replaceChildren(ul);
  }

  function renderOrder(r, order) {
    renderLines(r, order);
    setText(r.total, money(order.total_amount));
    const status = String(order.status ?? '');
    setText(r.statusBadge, status);
    r.statusBadge.className = KNOWN_STATUSES.has(status) ? `status status-${status}` : 'status';
    const open = OPEN_STATUSES.has(status);
    if (open && !r.form) {
      r.form = makeCancelForm(r.id, r.idCellId);
      r.act.prepend(r.form);
    } else if (!open && r.form) {
      const hadFocus = r.form.contains(document.activeElement);
      r.form.remove();
      r.form = null;
      if (hadFocus) r.msg.focus();
    }
  }

  function renderOrders(items) {
    const seen = new Set();
    let prev = null;
    for (const o of items.slice(0, ORDERS_LIMIT)) {
      const id = toId(o?.id);
      if (id == null || seen.has(id)) continue;
      seen.add(id);
      let r = orderRows.get(id);
      if (!r) {
        r = makeOrderRow(id);
        orderRows.set(id, r);
      }
      renderOrder(r, o);
      const expected = prev ? prev.nextElementSibling : ordersBody.firstElementChild;
      if (expected !== r.row) {
        if (prev) prev.after(r.row); else ordersBody.prepend(r.row);
      }
      prev = r.row;
    }
    for (const [id, r] of orderRows) {
      if (!seen.has(id)) {
        r.row.remove();
        orderRows.delete(id);
      }
    }
  }

  async function refreshOrders() {
    const gen = ++ordersGen;
    try {
      const data = await api(`/order/?limit=${ORDERS_LIMIT}`);
      if (gen !== ordersGen) return;
      const items = Array.isArray(data.items) ? data.items : [];
      renderOrders(items);
      setText(ordersState, items.length ? '' : 'No orders yet.');
    } catch (err) {
      if (gen !== ordersGen) return;
      if (err instanceof ApiError && err.status === 401) {
        renderOrders([]);
        setText(ordersState, 'Sign in to see your orders.');
      } else {
        setText(ordersState, `Could not load your orders: ${problemText(err)}`);
      }
    }
  }

  // Products first, so that order lines can be named.
  async function refreshAll() {
    await refreshProducts();
    await refreshOrders();
  }

  // ---- forms -----------------------------------------------------------------

  const busy = new WeakSet();

  function messageFor(form) {
    return form.querySelector('.msg') || form.parentElement?.querySelector('.msg');
  }

  document.addEventListener('submit', async (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.ajax) return;
    ev.preventDefault();
    if (busy.has(form)) return;

    const kind = form.dataset.ajax;
    let url = form.getAttribute('action');
    if (kind === 'abort-by-id') {
      const id = toId(form.querySelector('[data-order-id]')?.value.trim() ?? '');
      if (!id) return; // the browser's validation already explains it
      url = `/order/${id}/abort/`;
    }
    const msg = messageFor(form);
    const buttons = [...form.querySelectorAll('button')];
    busy.add(form);
    form.setAttribute('aria-busy', 'true');
    buttons.forEach((b) => { b.disabled = true; });
    if (msg) say(msg, kind === 'order' ? 'Placing order…' : 'Cancelling…', '');

    try {
      const order = await api(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8' },
        body: new URLSearchParams(new FormData(form)),
      });
      const ref = toId(order.id) ? ` #${order.id}` : '';
      if (msg) say(msg, kind === 'order' ? `Order${ref} placed` : `Order${ref} cancelled`, 'ok');
    } catch (err) {
      if (msg) say(msg, problemText(err), 'error');
    } finally {
      busy.delete(form);
      form.removeAttribute('aria-busy');
      buttons.forEach((b) => { b.disabled = false; });
    }

    await refreshAll();
    // A cancelled order loses its Cancel button: keep keyboard focus nearby.
    const active = document.activeElement;
    if (msg && (!form.isConnected || !active || active === document.body)) msg.focus();
  });

  // ---- start -----------------------------------------------------------------

  let pollTimer = 0;
  function schedulePoll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, POLL_MS);
  }
  async function poll() {
    clearTimeout(pollTimer);
    if (!document.hidden) await refreshAll();
    schedulePoll();
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) poll();
  });

  async function start() {
    document.getElementById('cancel-by-id').hidden = false;
    productsSection.hidden = false;
    ordersSection.hidden = false;
    setText(productsState, 'Loading products…');
    setText(ordersState, 'Loading orders…');

    const query = new URLSearchParams(location.search);
    await refreshProducts(); // so an out-of-stock outcome can name the product
    const outcome = outcomeFromQuery(query);
    if (outcome) {
      showBanner(outcome.text, outcome.isError);
      // Drop the outcome from the address, so a reload does not repeat it.
      history.replaceState(history.state, '', location.pathname + location.hash);
    }
    await refreshOrders();
    schedulePoll();
  }

  start();
})();
