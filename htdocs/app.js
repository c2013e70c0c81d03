// orderd pages: the same forms, sent with fetch() and updated in place.
//
// Every page works without this script: its forms are real forms (the
// server answers 303 back to the page, and SSI shows the outcome). This
// script only takes over when it runs: it sends each form's fields with
// "Accept: application/json", disables the form while the request is in
// flight, keeps the form's idempotency_key (so a repeat is one effect), turns
// problem+json into a sentence next to the form, and updates the page from
// the answer. No framework, no external resources. Everything that comes
// from the server is written as text (textContent), never parsed as markup.
'use strict';

// Before the body is parsed: CSS shows .js-only parts and hides .no-js-only ones.
document.documentElement.classList.add('js');

(() => {
  const TIMEOUT_MS = 15000;     // give up on a request after this long
  const POLL_MS = 5000;         // stock refresh on the shop and admin pages
  const PAGE_LIMIT = 200;       // the API's largest page
  const MAX_PAGES = 50;         // products: at most 10000 are followed
  const LEDGER_PAGE = 20;
  const QTY_MAX = 10000;
  const CART_KEY = 'orderd-cart';   // the cart before it moved to a cookie
  const CART_COOKIE = 'orderd_cart'; // "3:2-5:1", the server's too (/cart/)
  const CART_LINES = 50;
  const FREIGHT_KEY = 'orderd-freight';

  // ---- small helpers -------------------------------------------------------

  // h('td', {class: 'num'}, 'text', node): strings become text nodes.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c != null && c !== false) el.append(c);
    return el;
  }

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  // Integer cents -> "1234.50", with no floating point on the amount.
  function money(cents) {
    const n = Number(cents);
    if (!Number.isSafeInteger(n)) return '–';
    const a = Math.abs(n);
    return `${n < 0 ? '−' : ''}${Math.trunc(a / 100)}.${String(a % 100).padStart(2, '0')}`;
  }

  // Money as a person writes it ("12", "12.5", "12.50") into integer cents,
  // exactly as orderd's valid_money() does (no floating point): {cents} or
  // {why: a sentence}. min: 1 for an amount, 0 for a price.
  const MONEY_MAX = 1000000000000n;
  function parseMoney(s, min) {
    const v = String(s ?? '').trim();
    const m = /^([0-9]{1,15})(?:\.([0-9]{1,2}))?$/.exec(v);
    if (!m) {
      if (v === '') return { why: 'Write an amount, for example 12.50.' };
      if (/^[0-9]+\.[0-9]{3,}$/.test(v)) return { why: `At most two digits after the point: cents are the smallest amount (12.50, not ${v}).` };
      if (/^-/.test(v)) return { why: 'The amount cannot be negative.' };
      if (/^[0-9]{16,}/.test(v)) return { why: 'That is more than the most allowed, 10000000000.00.' };
      return { why: 'Write the amount as digits with at most two after a point, for example 12.50 (no commas, no signs).' };
    }
    const cents = BigInt(m[1]) * 100n + BigInt((m[2] || '0').padEnd(2, '0'));
    if (cents > MONEY_MAX) return { why: 'That is more than the most allowed, 10000000000.00.' };
    if (cents < BigInt(min)) return { why: min ? 'The amount must be at least 0.01.' : 'The price cannot be negative.' };
    return { cents: Number(cents) };
  }

  function toId(v) {
    const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  }

  // "2026-11-26T20:48:54Z" -> "2026-11-26 20:48 UTC" (as the server writes it).
  function when(iso) {
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(String(iso || ''));
    return m ? `${m[1]} ${m[2]} UTC` : String(iso || '');
  }

  function sentence(s) {
    s = String(s || '').trim();
    if (!s) return s;
    s = s[0].toUpperCase() + s.slice(1);
    return /[.!?]$/.test(s) ? s : `${s}.`;
  }

  // A fresh idempotency key: 128 random bits as hex (getRandomValues works
  // on plain http too, unlike randomUUID).
  function randomKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function cookie(name) {
    for (const part of document.cookie.split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
    }
    return '';
  }
  const csrfToken = () => cookie('orderd_csrf');

  // ---- API -----------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem, message) {
      super(message);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function api(path, { method = 'GET', body = null } = {}) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      const t = csrfToken();
      if (t) headers['X-CSRF-Token'] = t;
    }
    try {
      let res;
      try {
        res = await fetch(path, { method, headers, body, credentials: 'same-origin', signal: ctl.signal });
      } catch {
        throw new ApiError(0, null, ctl.signal.aborted
          ? 'The server did not answer in time. Nothing may have changed; please try again.'
          : 'Could not reach the server. Please check your connection and try again.');
      }
      let data = null;
      if (/json/i.test(res.headers.get('Content-Type') || '')) {
        try { data = await res.json(); } catch { data = null; }
      }
      if (res.ok) {
        if (data === null || typeof data !== 'object') {
          throw new ApiError(res.status, null, 'The server gave an unexpected answer.');
        }
        return data;
      }
      const p = data && typeof data === 'object' ? data : {};
      throw new ApiError(res.status, p, (typeof p.detail === 'string' && p.detail) ||
        (typeof p.title === 'string' && p.title) || `The server answered ${res.status}.`);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- products: names, prices and stock ------------------------------------

  const products = new Map(); // id -> product
  const productName = (id) => products.get(Number(id))?.name ?? `product No. ${id}`;

  async function loadProducts() {
    let after = null;
    const seen = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const q = new URLSearchParams({ limit: String(PAGE_LIMIT) });
      if (after != null) q.set('after', String(after));
      const data = await api(`/product/?${q}`);
      const list = Array.isArray(data.items) ? data.items : [];
      for (const p of list) {
        const id = toId(p?.id);
        if (id == null) continue;
        products.set(id, p);
        seen.push(id);
      }
      const next = toId(data.next);
      if (next == null || next === after || list.length === 0) break;
      after = next;
    }
    return seen;
  }

  // ---- the signed-in account -------------------------------------------------

  let account = null; // {id, username, role, balance} or null
  async function loadAccount() {
    if (!cookie('orderd_csrf')) return (account = null);
    try {
      account = await api('/account/');
    } catch {
      account = null;
    }
    return account;
  }
  const isAdmin = () => account?.role === 'admin';

  // ---- the cart (in this browser) ----------------------------------------------

  // The cart is the cookie orderd_cart, which the pages without JavaScript
  // change through /cart/: one cart whether the script runs or not. Parsed
  // as strictly as the server does (anything off is an empty cart).
  function cartParse(v) {
    if (!v) return [];
    const lines = [];
    for (const pair of v.split('-')) {
      const m = /^([1-9][0-9]{0,18}):([1-9][0-9]{0,4})$/.exec(pair);
      if (!m || lines.length >= CART_LINES) return [];
      const product = Number(m[1]);
      const quantity = Number(m[2]);
      if (!Number.isSafeInteger(product) || quantity > QTY_MAX || lines.some((l) => l.product === product)) return [];
      lines.push({ product, quantity });
    }
    return lines;
  }
  function cartGet() {
    return cartParse(cookie(CART_COOKIE));
  }
  function cartSet(lines) {
    const v = lines.slice(0, CART_LINES).map((l) => `${l.product}:${l.quantity}`).join('-');
    document.cookie = v
      ? `${CART_COOKIE}=${v}; Path=/; SameSite=Strict; Max-Age=${30 * 24 * 3600}`
      : `${CART_COOKIE}=; Path=/; SameSite=Strict; Max-Age=0`;
    showCartCount();
  }
  // A cart the script kept in localStorage before moves into the cookie once.
  function cartMigrate() {
    try {
      const raw = JSON.parse(localStorage.getItem(CART_KEY) || '[]');
      localStorage.removeItem(CART_KEY);
      if (!Array.isArray(raw) || !raw.length || cartGet().length) return;
      cartSet(raw.filter((l) => toId(l?.product) && Number.isSafeInteger(l.quantity) && l.quantity > 0 && l.quantity <= QTY_MAX));
    } catch { /* no storage: nothing to move */ }
  }
  function cartAdd(product, quantity) {
    const lines = cartGet();
    const l = lines.find((x) => x.product === product);
    if (l) l.quantity = Math.min(QTY_MAX, l.quantity + quantity);
    else if (lines.length >= CART_LINES) return null;
    else lines.push({ product, quantity });
    cartSet(lines);
    return lines;
  }
  const cartUnits = (lines = cartGet()) => lines.reduce((s, l) => s + l.quantity, 0);
  function showCartCount() {
    const n = cartUnits();
    for (const el of $$('[data-cart-count]')) {
      setText(el, n ? String(n) : '');
      el.setAttribute('aria-label', n ? `${n} item${n === 1 ? '' : 's'}` : '');
      if (!n) el.removeAttribute('aria-label');
    }
  }
  window.addEventListener('focus', () => showCartCount());

  function freight() {
    const learned = Number(sessionStorage.getItem(FREIGHT_KEY));
    if (Number.isSafeInteger(learned) && learned >= 0 && sessionStorage.getItem(FREIGHT_KEY) !== null) return learned;
    const meta = Number($('meta[name="orderd-freight"]')?.content);
    return Number.isSafeInteger(meta) && meta >= 0 ? meta : 1000;
  }
  function learnFreight(order) {
    if (Number.isSafeInteger(order?.freight)) {
      try { sessionStorage.setItem(FREIGHT_KEY, String(order.freight)); } catch { /* ignore */ }
    }
  }

  // ---- messages next to forms ------------------------------------------------

  // The message element of a form: its own .msg, or its order's, or a new one.
  function msgFor(form) {
    let m = form.querySelector('.msg');
    if (!m) m = form.closest('li.order')?.querySelector(':scope > .msg');
    if (!m) {
      m = h('p', { class: 'msg', role: 'status' });
      form.after(m);
    }
    return m;
  }

  // text, with an optional link after it: say(el, 'Done.', 'ok', {href, text}).
  function say(el, text, kind, link) {
    if (!el) return;
    el.classList.toggle('ok', kind === 'ok');
    el.classList.toggle('error', kind === 'error');
    el.classList.toggle('busy', kind === 'busy');
    el.replaceChildren(text);
    if (link) el.append(' ', h('a', { href: link.href }, link.text));
  }

  const STATE_WORDS = { placed: 'placed and not paid', paid: 'paid', shipped: 'shipped', aborted: 'cancelled', expired: 'expired (not paid in time)' };

  // A readable sentence (and maybe a link) for a failed request.
  function problemText(err, kind) {
    if (!(err instanceof ApiError)) return { text: String(err?.message || err) };
    const p = err.problem;
    const slug = typeof p.type === 'string' ? p.type.split('/').pop() : '';
    const here = location.pathname + location.search;
    switch (slug) {
      case 'out-of-stock': {
        const n = Number(p.available);
        return {
          text: n > 0
            ? `Only ${n} left of ${productName(p.product)}. Nothing was ordered.`
            : `${sentence(productName(p.product)).slice(0, -1)} is sold out. Nothing was ordered.`,
        };
      }
      case 'too-many-open-orders':
        return { text: `You already have ${Number.isSafeInteger(p.limit) ? p.limit : 'too many'} orders waiting to be paid from your balance, the most allowed. Pay or cancel one first; nothing was ordered.`,
          link: { href: '/orders.html', text: 'See my orders' } };
      case 'insufficient-funds':
        return {
          text: `Your balance is ${money(p.balance)}, ${money(p.shortfall)} short. Nothing was paid or sent.`,
          link: { href: '/account.html', text: 'See my account' },
        };
      case 'order-state':
        return { text: `Order ${p.order} is ${STATE_WORDS[p.state] || p.state}, so that is not possible any more.` };
      case 'unauthorized':
        if (kind === 'login') return { text: 'That user name and password do not match.' };
        return { text: 'Please sign in first.', link: { href: `/signin.html?next=${encodeURIComponent(location.pathname)}`, text: 'Sign in' } };
      case 'forbidden':
        return { text: 'Only an administrator can do that.' };
      case 'csrf':
        return { text: 'This page is out of date (you signed in or out since it was shown). Nothing was changed.', link: { href: here, text: 'Reload it' } };
      case 'username-taken':
        return { text: 'That user name is taken. Please choose another.' };
      case 'idempotency-key-reused':
        return { text: 'This form was already sent with other values. Reload the page and try again.' };
      case 'rate-limited':
        return { text: 'Too many attempts; try again in a few seconds.' };
      case 'outcome-unknown':
        return {
          text: `We could not confirm whether that went through${p.order != null ? ` (order ${p.order})` : ''}: it may or may not have happened. Sending this form again will not do it twice.`,
          link: { href: '/orders.html', text: 'See my orders' },
        };
      case 'unavailable':
        return { text: 'The shop is busy or briefly unavailable. Nothing was changed; please try again in a moment.' };
      case 'not-found':
        if (p.field === 'to') return { text: 'There is no user with that name.' };
        if (p.product != null) return { text: `There is no product No. ${p.product}.` };
        return { text: 'There is no such product, order or user.' };
      case 'invalid-field':
        if (p.field === 'to' && /yourself/.test(p.detail || '')) return { text: 'You cannot send money to yourself.' };
        return { text: `${sentence(p.detail || 'A field was not accepted')} Nothing was changed.` };
      default:
        return { text: sentence(err.message) };
    }
  }

  // ---- forms: one submit handler for all of them ----------------------------------

  // The idempotency key of a form: its hidden field (from SSI or the server's
  // fragment), or one kept on the form. It changes only after a success, so a
  // double click or a retry after a lost answer is the same request.
  function formKey(form) {
    const f = form.querySelector('input[name="idempotency_key"]');
    if (f && f.value) return f.value;
    if (!form.dataset.key) form.dataset.key = randomKey();
    return form.dataset.key;
  }
  function renewKey(form) {
    const f = form.querySelector('input[name="idempotency_key"]');
    if (f) f.value = randomKey();
    form.dataset.key = randomKey();
  }

  // The hidden fields every form rendered here carries.
  function commonFields(next) {
    return [
      h('input', { type: 'hidden', name: 'csrf_token', value: csrfToken() }),
      h('input', { type: 'hidden', name: 'idempotency_key', value: randomKey() }),
      h('input', { type: 'hidden', name: 'next', value: next }),
    ];
  }

  function setBusy(form, busy) {
    if (busy) {
      form.dataset.busy = '1';
      form.setAttribute('aria-busy', 'true');
    } else {
      delete form.dataset.busy;
      form.removeAttribute('aria-busy');
    }
    for (const b of $$('button', form)) {
      if (busy) b.disabled = true;
      else b.disabled = b.dataset.off === '1';
    }
  }

  // Per kind: how to send (path: for forms whose id is in the path) and what
  // to do with the answer (ok), and a word for "in flight".
  const kinds = {};

  document.addEventListener('submit', (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    const spec = kinds[form.dataset.kind];
    if (!spec) return;
    ev.preventDefault();
    if (form.dataset.busy) return; // a second click while the first is in flight
    send(form, spec, ev.submitter);
  });

  // The sentence next to a field (its [data-field-msg] element), or none.
  function fieldSay(input, text) {
    const el = input && $(`#${CSS.escape(input.id)}-msg`, input.form || document);
    if (input) {
      if (text) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
    if (el) setText(el, text || '');
    return !!el;
  }
  // Money fields (data-money="MIN") are checked here first: a sentence next
  // to the field, nothing sent.
  function moneyCheck(form) {
    let bad = null;
    for (const input of $$('input[data-money]', form)) {
      const r = parseMoney(input.value, Number(input.dataset.money));
      fieldSay(input, r.why || '');
      if (r.why && !bad) bad = { input, why: r.why };
    }
    return bad;
  }

  async function send(form, spec, submitter) {
    const bad = moneyCheck(form);
    if (bad) {
      say(msgFor(form), `${bad.why} Nothing was sent.`, 'error');
      bad.input.focus();
      return;
    }
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form, submitter || undefined)) {
      if (typeof v === 'string') params.append(k, v);
    }
    let url = form.getAttribute('action');
    if (spec.path) url = spec.path(params);
    const t = csrfToken();
    if (spec.signedIn !== false && t) params.set('csrf_token', t);
    if (spec.idempotent) params.set('idempotency_key', formKey(form));
    else if (!params.get('idempotency_key')) params.delete('idempotency_key');

    const msg = msgFor(form);
    setBusy(form, true);
    say(msg, spec.busy || 'Sending…', 'busy');
    for (const el of $$('[aria-invalid]', form)) el.removeAttribute('aria-invalid');
    try {
      const data = await api(url, { method: 'POST', body: params });
      renewKey(form);
      setBusy(form, false);
      await spec.ok(form, data, params, msg);
      if (msg.classList.contains('busy')) say(msg, '', null); // nothing more to say here
    } catch (err) {
      setBusy(form, false);
      if (spec.fail && spec.fail(form, err, msg) === true) return;
      const { text, link } = problemText(err, form.dataset.kind);
      say(msg, text, 'error', link);
      if (err instanceof ApiError && err.problem.field) {
        const input = form.querySelector(`[name="${CSS.escape(err.problem.field)}"]`);
        if (input) input.setAttribute('aria-invalid', 'true');
        if (input?.dataset.money != null) fieldSay(input, text);
      }
    }
  }

  // ---- product rows (the same markup as fcgi/views/html.c) -----------------------------

  function productRow(p, next) {
    const id = p.id;
    const soldOut = !(p.stock > 0);
    const qtyId = `qty-${id}`;
    const order = h('button', { type: 'submit', 'aria-describedby': `pn-${id}`, disabled: soldOut }, 'Order');
    const add = h('button', { type: 'submit', formaction: '/cart/', class: 'secondary add-cart', 'aria-describedby': `pn-${id}`, disabled: soldOut }, 'Add to cart');
    const form = h('form', { class: 'row-form', method: 'post', action: '/order/', 'data-kind': 'order' },
      h('input', { type: 'hidden', name: 'product', value: id }),
      commonFields(next),
      h('label', { for: qtyId }, 'Quantity', h('span', { class: 'vh' }, ` of ${p.name}`)),
      h('input', { id: qtyId, name: 'quantity', type: 'number', min: 1, max: QTY_MAX, step: 1, value: 1, inputmode: 'numeric', required: true }),
      order, add, h('p', { class: 'msg', role: 'status' }));
    return h('tr', { id: `product-${id}`, 'data-product': id, 'data-price': p.price, 'data-stock': p.stock, class: soldOut ? 'sold-out' : null },
      h('th', { scope: 'row' }, h('span', { class: 'pname', id: `pn-${id}` }, p.name), ' ', h('span', { class: 'pid' }, `No.\u00a0${id}`)),
      h('td', { class: 'num price', 'data-label': 'Price' }, money(p.price)),
      h('td', { class: 'num stock', 'data-label': 'In stock' }, h('span', { class: 'stock-n' }, String(p.stock)), ' ', h('span', { class: 'sold-out-note' }, 'sold out')),
      h('td', { class: 'act' }, form));
  }

  function productTable() {
    return h('table', { class: 'list products', 'data-list': 'products' },
      h('colgroup', null, h('col'), h('col', { class: 'c-price' }), h('col', { class: 'c-stock' }), h('col', { class: 'c-order' })),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col', class: 'num' }, 'Price'),
        h('th', { scope: 'col', class: 'num' }, 'In stock'), h('th', { scope: 'col' }, 'Order'))),
      h('tbody'));
  }

  // Updates a row in place: only the text that changed, nothing that moves.
  function updateRow(tr, p) {
    const soldOut = !(p.stock > 0);
    setText($('.pname', tr), String(p.name ?? ''));
    setText($('.price', tr), money(p.price));
    if (tr.dataset.stock !== String(p.stock)) {
      const cell = $('.stock', tr);
      setText($('.stock-n', tr), String(p.stock));
      if (tr.dataset.stock != null) {
        cell.classList.remove('changed');
        void cell.offsetWidth; // restart the highlight
        cell.classList.add('changed');
      }
      tr.dataset.stock = String(p.stock);
    }
    tr.classList.toggle('sold-out', soldOut);
    for (const b of $$('button', tr)) {
      b.dataset.off = soldOut ? '1' : '';
      if (!b.closest('[data-busy]')) b.disabled = soldOut;
    }
  }

  // Brings the product table of the page up to date (rows in id order).
  async function refreshProductTable() {
    const box = $('#products');
    if (!box) return;
    const ids = await loadProducts();
    let table = $('table.products', box);
    if (!table) {
      if (!ids.length) return;
      box.replaceChildren(table = productTable());
    }
    const body = $('tbody', table);
    const next = box.dataset.next || location.pathname;
    // The rows stay in ascending id. One walk over the rows already there
    // places the new ones: looking each one's place up afresh was quadratic,
    // and 5,000 products kept the browser busy for minutes.
    const rows = $$('tr[data-product]', body);
    let k = 0;
    for (const id of [...ids].sort((a, b) => a - b)) {
      const p = products.get(id);
      let tr = document.getElementById(`product-${id}`);
      if (!tr) {
        tr = productRow(p, next);
        while (k < rows.length && Number(rows[k].dataset.product) <= id) k++;
        body.insertBefore(tr, rows[k] || null);
      } else {
        updateRow(tr, p);
      }
    }
    // Every product is on the page now: the "More" link of the plain page is not needed.
    for (const more of $$('.more', box)) more.remove();
  }

  function startPolling(fn) {
    let timer = 0;
    const tick = async () => {
      clearTimeout(timer);
      if (!document.hidden) {
        try { await fn(); } catch { /* the next tick tries again */ }
      }
      timer = setTimeout(tick, POLL_MS);
    };
    document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
    timer = setTimeout(tick, POLL_MS);
  }

  // ---- order items (the same markup as fcgi/views/html.c) -------------------------------

  const STATUS_TEXT = { placed: 'Placed', paid: 'Paid', shipped: 'Shipped', aborted: 'Cancelled', expired: 'Expired' };

  // Seconds until a payment deadline -> "12 min left" (as fcgi/views/html.c writes it).
  function timeLeft(left) {
    if (left <= 0) return 'time is up';
    if (left < 60) return `${left} s left`;
    if (left < 3600) return `${Math.ceil(left / 60)} min left`;
    return `${Math.floor(left / 3600)} h ${Math.ceil((left % 3600) / 60)} min left`;
  }

  const secondsTo = (iso) => Math.floor((Date.parse(iso) - Date.now()) / 1000);

  // The payment window of a placed balance order, or the note that it expired.
  function payByNote(o) {
    if (o.status === 'expired') {
      return h('p', { class: 'pay-by expired' }, 'Not paid in time: the order expired and its items went back to stock.');
    }
    if (o.status !== 'placed' || typeof o.pay_by !== 'string') return null;
    return h('p', { class: 'pay-by', 'data-pay-by': o.pay_by }, 'Pay by ',
      h('time', { datetime: o.pay_by }, when(o.pay_by)), ' · ',
      h('span', { class: 'left' }, timeLeft(secondsTo(o.pay_by))));
  }

  // Counts down every deadline on the page; when one has passed, its Pay
  // button goes (the server would refuse the payment and expire the order).
  function tickPayBy() {
    for (const p of $$('[data-pay-by]')) {
      const left = secondsTo(p.dataset.payBy);
      const el = p.querySelector('.left');
      if (el) setText(el, timeLeft(left));
      if (left <= 0) p.closest('li.order')?.querySelector('form[data-kind="pay"]')?.remove();
    }
  }
  setInterval(tickPayBy, 1000);

  function orderForm(o, what, label, hidden, cls, next) {
    return h('form', { method: 'post', action: `/order/${o.id}/${what}/`, 'data-kind': what },
      commonFields(next),
      h('button', { type: 'submit', class: cls }, label, h('span', { class: 'vh' }, `${hidden}${o.id}`)));
  }

  function orderItem(o, next) {
    const placed = o.status === 'placed';
    const paid = o.status === 'paid';
    const cod = o.pay_method === 'cod';
    const canPay = placed && !cod && account && o.user === account.id &&
      !(typeof o.pay_by === 'string' && secondsTo(o.pay_by) <= 0);
    const canShip = isAdmin() && (paid || (placed && cod));
    const lines = Array.isArray(o.lines) ? o.lines : [];
    const actions = [];
    if (canPay) actions.push(orderForm(o, 'pay', `Pay ${money(o.total_amount)}`, ' for order ', null, next));
    if (canShip) actions.push(orderForm(o, 'ship', 'Ship', ' order ', null, next));
    if (placed || paid) actions.push(orderForm(o, 'abort', 'Cancel', ' order ', 'secondary', next));
    const meta = [h('time', { datetime: o.created_at }, when(o.created_at)), ` · ${cod ? 'Cash on delivery' : 'Balance'}`];
    if (isAdmin()) meta.push(` · user ${o.user}`);
    return h('li', {
      class: 'order', id: `order-${o.id}`, 'data-order': o.id, 'data-status': o.status,
      'data-pay-method': o.pay_method, 'data-user': o.user, 'data-total': o.total_amount,
    },
    h('div', { class: 'order-head' }, h('h3', null, `Order ${o.id}`), ' ',
      h('span', { class: `status status-${o.status}` }, STATUS_TEXT[o.status] || o.status)),
    h('p', { class: 'order-meta' }, meta),
    payByNote(o),
    h('table', { class: 'lines' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col', class: 'num' }, 'Qty'),
        h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Amount'))),
      h('tbody', null, lines.map((l) => h('tr', { 'data-product': l.product },
        h('td', { class: 'pname' }, productName(l.product)), h('td', { class: 'num' }, String(l.quantity)),
        h('td', { class: 'num' }, money(l.price)), h('td', { class: 'num' }, money(l.quantity * l.price))))),
      h('tfoot', null,
        h('tr', null, h('th', { scope: 'row', colspan: 3 }, 'Freight'), h('td', { class: 'num' }, money(o.freight))),
        h('tr', { class: 'total' }, h('th', { scope: 'row', colspan: 3 }, `Total, ${o.total_count} item${o.total_count === 1 ? '' : 's'}`),
          h('td', { class: 'num' }, money(o.total_amount))))),
    actions.length ? h('div', { class: 'order-actions' }, actions) : null,
    h('p', { class: 'msg', role: 'status', tabindex: -1 }));
  }

  // Product names in server-rendered order lines (the server knows only ids).
  function nameOrderLines(root = document) {
    for (const tr of $$('.lines tr[data-product]', root)) {
      const id = Number(tr.dataset.product);
      if (products.has(id)) setText($('.pname', tr), productName(id));
    }
  }

  // After pay, cancel or ship: the order's item is drawn again from the answer.
  function orderChanged(form, order, text) {
    const li = form.closest('li.order');
    if (li && order?.id) {
      const fresh = orderItem(order, li.closest('[data-next]')?.dataset.next || location.pathname);
      li.replaceWith(fresh);
      const m = $(':scope > .msg', fresh);
      say(m, text, 'ok');
      m.focus({ preventScroll: true });
      return;
    }
    const m = msgFor(form);
    say(m, text, 'ok');
    for (const b of $$('button', form)) { b.dataset.off = '1'; b.disabled = true; }
  }

  // ---- kinds of forms ----------------------------------------------------------

  kinds.order = {
    idempotent: true,
    busy: 'Placing the order…',
    async ok(form, o, params, msg) {
      learnFreight(o);
      const id = toId(params.get('product'));
      const q = Number(params.get('quantity') || 1);
      say(msg, `Order ${o.id} placed: ${q} × ${productName(id)}, ${money(o.total_amount)} with freight, cash on delivery.`,
        'ok', { href: `/orders.html#order-${o.id}`, text: 'See my orders' });
      try {
        const p = await api(`/product/${id}/`);
        products.set(id, p);
        const tr = form.closest('tr[data-product]');
        if (tr) updateRow(tr, p);
      } catch { /* the next refresh shows it */ }
    },
    fail(form, err) {
      // Out of stock: show the stock the server just reported.
      const p = err.problem || {};
      const tr = form.closest('tr[data-product]');
      if (tr && p.product != null && Number.isSafeInteger(p.available) && products.has(Number(p.product))) {
        const prod = { ...products.get(Number(p.product)), stock: p.available };
        products.set(prod.id, prod);
        updateRow(tr, prod);
      }
      return false;
    },
  };

  kinds.pay = {
    idempotent: true,
    busy: 'Paying…',
    async ok(form, o) {
      await loadAccount();
      const bal = account ? ` Your balance is now ${money(account.balance)}.` : '';
      orderChanged(form, o, `Order ${o.id} is paid: ${money(o.total_amount)} from your balance.${bal}`);
      showBalance();
    },
  };

  kinds.abort = {
    idempotent: true,
    busy: 'Cancelling…',
    ok(form, o) {
      orderChanged(form, o, `Order ${o.id} is cancelled; its items are back in stock${o.pay_method === 'balance' ? ', and a payment is refunded' : ''}.`);
      showBalance(true);
    },
  };

  kinds.ship = {
    idempotent: true,
    busy: 'Marking as shipped…',
    ok(form, o) { orderChanged(form, o, `Order ${o.id} is marked as shipped.`); },
  };

  kinds.login = {
    signedIn: false,
    busy: 'Signing in…',
    ok(form, data, params) {
      go(params.get('next'), 'signed-in');
    },
  };

  kinds.register = {
    signedIn: false,
    busy: 'Creating your account…',
    async ok(form, data, params, msg) {
      // Signed up: sign in with the same name and password, then go on.
      say(msg, 'Your account is ready. Signing you in…', 'busy');
      const body = new URLSearchParams({ username: params.get('username'), password: params.get('password') });
      try {
        await api('/auth/login/', { method: 'POST', body });
      } catch (err) {
        say(msg, 'Your account is ready. Please sign in with it.', 'ok');
        return;
      }
      const next = $('form[data-kind="login"] input[name="next"]')?.value || '/';
      go(next, 'signed-in');
    },
  };

  kinds.logout = {
    busy: 'Signing out…',
    ok() { go('/', 'signed-out'); },
    fail(form, err) {
      // Already signed out (or the session expired): the result is the same.
      if (err.status === 401) { go('/', 'signed-out'); return true; }
      return false;
    },
  };

  kinds.transfer = {
    idempotent: true,
    busy: 'Sending…',
    async ok(form, data, params, msg) {
      say(msg, `Sent ${money(data.amount)} to ${data.to}. Your balance is now ${money(data.from?.balance)}.`, 'ok');
      if (account && data.from) account.balance = data.from.balance;
      showBalance();
      form.reset();
      for (const hint of $$('[data-money-hint]', form)) hint.dispatchEvent(new Event('refresh'));
      loadLedger();
    },
  };

  kinds['create-product'] = {
    busy: 'Creating…',
    async ok(form, p, params, msg) {
      say(msg, `Product No. ${p.id}, “${p.name}”, is created with ${p.stock} in stock at ${money(p.price)}.`, 'ok');
      products.set(p.id, p);
      form.reset();
      try { await refreshProductTable(); } catch { /* next poll */ }
    },
  };

  kinds.restock = {
    idempotent: true,
    busy: 'Restocking…',
    path(params) {
      const id = toId(params.get('restock'));
      params.delete('restock');
      return `/product/${id}/restock/`;
    },
    async ok(form, p, params, msg) {
      products.set(p.id, p);
      say(msg, `${sentence(p.name).slice(0, -1)} (No. ${p.id}) now has ${p.stock} in stock.`, 'ok');
      const tr = document.getElementById(`product-${p.id}`);
      if (tr) updateRow(tr, p);
      form.reset();
    },
  };

  kinds.credit = {
    idempotent: true,
    busy: 'Crediting…',
    path(params) {
      const who = params.get('credit') || '';
      params.delete('credit');
      return `/account/${encodeURIComponent(who)}/credit/`;
    },
    ok(form, a, params, msg) {
      const amt = parseMoney(params.get('amount_decimal'), 1).cents;
      say(msg, `Credited ${amt != null ? money(amt) : 'the amount'} to ${a.username}; their balance is now ${money(a.balance)}.`, 'ok');
      form.reset();
      for (const hint of $$('[data-money-hint]', form)) hint.dispatchEvent(new Event('refresh'));
    },
  };

  kinds.checkout = {
    idempotent: true,
    busy: 'Placing the order…',
    async ok(form, o) {
      learnFreight(o);
      cartSet([]);
      renderCart();
      showCheckoutDone(o);
    },
    fail(form, err, msg) {
      const p = err.problem || {};
      // Point at the line: the short product, or the line a field names.
      let row = null;
      if (p.product != null) row = $(`#cart-lines tr[data-product="${Number(p.product)}"]`);
      const m = /^items\[(\d+)\]/.exec(p.field || '');
      if (!row && m) row = $$('#cart-lines tbody tr')[Number(m[1])] || null;
      if (row) {
        const input = $('input[type="number"]', row);
        input?.setAttribute('aria-invalid', 'true');
        if (p.available != null) setText($('.line-msg', row), Number(p.available) > 0 ? `Only ${p.available} left` : 'Sold out');
      }
      if (p.product != null && Number.isSafeInteger(p.available) && products.has(Number(p.product))) {
        products.set(Number(p.product), { ...products.get(Number(p.product)), stock: p.available });
        if (row) setText($('.instock', row), `${p.available} in stock`);
      }
      return false;
    },
  };

  // Navigates to a local path with ?ok=… so the page says what happened.
  function go(next, ok) {
    const path = typeof next === 'string' && /^\/(?!\/)/.test(next) ? next : '/';
    const u = new URL(path, location.origin);
    u.searchParams.set('ok', ok);
    location.assign(u.pathname + u.search);
  }

  // ---- pages ---------------------------------------------------------------------

  // Catalogue: live stock, Add to cart.
  async function shopPage() {
    document.addEventListener('click', (ev) => {
      const btn = ev.target.closest?.('button.add-cart');
      if (!btn) return;
      ev.preventDefault(); // without the script it posts to /cart/
      const tr = btn.closest('tr[data-product]');
      const form = btn.closest('form');
      const id = toId(tr?.dataset.product);
      const qtyInput = $('input[name="quantity"]', form);
      if (!id || !qtyInput) return;
      const msg = msgFor(form);
      if (!qtyInput.checkValidity()) {
        qtyInput.setAttribute('aria-invalid', 'true');
        say(msg, `Choose a quantity from 1 to ${QTY_MAX}.`, 'error');
        qtyInput.focus();
        return;
      }
      qtyInput.removeAttribute('aria-invalid');
      const q = Number(qtyInput.value);
      const lines = cartAdd(id, q);
      if (!lines) {
        say(msg, `Your cart holds at most ${CART_LINES} products. Check out or remove some first.`, 'error', { href: '/cart.html', text: 'Go to the cart' });
        return;
      }
      const inCart = lines.find((l) => l.product === id)?.quantity ?? q;
      say(msg, `Added ${q} × ${productName(id)} to your cart (${inCart} of it there now).`, 'ok', { href: '/cart.html', text: 'Go to the cart' });
    });
    await refreshProductTable();
    startPolling(refreshProductTable);
  }

  // Cart and checkout.
  let cartBox = null;

  function cartTotals(lines) {
    let items = 0;
    for (const l of lines) {
      const p = products.get(l.product);
      if (p) items += l.quantity * p.price;
    }
    return { items, freight: freight(), total: items + freight() };
  }

  function renderCart() {
    const form = $('#checkout');
    if (!form || !cartBox) return;
    const lines = cartGet();
    const submit = $('button[type="submit"]', form);
    if (!lines.length) {
      cartBox.replaceChildren(h('p', { class: 'empty' }, 'Your cart is empty. ', h('a', { href: '/' }, 'Go to the shop'), ' to add products.'));
      submit.dataset.off = '1';
      submit.disabled = true;
      updateTotals();
      return;
    }
    submit.dataset.off = '';
    if (!form.dataset.busy) submit.disabled = false;
    const rows = lines.map((l, i) => {
      const p = products.get(l.product);
      const name = p ? p.name : `Product No. ${l.product} (no longer sold)`;
      const qid = `cart-q-${l.product}`;
      const qty = h('input', {
        id: qid, name: `items[${i}][quantity]`, type: 'number', min: 1, max: QTY_MAX, step: 1,
        value: l.quantity, inputmode: 'numeric', required: true,
      });
      qty.addEventListener('input', () => {
        const v = Number(qty.value);
        if (Number.isSafeInteger(v) && v >= 1 && v <= QTY_MAX) {
          const all = cartGet();
          const it = all.find((x) => x.product === l.product);
          if (it) { it.quantity = v; cartSet(all); }
          qty.removeAttribute('aria-invalid');
          setText($('.line-msg', tr), '');
          setText($('.amount', tr), p ? money(v * p.price) : '–');
          updateTotals();
        }
      });
      const rm = h('button', { type: 'button', class: 'secondary' }, 'Remove', h('span', { class: 'vh' }, ` ${name}`));
      rm.addEventListener('click', () => {
        cartSet(cartGet().filter((x) => x.product !== l.product));
        renderCart();
        ($('#cart-lines input[type="number"]') || $('#cart-lines a') || $('h1'))?.focus();
      });
      const tr = h('tr', { 'data-product': l.product },
        h('th', { scope: 'row' }, h('span', { class: 'pname' }, name),
          h('input', { type: 'hidden', name: `items[${i}][product]`, value: l.product }),
          h('span', { class: 'instock' }, p ? `${p.stock} in stock · ${money(p.price)} each` : '')),
        h('td', { class: 'qty', 'data-label': 'Quantity' }, h('label', { for: qid, class: 'vh' }, `Quantity of ${name}`), qty,
          h('span', { class: 'line-msg', role: 'status' })),
        h('td', { class: 'num amount', 'data-label': 'Amount' }, p ? money(l.quantity * p.price) : '–'),
        h('td', { class: 'rm' }, rm));
      return tr;
    });
    cartBox.replaceChildren(h('table', { class: 'list cart-table' },
      h('caption', { class: 'vh' }, 'Products in your cart'),
      h('colgroup', null, h('col'), h('col', { class: 'c-qty' }), h('col', { class: 'c-amount' }), h('col', { class: 'c-rm' })),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col' }, 'Quantity'),
        h('th', { scope: 'col', class: 'num' }, 'Amount'), h('th', { scope: 'col' }, h('span', { class: 'vh' }, 'Remove')))),
      h('tbody', null, rows)));
    updateTotals();
  }

  function updateTotals() {
    const lines = cartGet();
    const t = cartTotals(lines);
    const dl = $('dl.totals');
    if (dl) dl.hidden = !lines.length;
    setText($('[data-total="items"]'), money(t.items));
    setText($('[data-total="freight"]'), money(t.freight));
    setText($('[data-total="total"]'), money(t.total));
    const hint = $('[data-balance-hint]');
    if (hint) {
      if (!account) {
        setText(hint, ' (sign in first)');
        hint.classList.remove('warn');
      } else {
        const short = lines.length && account.balance < t.total;
        setText(hint, ` (balance ${money(account.balance)}${short ? ': not enough for this order yet' : ''})`);
        hint.classList.toggle('warn', Boolean(short));
      }
    }
  }

  function showCheckoutDone(o) {
    const box = $('#checkout-done');
    if (!box) return;
    const units = o.total_count;
    const parts = [h('h2', { tabindex: -1 }, `Order ${o.id} is placed`),
      h('p', null, `${units} item${units === 1 ? '' : 's'}, ${money(o.total_amount)} with ${money(o.freight)} freight, `,
        o.pay_method === 'cod' ? 'paid in cash on delivery.' : 'to be paid from your balance.')];
    if (o.pay_method === 'balance' && o.status === 'placed') {
      parts.push(payByNote(o));
      parts.push(h('form', { method: 'post', action: `/order/${o.id}/pay/`, 'data-kind': 'pay' },
        commonFields('/orders.html'),
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, `Pay ${money(o.total_amount)}`, h('span', { class: 'vh' }, ` for order ${o.id}`)),
          h('a', { href: `/orders.html#order-${o.id}` }, 'Pay later in my orders')),
        h('p', { class: 'msg', role: 'status' })));
    } else {
      parts.push(h('p', null, h('a', { href: `/orders.html#order-${o.id}` }, 'See it in my orders')));
    }
    box.replaceChildren(h('div', { class: 'card confirm' }, parts));
    box.hidden = false;
    $('h2', box).focus();
  }

  async function cartPage() {
    cartBox = $('#cart-lines');
    const form = $('#checkout');
    if (!form) return;
    form.addEventListener('change', (e) => { if (e.target.name === 'pay_method') updateTotals(); });
    try {
      await Promise.all([loadProducts(), loadAccount()]);
    } catch {
      say(msgFor(form), 'The products could not be loaded just now. Please reload the page in a moment.', 'error');
    }
    renderCart();
  }

  // My orders (and the admin page's orders).
  async function ordersPage() {
    await Promise.all([loadAccount(), loadProducts().catch(() => [])]);
    nameOrderLines();
  }

  // My account: balance and ledger.
  async function showBalance(reload) {
    const el = $('[data-balance]');
    if (!el) return;
    if (reload || !account) await loadAccount();
    if (account) setText(el, money(account.balance));
    if (reload) loadLedger();
  }

  const LEDGER_WORDS = {
    credit: () => 'Credit',
    payment: (e) => [`Payment for `, h('a', { href: `/orders.html#order-${e.order}` }, `order ${e.order}`)],
    refund: (e) => [`Refund of `, h('a', { href: `/orders.html#order-${e.order}` }, `order ${e.order}`)],
    transfer_in: (e) => `From ${e.counterparty ?? 'someone'}`,
    transfer_out: (e) => `To ${e.counterparty ?? 'someone'}`,
  };

  function ledgerRow(e) {
    const what = (LEDGER_WORDS[e.kind] || (() => e.kind))(e);
    const amt = Number(e.amount);
    return h('tr', { 'data-entry': e.id },
      h('td', { 'data-label': 'When' }, h('time', { datetime: e.created_at }, when(e.created_at))),
      h('td', { class: 'wide' }, what),
      h('td', { class: `num ${amt < 0 ? 'amount-out' : 'amount-in'}`, 'data-label': 'Amount' }, `${amt > 0 ? '+' : ''}${money(amt)}`));
  }

  let ledgerGen = 0;
  async function loadLedger(after) {
    const box = $('#ledger');
    if (!box) return;
    const gen = after ? ledgerGen : ++ledgerGen;
    const q = new URLSearchParams({ limit: String(LEDGER_PAGE) });
    if (after) q.set('after', String(after));
    let data;
    try {
      data = await api(`/account/ledger/?${q}`);
    } catch (err) {
      if (!after) box.replaceChildren(h('p', { class: 'note error' }, problemText(err).text));
      return;
    }
    if (gen !== ledgerGen) return;
    const items = Array.isArray(data.items) ? data.items : [];
    let table = $('table.ledger', box);
    if (!after || !table) {
      if (!items.length) {
        box.replaceChildren(h('p', { class: 'empty' }, 'No money has come in or gone out yet.'));
        return;
      }
      table = h('table', { class: 'list ledger' },
        h('caption', { class: 'vh' }, 'Money in and out, newest first'),
        h('colgroup', null, h('col', { class: 'c-when' }), h('col'), h('col', { class: 'c-amount' })),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'What'), h('th', { scope: 'col', class: 'num' }, 'Amount'))),
        h('tbody'));
      box.replaceChildren(table);
    }
    $('tbody', table).append(...items.map(ledgerRow));
    $('.more', box)?.remove();
    const next = toId(data.next);
    if (next) {
      const btn = h('button', { type: 'button', class: 'secondary' }, 'Show older');
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        await loadLedger(next);
      });
      box.append(h('p', { class: 'more' }, btn));
    }
  }

  async function accountPage() {
    await showBalance(true);
  }

  // Admin: live stock, names in the orders.
  async function adminPage() {
    await Promise.all([loadAccount(), refreshProductTable().catch(() => {})]);
    nameOrderLines();
    startPolling(refreshProductTable);
  }

  // The amount as it will be taken ("12.5" is 12.50), live under the money
  // fields; a mistake is said next to the field when the form is sent.
  function moneyHints() {
    for (const hint of $$('[data-money-hint]')) {
      const input = document.querySelector(`[aria-describedby~="${hint.id}"]`);
      if (!input) continue;
      const show = () => {
        const r = parseMoney(input.value, Number(input.dataset.money || 0));
        setText(hint, input.value.trim() && r.cents != null ? `That is ${money(r.cents)}` : 'For example 12.50');
        if (r.cents != null) fieldSay(input, '');
      };
      input.addEventListener('input', show);
      hint.addEventListener('refresh', show);
      hint.setAttribute('aria-live', 'polite');
    }
  }

  // The outcome of a plain form post is on the page (SSI); keep it out of the
  // address, so a reload or a bookmark does not say it again.
  function tidyAddress() {
    const q = new URLSearchParams(location.search);
    if (!q.has('ok') && !q.has('error')) return;
    const keep = new URLSearchParams();
    for (const k of ['next', 'after']) if (q.has(k)) keep.set(k, q.get(k));
    const s = keep.toString();
    history.replaceState(history.state, '', location.pathname + (s ? `?${s}` : '') + location.hash);
  }

  function start() {
    // Fields only for pages without JavaScript (e.g. the one-line cart) go.
    for (const el of $$('.no-js-only')) el.remove();
    tidyAddress();
    cartMigrate();
    showCartCount();
    moneyHints();
    const pages = { shop: shopPage, cart: cartPage, orders: ordersPage, account: accountPage, admin: adminPage };
    const page = pages[document.body.dataset.page];
    if (page) page().catch(() => {});
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
