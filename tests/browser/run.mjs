// orderd's pages in a real browser: Debian's headless Chromium, driven by
// playwright-core (never a downloaded browser).
//
// Environment (set by `./stack test`):
//   ORDERD_URL          the stack, e.g. http://127.0.0.1:18080 (default http://127.0.0.1:8080)
//   ORDERD_ADMIN_TOKEN  an administrator's bearer token (fixtures: products, credits)
//   ORDERD_TEST_OUT     output directory; one PNG per test goes to $ORDERD_TEST_OUT/browser/
//   ORDERD_BIN + ORDERD_DB_*  `orderd admin --promote NAME` promotes the admin page's test user
//   ORDERD_PIDFILE      the pool's pid file (the promotion tells the pool at once)
//   ORDERD_CHROMIUM     the browser (default /usr/bin/chromium)
//   ORDERD_BROWSER_ONLY a substring: run only the tests whose name contains it
//
// Speaks TAP (what `make check`'s tap-driver.sh reads): the plan "1..N", then
// "ok K - name" or "not ok K - name" with "# why" under it, last the comment
// "# N passed, M failed"; exits 1 when a test failed, 2 ("Bail out!") when
// the browser could not start.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const BASE = (process.env.ORDERD_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const ADMIN_TOKEN = process.env.ORDERD_ADMIN_TOKEN || '';
const OUT = join(process.env.ORDERD_TEST_OUT || 'var/test-out', 'browser');
const CHROMIUM = process.env.ORDERD_CHROMIUM || '/usr/bin/chromium';
const ONLY = process.env.ORDERD_BROWSER_ONLY || '';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'correct horse battery';
const RUN = `${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const STEP_MS = 10000; // the longest a single page step may take

mkdirSync(OUT, { recursive: true });

// ---- the API from node (bearer tokens: no cookies, no CSRF) -------------------

async function api(method, path, { token, form } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(BASE + path, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    // Sign-in and registration are rate limited per address: wait and retry.
    if (res.status === 429 && attempt < 10) {
      await sleep(600);
      continue;
    }
    let data = null;
    try { data = JSON.parse(text); } catch { data = text; }
    return { status: res.status, data };
  }
}

async function apiOk(method, path, opts, want = [200, 201]) {
  const r = await api(method, path, opts);
  if (!want.includes(r.status)) {
    throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.data).slice(0, 200)}`);
  }
  return r.data;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let userSeq = 0;
function userName(tag) {
  userSeq += 1;
  return `b${RUN}${tag}${userSeq}`.slice(0, 32);
}

async function newUser(tag, credit = 0) {
  const name = userName(tag);
  await apiOk('POST', '/auth/register/', { form: { username: name, password: PASSWORD } });
  const login = await apiOk('POST', '/auth/login/', { form: { username: name, password: PASSWORD } });
  if (credit > 0) await apiOk('POST', `/account/${name}/credit/`, { token: ADMIN_TOKEN, form: { amount: String(credit) } });
  return { name, token: login.token, csrf: login.csrf_token, id: login.user.id };
}

// `orderd admin --promote NAME`: the user becomes an administrator and its
// sessions are revoked, so it signs in again; the user with its new token.
async function promote(user) {
  const args = ['admin', '--promote'];
  if (process.env.ORDERD_PIDFILE) args.push('--pidfile', process.env.ORDERD_PIDFILE);
  args.push(user.name);
  await promisify(execFile)(process.env.ORDERD_BIN, args, { env: process.env, timeout: 20000 });
  const login = await apiOk('POST', '/auth/login/', { form: { username: user.name, password: PASSWORD } });
  return { ...user, token: login.token, csrf: login.csrf_token };
}

async function newProduct(label, price, stock) {
  return apiOk('POST', '/product/', { token: ADMIN_TOKEN, form: { name: `${label} ${RUN}`, price: String(price), stock: String(stock) } });
}

const stockOf = async (id) => (await apiOk('GET', `/product/${id}/`)).stock;
const balanceOf = async (user) => (await apiOk('GET', '/account/', { token: user.token })).balance;
const ordersOf = async (user) => (await apiOk('GET', '/order/?limit=200', { token: user.token })).items;

function money(cents) {
  const a = Math.abs(cents);
  return `${cents < 0 ? '−' : ''}${Math.trunc(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

function expect(cond, why) {
  if (!cond) throw new Error(why);
}

function expectEq(got, want, what) {
  if (got !== want) throw new Error(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

// ---- the browser ----------------------------------------------------------------

let browser;

// A fresh browser context (its own cookies and storage), optionally signed in
// as user by handing it the session cookies the login answer set.
async function newContext({ user, js = true, viewport = DESKTOP } = {}) {
  const ctx = await browser.newContext({ viewport, javaScriptEnabled: js, baseURL: BASE });
  ctx.setDefaultTimeout(STEP_MS);
  if (user) {
    await ctx.addCookies([
      { name: 'orderd_session', value: user.token, url: BASE, httpOnly: true, sameSite: 'Strict' },
      { name: 'orderd_csrf', value: user.csrf, url: BASE, sameSite: 'Strict' },
    ]);
  }
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  // (A 4xx answer the page turns into a message is logged as a failed load: not an error.)
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) page.errors.push(m.text());
  });
  return { ctx, page };
}

// The page must not scroll sideways.
async function noSideScroll(page, what) {
  const { sw, w } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: window.innerWidth }));
  expect(sw <= w, `${what}: the page is ${sw}px wide in a ${w}px window (scrolls sideways)`);
}

// A screenshot: the whole page when it is not too tall (the list pages grow
// with every suite that ran before), else the window, scrolled to focus.
async function snap(page, file, focus) {
  const tall = await page.evaluate(() => document.documentElement.scrollHeight).catch(() => 1e9);
  if (tall > 6000 && focus) await focus.scrollIntoViewIfNeeded({ timeout: 2000 }).catch(() => {});
  await page.screenshot({ path: join(OUT, file), fullPage: tall <= 6000 });
}

const row = (page, productId) => page.locator(`#product-${productId}`);

// Without JavaScript a page shows one page of products: follow "More
// products" until the row is there (test products are the newest, last).
async function findRow(page, productId) {
  for (let hops = 0; hops < 200; hops++) {
    if (await row(page, productId).count()) return row(page, productId);
    const more = page.getByRole('link', { name: 'More products' });
    if (!(await more.count())) break;
    await more.click();
  }
  throw new Error(`product ${productId} is on no page of the list`);
}
const stockCell = (page, productId) => row(page, productId).locator('.stock-n');

async function expectText(locator, re, what) {
  try {
    await locator.filter({ hasText: re }).first().waitFor({ state: 'visible' });
  } catch {
    const got = (await locator.first().textContent().catch(() => null)) ?? '(nothing)';
    throw new Error(`${what}: expected ${re}, found ${JSON.stringify(got.trim().slice(0, 200))}`);
  }
}

// ---- the tests --------------------------------------------------------------------

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('register, sign in, order a product and see its stock drop', async (shot) => {
  const product = await newProduct('Blue mug', 1500, 5);
  const name = userName('reg');
  const { page } = await newContext();
  shot.page = page;

  // Register through the form: the script signs the new user in and goes on.
  await page.goto('/signin.html');
  await page.getByLabel('Choose a user name').fill(name);
  await page.getByLabel('Choose a password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL((u) => u.pathname === '/' );
  await expectText(page.locator('.who'), new RegExp(`Signed in as ${name}`), 'header after registering');

  // Sign out, then sign in through the sign-in form.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expectText(page.locator('.outcome'), /signed out/, 'after signing out');
  await expectText(page.locator('.who'), /Sign in/, 'header after signing out');
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('User name', { exact: true }).fill(name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectText(page.locator('.outcome'), /You are signed in/, 'after signing in');
  await expectText(page.locator('.who'), new RegExp(`Signed in as ${name}`), 'header after signing in');

  // Order 2 of 5: the stock on the page drops to 3 without a reload.
  await expectText(stockCell(page, product.id), /^5$/, 'stock before ordering');
  const r = row(page, product.id);
  shot.focus = r;
  await r.getByLabel(/Quantity/).fill('2');
  await r.getByRole('button', { name: 'Order' }).click();
  await expectText(r.locator('.msg'), /Order \d+ placed: 2 × Blue mug/, 'message next to the order form');
  await expectText(stockCell(page, product.id), /^3$/, 'stock after ordering');
  expectEq(await stockOf(product.id), 3, 'stock in the API');

  // Live: a restock elsewhere shows up without a reload.
  await apiOk('POST', `/product/${product.id}/restock/`, { token: ADMIN_TOKEN, form: { quantity: '4' } });
  await stockCell(page, product.id).filter({ hasText: /^7$/ }).waitFor({ timeout: 12000 })
    .catch(() => { throw new Error('the stock did not refresh by itself to 7 after a restock'); });
  expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
});

test('double-click Cancel on an order: one cancel, stock restored once', async (shot) => {
  const product = await newProduct('Green mug', 1200, 6);
  const user = await newUser('dbl');
  const order = await apiOk('POST', '/order/', { token: user.token, form: { product: String(product.id), quantity: '2' } });
  expectEq(await stockOf(product.id), 4, 'stock after ordering');

  const { page } = await newContext({ user });
  shot.page = page;
  let aborts = 0;
  page.on('request', (req) => { if (req.method() === 'POST' && req.url().includes(`/order/${order.id}/abort`)) aborts += 1; });
  await page.goto('/orders.html');
  const item = page.locator(`#order-${order.id}`);
  shot.focus = item;
  await expectText(item.locator('.lines'), /Green mug/, 'product name in the order lines');
  await item.getByRole('button', { name: `Cancel order ${order.id}` }).dblclick();
  await expectText(page.locator(`#order-${order.id} .status`), /Cancelled/, 'status after cancelling');
  await expectText(page.locator(`#order-${order.id} > .msg`), /is cancelled/, 'message after cancelling');
  await sleep(500); // a second cancel, had it been sent, would have landed by now
  expectEq(await stockOf(product.id), 6, 'stock after the double click (restored once)');
  const o = await apiOk('GET', `/order/${order.id}/`, { token: user.token });
  expectEq(o.status, 'aborted', 'order status in the API');
  expect(aborts === 1, `the double click sent ${aborts} cancel requests (the button should be disabled in flight)`);
  expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
});

// Shared by the two checkout tests.
const shop = {};

test('checkout with one short line names the short product and changes nothing', async (shot) => {
  shop.a = await newProduct('Teapot', 2500, 5);
  shop.b = await newProduct('Blue mug', 1500, 1);
  shop.user = await newUser('cart', 20000);
  const { page } = await newContext({ user: shop.user });
  shot.page = page;
  shop.page = page;

  await page.goto('/');
  const ra = row(page, shop.a.id);
  await ra.getByLabel(/Quantity/).fill('2');
  await ra.getByRole('button', { name: 'Add to cart' }).click();
  await expectText(ra.locator('.msg'), /Added 2 × Teapot/, 'message after adding to the cart');
  const rb = row(page, shop.b.id);
  await rb.getByLabel(/Quantity/).fill('3');
  await rb.getByRole('button', { name: 'Add to cart' }).click();
  await expectText(page.locator('[data-cart-count]'), /^5$/, 'cart count in the header');

  await page.getByRole('link', { name: /Cart/ }).click();
  await page.waitForURL('**/cart.html');
  const items = 2 * 2500 + 3 * 1500;
  await expectText(page.locator('[data-total="items"]'), new RegExp(`^${money(items)}$`), 'items total');
  await expectText(page.locator('[data-total="freight"]'), /^10\.00$/, 'freight');
  await expectText(page.locator('[data-total="total"]'), new RegExp(`^${money(items + 1000)}$`), 'total with freight');
  await page.getByLabel('From my balance').check();
  await page.getByRole('button', { name: 'Place order' }).click();
  await expectText(page.locator('#checkout > .msg'), /Only 1 left of Blue mug/, 'message next to the checkout form');
  await expectText(page.locator(`#cart-lines tr[data-product="${shop.b.id}"] .line-msg`), /Only 1 left/, 'the short line');
  expectEq(await page.locator(`#cart-lines tr[data-product="${shop.b.id}"] input[type="number"]`).getAttribute('aria-invalid'), 'true', 'short line marked invalid');

  expectEq(await stockOf(shop.a.id), 5, 'stock of the line that fits');
  expectEq(await stockOf(shop.b.id), 1, 'stock of the short line');
  expectEq((await ordersOf(shop.user)).length, 0, 'orders of the user');
  expectEq(await balanceOf(shop.user), 20000, 'balance');
  expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
});

test('a checkout that fits, then Pay: the balance and the ledger show it', async (shot) => {
  expect(shop.page, 'needs the previous test');
  const page = shop.page;
  shot.page = page;
  const qty = page.locator(`#cart-lines tr[data-product="${shop.b.id}"] input[type="number"]`);
  await qty.fill('1');
  const total = 2 * 2500 + 1500 + 1000;
  await expectText(page.locator('[data-total="total"]'), new RegExp(`^${money(total)}$`), 'total after lowering the quantity');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expectText(page.locator('#checkout-done'), /Order \d+ is placed/, 'confirmation');
  await expectText(page.locator('#checkout-done .pay-by'), /Pay by \d{4}-\d\d-\d\d \d\d:\d\d UTC · \d+ min left/, 'time left to pay');
  const orders = await ordersOf(shop.user);
  expectEq(orders.length, 1, 'orders after the checkout');
  const order = orders[0];
  expectEq(order.total_amount, total, 'order total');
  expectEq(order.status, 'placed', 'status before paying');
  await page.locator('#checkout-done').getByRole('button', { name: `Pay ${money(total)} for order ${order.id}` }).click();
  await expectText(page.locator('#checkout-done .msg'), new RegExp(`Order ${order.id} is paid`), 'message after paying');
  expectEq(await stockOf(shop.a.id), 3, 'stock of the teapot');
  expectEq(await stockOf(shop.b.id), 0, 'stock of the mug');
  expectEq(await balanceOf(shop.user), 20000 - total, 'balance after paying');
  expectEq((await page.locator('[data-cart-count]').textContent()).trim(), '', 'cart count after the checkout');

  await page.getByRole('link', { name: 'My account' }).click();
  await expectText(page.locator('[data-balance]'), new RegExp(`^${money(20000 - total)}$`), 'balance on the account page');
  const entry = page.locator('#ledger tbody tr').first();
  await expectText(entry, new RegExp(`Payment for order ${order.id}`), 'newest ledger entry');
  await expectText(entry, new RegExp(`${money(-total)}`), 'amount of the payment');
  await expectText(page.locator('#ledger tbody tr').nth(1), /Credit.*\+200\.00/, 'the credit before it');
  expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
});

test('a transfer to another user', async (shot) => {
  const from = await newUser('from', 5000);
  const to = await newUser('to');
  const { page } = await newContext({ user: from });
  shot.page = page;
  await page.goto('/account.html');
  await expectText(page.locator('[data-balance]'), /^50\.00$/, 'balance before');
  await page.getByLabel('To (user name)').fill(to.name);
  await page.getByLabel('Amount', { exact: true }).fill('12.34');
  await expectText(page.locator('#tr-amount-hint'), /That is 12\.34/, 'amount hint');
  await page.getByRole('button', { name: 'Send money' }).click();
  await expectText(page.locator('form[data-kind="transfer"] .msg'), new RegExp(`Sent 12\\.34 to ${to.name}`), 'message after sending');
  await expectText(page.locator('[data-balance]'), /^37\.66$/, 'balance after');
  await expectText(page.locator('#ledger tbody tr').first(), new RegExp(`To ${to.name}.*−12\\.34`), 'ledger entry');
  expectEq(await balanceOf(from), 3766, 'sender balance in the API');
  expectEq(await balanceOf(to), 1234, 'receiver balance in the API');

  // Sending to oneself is refused with a readable message; nothing moves.
  await page.getByLabel('To (user name)').fill(from.name);
  await page.getByLabel('Amount', { exact: true }).fill('1');
  await page.getByRole('button', { name: 'Send money' }).click();
  await expectText(page.locator('form[data-kind="transfer"] .msg'), /cannot send money to yourself/, 'message for a transfer to oneself');
  expectEq(await balanceOf(from), 3766, 'sender balance after the refused transfer');
  expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
});

test('order and cancel with JavaScript disabled', async (shot) => {
  const product = await newProduct('Plain jug', 900, 4);
  const user = await newUser('nojs', 5000);
  const { page } = await newContext({ js: false, viewport: PHONE });
  shot.page = page;

  // Sign in through the plain form.
  await page.goto('/signin.html?next=/');
  await page.getByLabel('User name', { exact: true }).fill(user.name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('ok') === 'signed-in');
  await expectText(page.locator('.who'), new RegExp(`Signed in as ${user.name}`), 'header after signing in');

  // Too many: the server's answer comes back as a sentence naming the product.
  let r = await findRow(page, product.id);
  await r.getByLabel(/Quantity/).fill('9');
  await r.getByRole('button', { name: 'Order' }).click();
  await page.waitForURL((u) => u.searchParams.get('error') === 'out-of-stock');
  await expectText(page.locator('.outcome.error'), /Only 4 left of Plain jug/, 'out-of-stock outcome');
  expectEq(await stockOf(product.id), 4, 'stock after the refused order');

  // Order 3 (the answer comes back to the same page of the list).
  r = await findRow(page, product.id);
  await r.getByLabel(/Quantity/).fill('3');
  await r.getByRole('button', { name: 'Order' }).click();
  await page.waitForURL((u) => u.searchParams.get('ok') === 'order-created');
  const id = Number(new URL(page.url()).searchParams.get('id'));
  await expectText(page.locator('.outcome.ok'), new RegExp(`Order ${id} is placed`), 'order outcome');
  await expectText(stockCell(page, product.id), /^1$/, 'stock on the page after ordering');
  expectEq(await stockOf(product.id), 1, 'stock in the API after ordering');

  // Cancel it from my orders, with a double click: without JavaScript the
  // browser may send the form twice, with the same idempotency_key.
  let aborts = 0;
  page.on('request', (req) => { if (req.method() === 'POST' && req.url().includes(`/order/${id}/abort`)) aborts += 1; });
  await page.locator('.outcome.ok').getByRole('link', { name: 'See it in your orders' }).click();
  await page.locator(`#order-${id}`).getByRole('button', { name: `Cancel order ${id}` }).dblclick();
  await page.waitForURL((u) => u.pathname === '/orders.html' && u.searchParams.get('ok') === 'order-aborted');
  await expectText(page.locator('.outcome.ok'), new RegExp(`Order ${id} is cancelled`), 'cancel outcome');
  await expectText(page.locator(`#order-${id} .status`), /Cancelled/, 'status after cancelling');
  expectEq(await page.locator(`#order-${id}`).getByRole('button', { name: /Cancel/ }).count(), 0, 'Cancel buttons left on the cancelled order');
  expectEq(await stockOf(product.id), 4, `stock after cancelling (${aborts} cancel request(s) sent)`);

  // Cancelling again (the browser's back button and the same form) changes nothing.
  await page.goBack();
  await page.locator(`#order-${id}`).getByRole('button', { name: `Cancel order ${id}` }).click();
  await page.waitForURL((u) => u.pathname === '/orders.html' && (u.searchParams.has('ok') || u.searchParams.has('error')));
  expectEq(await stockOf(product.id), 4, 'stock after sending the cancel form again');
  await noSideScroll(page, 'my orders without JavaScript, phone width');

  // Check out one product from the balance, then pay it from the offer on the cart page.
  await page.goto('/');
  r = await findRow(page, product.id);
  await r.getByLabel(/Quantity/).fill('2');
  await r.getByRole('button', { name: 'Add to cart' }).click();
  await page.waitForURL((u) => u.searchParams.get('ok') === 'cart-added');
  await page.goto('/cart.html');
  await page.getByLabel('From my balance').check();
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL((u) => u.pathname === '/cart.html' && u.searchParams.get('ok') === 'order-created');
  const cid = Number(new URL(page.url()).searchParams.get('id'));
  await expectText(page.locator('.outcome.ok'), new RegExp(`Order ${cid} is placed`), 'checkout outcome');
  await page.getByRole('button', { name: `Pay 28.00 for order ${cid}` }).click();
  await page.waitForURL((u) => u.pathname === '/orders.html' && u.searchParams.get('ok') === 'order-paid');
  await expectText(page.locator('.outcome.ok'), new RegExp(`Order ${cid} is paid`), 'pay outcome');
  await expectText(page.locator(`#order-${cid} .status`), /Paid/, 'status after paying');
  expectEq(await balanceOf(user), 2200, 'balance after paying');
  await page.getByRole('link', { name: 'My account' }).click();
  await expectText(page.locator('[data-balance]'), /^22\.00$/, 'balance on the account page');
});

test('the admin page without JavaScript: create, restock and credit through confirmations', async (shot) => {
  const bin = process.env.ORDERD_BIN;
  expect(bin, 'ORDERD_BIN is not set (needed to make the test user an administrator)');
  const admin = await promote(await newUser('anojs'));
  const customer = await newUser('cnojs');
  const { page } = await newContext({ js: false });
  shot.page = page;
  await page.goto('/signin.html?next=/admin.html');
  await page.getByLabel('User name', { exact: true }).fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/admin.html' && u.searchParams.get('ok') === 'signed-in');

  const name = `Plain kettle ${RUN}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Price', { exact: true }).fill('19.99');
  await page.getByLabel('Stock', { exact: true }).fill('3');
  await page.getByRole('button', { name: 'Create product' }).click();
  await page.waitForURL((u) => u.searchParams.get('ok') === 'product-created');
  const id = Number(new URL(page.url()).searchParams.get('id'));
  await expectText(page.locator('.outcome.ok'), new RegExp(`Product No. ${id} is created`), 'create outcome');
  await expectText((await findRow(page, id)).locator('.stock-n'), /^3$/, 'the new product in the table');

  await page.getByLabel('Product number').fill(String(id));
  await page.getByLabel('Quantity to add').fill('4');
  await page.getByRole('button', { name: 'Restock' }).click();
  const confirm = page.locator('#restock-confirm');
  await expectText(confirm, new RegExp(`Add 4 to the stock of\\s+${name}`), 'restock confirmation');
  await confirm.getByRole('button', { name: 'Restock' }).click();
  await page.waitForURL((u) => u.searchParams.get('ok') === 'product-restocked');
  await expectText((await findRow(page, id)).locator('.stock-n'), /^7$/, 'stock after restocking');
  expectEq(await stockOf(id), 7, 'stock in the API');

  await page.getByLabel('User name', { exact: true }).fill(customer.name);
  await page.getByLabel('Amount', { exact: true }).fill('10.5');
  await page.getByRole('button', { name: 'Credit' }).click();
  const cc = page.locator('#credit-confirm');
  await expectText(cc, new RegExp(`Credit 10\\.50 to the account of\\s+${customer.name}`), 'credit confirmation');
  await cc.getByRole('button', { name: 'Credit' }).click();
  await page.waitForURL((u) => u.searchParams.get('ok') === 'account-credited');
  await expectText(page.locator('.outcome.ok'), /credited/, 'credit outcome');
  expectEq(await balanceOf(customer), 1050, 'customer balance');
});

test('the admin page creates and restocks a product, credits and ships', async (shot) => {
  const bin = process.env.ORDERD_BIN;
  expect(bin, 'ORDERD_BIN is not set (needed to make the test user an administrator)');
  const admin = await promote(await newUser('adm'));
  const customer = await newUser('cust');
  const { page } = await newContext();
  shot.page = page;

  await page.goto('/signin.html?next=/admin.html');
  await page.getByLabel('User name', { exact: true }).fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/admin.html?ok=signed-in');
  await expect(await page.getByRole('heading', { name: 'Create a product' }).isVisible(), 'the admin forms are not shown');

  // Create.
  const name = `Admin kettle ${RUN}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Price', { exact: true }).fill('45.99');
  await page.getByLabel('Stock', { exact: true }).fill('7');
  await page.getByRole('button', { name: 'Create product' }).click();
  const created = page.locator('form[data-kind="create-product"] .msg');
  await expectText(created, /Product No\. \d+, “Admin kettle .*”, is created with 7 in stock at 45\.99/, 'message after creating');
  const id = Number(/No\. (\d+)/.exec(await created.textContent())[1]);
  shot.focus = row(page, id);
  await expectText(stockCell(page, id), /^7$/, 'the new product in the table');
  const p = await apiOk('GET', `/product/${id}/`);
  expectEq(p.name, name, 'name in the API');
  expectEq(p.price, 4599, 'price in the API');

  // Restock.
  await page.getByLabel('Product number').fill(String(id));
  await page.getByLabel('Quantity to add').fill('5');
  await page.getByRole('button', { name: 'Restock' }).click();
  await expectText(page.locator('form[data-kind="restock"] .msg'), /now has 12 in stock/, 'message after restocking');
  await expectText(stockCell(page, id), /^12$/, 'stock in the table after restocking');
  expectEq(await stockOf(id), 12, 'stock in the API after restocking');

  // Credit a customer.
  await page.getByLabel('User name', { exact: true }).fill(customer.name);
  await page.getByLabel('Amount', { exact: true }).fill('25');
  await page.getByRole('button', { name: 'Credit' }).click();
  await expectText(page.locator('form[data-kind="credit"] .msg'), new RegExp(`Credited 25\\.00 to ${customer.name}`), 'message after crediting');
  expectEq(await balanceOf(customer), 2500, 'customer balance');

  // Ship the customer's cash-on-delivery order.
  const order = await apiOk('POST', '/order/', { token: customer.token, form: { product: String(id), quantity: '1' } });
  await page.reload();
  shot.focus = page.locator(`#order-${order.id}`);
  await page.locator(`#order-${order.id}`).getByRole('button', { name: `Ship order ${order.id}` }).click();
  await expectText(page.locator(`#order-${order.id} .status`), /Shipped/, 'status after shipping');
  expectEq((await apiOk('GET', `/order/${order.id}/`, { token: customer.token })).status, 'shipped', 'status in the API');
  expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
});

test('keyboard only: sign in and order with Tab and Enter, focus visible', async (shot) => {
  const product = await newProduct('Keyboard cup', 700, 3);
  const user = await newUser('kbd');
  const { page } = await newContext();
  shot.page = page;
  await page.goto('/signin.html');
  await page.getByLabel('User name', { exact: true }).focus();
  await page.keyboard.type(user.name);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await expectText(page.locator('.who'), new RegExp(`Signed in as ${user.name}`), 'header after signing in');

  const qty = row(page, product.id).getByLabel(/Quantity/);
  shot.focus = row(page, product.id);
  await qty.focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('2');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    const cs = getComputedStyle(el);
    return { text: el.textContent, outline: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
  });
  expectEq(focused.text, 'Order', 'focus after Tab from the quantity');
  expect(focused.outline !== 'none' && focused.width >= 2, `no visible focus on the Order button (${focused.outline} ${focused.width}px)`);
  await page.keyboard.press('Enter');
  await expectText(row(page, product.id).locator('.msg'), /Order \d+ placed: 2 × Keyboard cup/, 'message after ordering');
  expectEq(await stockOf(product.id), 1, 'stock in the API');
});

// An administrator's browser: the suites' admin token as its session cookie,
// with the CSRF cookie the page asks the API for.
async function adminContext(opts = {}) {
  expect(ADMIN_TOKEN, 'ORDERD_ADMIN_TOKEN is not set');
  const { ctx, page } = await newContext(opts);
  await ctx.addCookies([{ name: 'orderd_session', value: ADMIN_TOKEN, url: BASE, httpOnly: true, sameSite: 'Strict' }]);
  const r = await ctx.request.get(`${BASE}/account/`, { headers: { Accept: 'application/json' } });
  const acct = await r.json();
  expect(acct.role === 'admin' && acct.csrf_token, `the admin token's account: ${JSON.stringify(acct).slice(0, 200)}`);
  await ctx.addCookies([{ name: 'orderd_csrf', value: acct.csrf_token, url: BASE, sameSite: 'Strict' }]);
  return { ctx, page, csrf: acct.csrf_token };
}

test('a link cannot set up a credit: admin.html?credit=USER&amount=N shows no confirmation', async (shot) => {
  const customer = await newUser('lnk');
  const product = await newProduct('Linked kettle', 1000, 2);
  const links = [
    `/admin.html?credit=${customer.name}&amount_decimal=1000`,
    `/admin.html?credit=${customer.name}&amount_decimal=1000&restock=${product.id}&quantity=500`,
    // a token that is not this browser's
    `/admin.html?credit=${customer.name}&amount_decimal=1000&csrf_token=${'A'.repeat(43)}`,
  ];
  for (const js of [false, true]) {
    const { ctx, page } = await adminContext({ js });
    for (const link of links) {
      await page.goto(link);
      const what = `${link} (JavaScript ${js ? 'on' : 'off'})`;
      expect(await page.getByRole('heading', { name: 'Credit an account' }).isVisible(), `${what}: the admin forms are not shown`);
      expectEq(await page.locator('#credit-confirm').count(), 0, `${what}: credit confirmations`);
      expectEq(await page.locator('#restock-confirm').count(), 0, `${what}: restock confirmations`);
      expectEq(await page.getByRole('button', { name: 'Credit' }).count(), 1, `${what}: Credit buttons (only the empty form's)`);
      expectEq(await page.getByLabel('User name', { exact: true }).inputValue(), '', `${what}: the credit form's user name`);
      expectEq(await page.getByLabel('Amount', { exact: true }).inputValue(), '', `${what}: the credit form's amount`);
      expect(page.errors.length === 0, `${what}: script errors: ${page.errors.join('; ')}`);
    }
    if (js) shot.page = page; else await ctx.close();
  }
  expectEq(await balanceOf(customer), 0, 'the customer balance');
  expectEq(await stockOf(product.id), 2, 'the product stock');
});

test('an unknown address shows the site\'s 404 page with a way home', async (shot) => {
  for (const js of [true, false]) {
    const { ctx, page } = await newContext({ js });
    const res = await page.goto(`/no-such-page-${RUN}/here`);
    expectEq(res.status(), 404, 'status of an unknown address');
    expectEq(await page.title(), 'Page not found · orderd', 'title');
    await expectText(page.getByRole('heading', { level: 1 }), /Page not found/, 'heading');
    // The site's stylesheet applies (the header bar has the site's colours).
    const styled = await page.evaluate(() => {
      const h = document.querySelector('header.site');
      return !!h && getComputedStyle(h).backgroundColor !== 'rgba(0, 0, 0, 0)';
    });
    expect(styled, 'the site stylesheet does not apply to the 404 page');
    expect(await page.getByRole('navigation', { name: 'Main' }).isVisible(), 'no site navigation');
    await noSideScroll(page, 'the 404 page');
    expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
    if (js) {
      shot.page = page;
      await snap(page, 'not-found.png');
      await page.getByRole('link', { name: 'Back to the shop' }).click();
      await page.waitForURL((u) => u.pathname === '/');
      await expectText(page.getByRole('heading', { level: 1 }), /Shop/, 'the shop after the way home');
    } else {
      await ctx.close();
    }
  }
});

test('every page fits phone (390×844) and desktop (1280×800) widths', async (shot) => {
  const bin = process.env.ORDERD_BIN;
  let user = await newUser('wide', 10000);
  if (bin) user = await promote(user);
  const product = await newProduct('A product with a rather long name to see how it wraps on a phone', 123456, 42);
  await apiOk('POST', '/order/', { token: user.token, form: { product: String(product.id), quantity: '2' } });
  const pages = ['/', '/cart.html', '/orders.html', '/account.html', '/signin.html', '/admin.html'];
  const problems = [];
  for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    const { ctx, page } = await newContext({ user, viewport });
    await page.goto('/');
    await page.evaluate((id) => localStorage.setItem('orderd-cart', JSON.stringify([{ product: id, quantity: 3 }, { product: 1, quantity: 1 }])), product.id);
    for (const path of pages) {
      await page.goto(path);
      await page.waitForLoadState('networkidle').catch(() => {});
      try {
        await noSideScroll(page, `${path} at ${label} width`);
      } catch (e) {
        problems.push(e.message);
      }
      const file = `widths-${label}-${path === '/' ? 'shop' : path.slice(1, -5)}.png`;
      await snap(page, file);
      if (page.errors.length) problems.push(`${path}: script errors: ${page.errors.join('; ')}`);
    }
    if (label === 'phone') shot.page = null;
    await ctx.close();
  }
  expect(problems.length === 0, problems.join('; '));
});

// ---- cart and money (shop) ----

// The cart cookie of a context, to hand to another (JavaScript on / off).
async function copyCart(from, to) {
  const c = (await from.cookies(BASE)).filter((x) => x.name === 'orderd_cart');
  if (c.length) await to.addCookies(c.map((x) => ({ name: x.name, value: x.value, url: BASE, sameSite: 'Strict' })));
  else await to.clearCookies({ name: 'orderd_cart' });
}

test('without JavaScript, a cart of 3 products checks out as one order naming all 3', async (shot) => {
  const ps = [await newProduct('Nojs teapot', 2500, 9), await newProduct('Nojs cup', 450, 9), await newProduct('Nojs <b>saucer</b> & "tray"', 325, 9)];
  const user = await newUser('ncart', 20000);
  const { page } = await newContext({ user, js: false, viewport: PHONE });
  shot.page = page;
  for (const [i, p] of ps.entries()) {
    await page.goto('/');
    const r = await findRow(page, p.id);
    await r.getByLabel(/Quantity/).fill(String(i + 1));
    await r.getByRole('button', { name: 'Add to cart' }).click();
    await page.waitForURL((u) => u.searchParams.get('ok') === 'cart-added');
    await expectText(page.locator('.outcome.ok'), /is in your cart/, `outcome after adding ${p.name}`);
  }
  await page.goto('/cart.html');
  const lines = page.locator('#cart-nojs tbody tr');
  expectEq(await lines.count(), 3, 'lines in the cart without JavaScript');
  for (const p of ps) await expectText(page.locator(`#cart-nojs tr[data-product="${p.id}"] .pname`), new RegExp(p.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'a line names its product');
  // Change a quantity with the line's own form.
  await page.getByLabel(`Quantity of ${ps[0].name}`).fill('2');
  await page.locator(`#cart-nojs tr[data-product="${ps[0].id}"]`).getByRole('button', { name: /Update/ }).click();
  await page.waitForURL((u) => u.searchParams.get('ok') === 'cart-updated');
  const items = 2 * 2500 + 2 * 450 + 3 * 325;
  await expectText(page.locator('#cart-nojs .totals .grand dd'), new RegExp(money(items + 1000).replace('.', '\\.')), 'total with freight');
  await page.getByLabel('Cash on delivery').check();
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL((u) => u.pathname === '/cart.html' && u.searchParams.get('ok') === 'order-created');
  const id = Number(new URL(page.url()).searchParams.get('id'));
  await expectText(page.locator('#cart-nojs'), /Your cart is empty/, 'the cart after the checkout');
  const orders = await ordersOf(user);
  expectEq(orders.length, 1, 'orders of the user (one order for the whole cart)');
  expectEq(orders[0].id, id, 'the order the outcome names');
  expectEq(orders[0].lines.map((l) => `${l.product}x${l.quantity}`).sort().join(' '),
    [`${ps[0].id}x2`, `${ps[1].id}x2`, `${ps[2].id}x3`].sort().join(' '), 'lines of the order');
  await page.goto('/orders.html');
  for (const p of ps) await expectText(page.locator(`#order-${id} .lines`), new RegExp(p.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'my orders name the product');
  expectEq(await page.locator(`#order-${id} .lines`).getByText('Product No.').count(), 0, 'lines that say "Product No."');
  await noSideScroll(page, 'the cart without JavaScript, phone width');
});

test('with JavaScript on and off the cart is one cart (the cookie)', async (shot) => {
  const a = await newProduct('Both jug', 700, 9);
  const b = await newProduct('Both bowl', 300, 9);
  const user = await newUser('bcart', 5000);
  const on = await newContext({ user });
  const off = await newContext({ user, js: false });
  shot.page = on.page;
  await on.page.goto('/');
  await row(on.page, a.id).getByRole('button', { name: 'Add to cart' }).click();
  await expectText(row(on.page, a.id).locator('.msg'), /Added 1 × Both jug/, 'added with JavaScript');
  await copyCart(on.ctx, off.ctx);
  await off.page.goto('/cart.html');
  await expectText(off.page.locator(`#cart-nojs tr[data-product="${a.id}"] .pname`), /Both jug/, 'the JavaScript cart without JavaScript');
  await off.page.goto('/');
  const rb = await findRow(off.page, b.id);
  await rb.getByLabel(/Quantity/).fill('2');
  await rb.getByRole('button', { name: 'Add to cart' }).click();
  await off.page.waitForURL((u) => u.searchParams.get('ok') === 'cart-added');
  await copyCart(off.ctx, on.ctx);
  await on.page.goto('/cart.html');
  await expectText(on.page.locator(`#cart-lines tr[data-product="${b.id}"]`), /Both bowl/, 'the no-JavaScript line with JavaScript');
  await expectText(on.page.locator('[data-total="items"]'), /^13\.00$/, 'items total of both lines');
  await on.page.getByLabel('Cash on delivery').check();
  await on.page.getByRole('button', { name: 'Place order' }).click();
  await expectText(on.page.locator('#checkout-done'), /Order \d+/, 'checkout with JavaScript');
  expectEq((await on.ctx.cookies(BASE)).filter((c) => c.name === 'orderd_cart' && c.value).length, 0, 'cart cookies left after the checkout');
  expectEq((await ordersOf(user))[0].lines.length, 2, 'lines of the order');
  await off.ctx.close();
  expect(on.page.errors.length === 0, `script errors: ${on.page.errors.join('; ')}`);
});

for (const js of [true, false]) {
  test(`a transfer of 12.5 moves 1250 cents and 12.505 is refused next to the field (JavaScript ${js ? 'on' : 'off'})`, async (shot) => {
    const from = await newUser('m', 5000);
    const to = await newUser('mto');
    const { page } = await newContext({ user: from, js });
    shot.page = page;
    await page.goto('/account.html');
    let posts = 0;
    page.on('request', (req) => { if (req.method() === 'POST' && req.url().includes('/transfer')) posts += 1; });
    await page.getByLabel('To (user name)').fill(to.name);
    await page.getByLabel('Amount', { exact: true }).fill('12.505');
    await page.getByRole('button', { name: 'Send money' }).click();
    if (!js) await page.waitForURL((u) => u.searchParams.get('error') === 'invalid-field');
    await expectText(page.locator('#tr-amount-msg'), /two digits after the point|at most two after a point/, 'sentence next to the amount');
    if (js) expectEq(posts, 0, 'requests sent for 12.505');
    expectEq(await balanceOf(from), 5000, 'balance after 12.505');
    await page.getByLabel('To (user name)').fill(to.name);
    await page.getByLabel('Amount', { exact: true }).fill('12.5');
    await page.getByRole('button', { name: 'Send money' }).click();
    if (js) await expectText(page.locator('form[data-kind="transfer"] .msg'), new RegExp(`Sent 12\\.50 to ${to.name}`), 'message after sending');
    else await page.waitForURL((u) => u.searchParams.get('ok') === 'transferred');
    await expectText(page.locator('[data-balance]'), /^37\.50$/, 'balance on the page');
    expectEq(await balanceOf(from), 3750, 'sender balance');
    expectEq(await balanceOf(to), 1250, 'receiver balance: 12.5 is 1250 cents');
    expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
  });

  test(`admin credit and price in decimals (JavaScript ${js ? 'on' : 'off'})`, async (shot) => {
    const customer = await newUser('mc');
    const { page } = await adminContext({ js });
    shot.page = page;
    await page.goto('/admin.html');
    const name = `Decimal kettle ${js ? 'js' : 'nojs'} ${RUN}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Price', { exact: true }).fill('12.5');
    await page.getByLabel('Stock', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Create product' }).click();
    if (js) await expectText(page.locator('form[data-kind="create-product"] .msg'), /at 12\.50/, 'message after creating');
    else await page.waitForURL((u) => u.searchParams.get('ok') === 'product-created');
    const list = await apiOk('GET', '/product/?limit=200&after=0');
    let p = null;
    for (let after = 0, n = 0; !p && n < 100; n++) {
      const pg = await apiOk('GET', `/product/?limit=200&after=${after}`);
      p = pg.items.find((x) => x.name === name) || null;
      if (pg.next == null) break;
      after = pg.next;
    }
    expect(list && p, `product ${name} not found`);
    expectEq(p.price, 1250, 'price of 12.5 in cents');
    await page.getByLabel('User name', { exact: true }).fill(customer.name);
    await page.getByLabel('Amount', { exact: true }).fill('1,2');
    await page.getByRole('button', { name: 'Credit' }).click();
    await expectText(page.locator('#cr-amount-msg'), /at most two after a point|digits and a point/, 'sentence next to the credit amount');
    expectEq(await page.locator('#credit-confirm').count(), 0, 'confirmations of 1,2');
    await page.getByLabel('User name', { exact: true }).fill(customer.name);
    await page.getByLabel('Amount', { exact: true }).fill('7.5');
    await page.getByRole('button', { name: 'Credit' }).click();
    if (js) {
      await expectText(page.locator('form[data-kind="credit"] .msg'), new RegExp(`Credited 7\\.50 to ${customer.name}`), 'message after crediting');
    } else {
      const cc = page.locator('#credit-confirm');
      await expectText(cc, new RegExp(`Credit 7\\.50 to the account of\\s+${customer.name}`), 'credit confirmation');
      await cc.getByRole('button', { name: 'Credit' }).click();
      await page.waitForURL((u) => u.searchParams.get('ok') === 'account-credited');
    }
    expectEq(await balanceOf(customer), 750, 'credit of 7.5 in cents');
    expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
  });
}

// ---- accessibility and rate limits (guard) ----

// nginx's rate limit on sign-in and registration (5 a second, bursts of 20,
// per address) answers 429: wrong sign-ins from node keep it exhausted
// (8 at a time) until stop(), so a browser's submission in between is one
// too many; ready resolves at the first 429 they get.
function exhaustSignIns() {
  const body = new URLSearchParams({ username: `nobody${RUN}`, password: 'wrong password here' }).toString();
  const one = () => fetch(`${BASE}/auth/login/`, {
    method: 'POST', body, redirect: 'manual',
    headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
  }).then((r) => r.status).catch(() => 0);
  let stopped = false;
  let limited;
  const ready = new Promise((resolve) => { limited = resolve; });
  const done = (async () => {
    const t0 = Date.now();
    while (!stopped && Date.now() - t0 < 60000) {
      const codes = await Promise.all(Array.from({ length: 8 }, one));
      if (codes.includes(429)) limited(true);
    }
    limited(false);
  })();
  return { ready, stop: () => { stopped = true; return done; } };
}

// Submits signin.html's sign-in form (wrong password) while nginx limits
// it; how: 'click' (a person; with JavaScript app.js sends it), or 'submit'
// (form.submit(): a plain form post even with JavaScript on). The answer of
// a post that navigated (null after a click that app.js handled).
async function submitTooFast(page, how) {
  for (let attempt = 0; attempt < 6; attempt++) {
    await page.goto('/signin.html');
    const form = page.locator('form[data-kind="login"]');
    await form.getByLabel('User name', { exact: true }).fill(`nobody${RUN}`);
    await form.getByLabel('Password', { exact: true }).fill('wrong password here');
    const load = exhaustSignIns();
    try {
      expect(await load.ready, '60 s of wrong sign-ins from node never got a 429');
      if (how === 'submit') {
        const [res] = await Promise.all([page.waitForNavigation(), form.evaluate((f) => f.submit())]);
        if (res.status() === 429) return res;
        continue;
      }
      const nav = page.waitForNavigation({ timeout: 3000 }).catch(() => null);
      await form.getByRole('button', { name: 'Sign in' }).click();
      const res = await nav;
      if (!res) {
        const msg = (await form.locator('.msg').textContent()) || '';
        if (/Too many attempts/.test(msg)) return null;
        continue;
      }
      if (res.status() === 429) return res;
    } finally {
      await load.stop();
    }
  }
  throw new Error('six tries: the sign-in form was never rate limited');
}

const RATE_SENTENCE = /^Too many attempts; try again in a few seconds\.$/;

test('a sign-in submitted too fast: the sign-in page says "Too many attempts" (JavaScript off and on)', async (shot) => {
  try {
    // JavaScript off: the form post answers with the sign-in page itself, status 429.
    {
      const { ctx, page } = await newContext({ js: false, viewport: PHONE });
      const res = await submitTooFast(page, 'click');
      expect(res, 'no page came back from the form post');
      expectEq(res.status(), 429, 'status of the rate-limited form post');
      expectEq(await page.title(), 'Sign in · orderd', 'title of the page that came back');
      await expectText(page.locator('.outcome[role="alert"]'), RATE_SENTENCE, 'the outcome on the sign-in page');
      expect(await page.getByRole('navigation', { name: 'Main' }).isVisible(), 'no site navigation on the 429 page');
      expect(await page.getByRole('button', { name: 'Sign in' }).isVisible(), 'no sign-in form to try again');
      await noSideScroll(page, 'the 429 sign-in page');
      await snap(page, 'rate-limited-nojs.png');
      await ctx.close();
    }
    // JavaScript on: app.js gets the problem+json and says the same next to the form.
    const { page } = await newContext();
    shot.page = page;
    const res = await submitTooFast(page, 'click');
    expectEq(res, null, 'app.js should have sent the form itself (the page navigated)');
    await expectText(page.locator('form[data-kind="login"] .msg[role="status"]'), RATE_SENTENCE, 'the message next to the sign-in form');
    expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
  } finally {
    await sleep(5000); // the later tests sign in again
  }
});

// Every page of htdocs axe-core checks. One line a page: name, how to open
// it (a path, or a function given the page that returns the answer), and
// admin: true for a page whose signed-in state is an administrator's.
const A11Y_PAGES = [
  { name: 'shop', path: '/' },
  { name: 'cart', path: '/cart.html' },
  { name: 'orders', path: '/orders.html' },
  { name: 'account', path: '/account.html' },
  { name: 'signin', path: '/signin.html' },
  { name: 'admin', path: '/admin.html', admin: true },
  { name: 'live', path: '/live.html', admin: true },
  { name: '404', path: `/no-such-page-${RUN}/here` },
  { name: '429 sign-in', open: (page) => submitTooFast(page, 'submit') },
];

let axeSource;
async function axeViolations(page) {
  if (!axeSource) {
    const { createRequire } = await import('node:module');
    const { readFileSync } = await import('node:fs');
    axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  }
  // page.evaluate is not bound by the page's CSP (no inline script allowed).
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

test('axe-core: every page at both widths, signed out and in, JavaScript on and off: 0 violations', async () => {
  const product = await newProduct('Axe teapot', 2500, 50);
  const user = await newUser('axe', 20000);
  const other = await newUser('axo');
  await apiOk('POST', '/checkout/', { token: user.token, form: { 'items[0][product]': String(product.id), 'items[0][quantity]': '2', pay_method: 'balance' } });
  await apiOk('POST', '/order/', { token: user.token, form: { product: String(product.id), quantity: '1' } });
  await apiOk('POST', '/transfer/', { token: user.token, form: { to: other.name, amount: '150' } });
  const admin = process.env.ORDERD_BIN ? await promote(await newUser('axa')) : null;
  const found = [];
  let checked = 0;
  for (const [width, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    for (const js of [true, false]) {
      for (const who of ['signed out', 'user', 'admin']) {
        const signedIn = who === 'user' ? user : who === 'admin' ? (admin || { token: ADMIN_TOKEN, csrf: '' }) : null;
        const pages = A11Y_PAGES.filter((p) => who !== 'admin' || p.admin);
        const { ctx, page } = await newContext({ user: signedIn, viewport });
        // JavaScript off: app.js (the pages' only script; CSP allows no
        // inline one) is not loaded, so nothing runs but axe itself.
        if (!js) await page.route('**/app.js*', (r) => r.abort());
        // A cart of one line, in the cookie both paths read (the no-JS
        // cart page renders it on the server, app.js in the browser).
        await ctx.addCookies([{ name: 'orderd_cart', value: `${product.id}:3`, url: BASE, sameSite: 'Strict' }]);
        for (const p of pages) {
          const state = `${width}, ${who}, JavaScript ${js ? 'on' : 'off'}`;
          try {
            const res = p.open ? await p.open(page) : await page.goto(p.path);
            if (p.open) expectEq(res.status(), 429, `${p.name} status`);
            if (js) await page.waitForLoadState('networkidle').catch(() => {});
            for (const v of await axeViolations(page)) {
              for (const t of v.targets) found.push(`${p.name} (${state}): ${v.id} [${v.impact}] at ${t}`);
            }
            checked += 1;
          } catch (e) {
            found.push(`${p.name} (${state}): could not check: ${String(e.message).split('\n')[0]}`);
          }
        }
        await ctx.close();
      }
    }
  }
  await sleep(5000); // the 429 pages: let later tests sign in again
  if (found.length) {
    const e = new Error(`${found.length} axe violations on ${checked} page checks`);
    e.lines = found;
    throw e;
  }
});

// ---- live page (live) ----

// n orders of one unit each of the product by the user, `parallel` at a
// time, spread over about `seconds` s (so that several seconds count them).
async function placeOrders(user, productId, n, seconds, parallel = 5) {
  let next = 0;
  const t0 = Date.now();
  const one = async () => {
    while (next < n) {
      const due = t0 + (next * seconds * 1000) / n;
      next += 1;
      if (due > Date.now()) await sleep(due - Date.now());
      await apiOk('POST', '/order/', { token: user.token, form: { product: String(productId), quantity: '1' } });
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
}

// Resolves to true once the Live page's latest value of key (data-now) is
// above 0, false when it never was within ms (watched in the page).
const liveAbove0 = (page, key, ms) => page.waitForFunction((k) => {
  const v = Number((document.querySelector(`[data-now="${k}"]`)?.textContent || '').replace(/,/g, ''));
  return Number.isFinite(v) && v > 0;
}, key, { timeout: ms, polling: 100 }).then(() => true, () => false);

const liveState = (page) => page.locator('[data-state]');

async function liveUp(page) {
  await page.goto('/live.html');
  await expectText(liveState(page), /^Updated every second/, 'the state line once /status/ answered');
}

test('the Live page moves while orders are placed: requests/s, orders/s, the top product and its stock', async (shot) => {
  const product = await newProduct('Live kettle', 900, 1000);
  const user = await newUser('live');
  const { page } = await adminContext();
  shot.page = page;
  await liveUp(page);
  const ordersLine = page.locator('[data-chart="rate"] path[data-series="orders"]');
  const before = await ordersLine.getAttribute('d');
  // The page's own request each second is a request.
  expect(await liveAbove0(page, 'requests', 8000), 'the latest requests/s stayed at 0 (or –)');

  // 50 orders over 2 s: the orders/s value rises, the product is among the
  // products selling fastest with its stock.
  const sawOrders = liveAbove0(page, 'orders', 20000);
  await placeOrders(user, product.id, 50, 2);
  expect(await sawOrders, 'the latest orders/s stayed at 0 (or –) while 50 orders were placed');
  const item = page.locator(`[data-top] li[data-product="${product.id}"]`);
  shot.focus = item;
  await expectText(item.locator('.pname'), new RegExp(`^Live kettle ${RUN}$`), 'the product in "Selling fastest"');
  await expectText(item.locator('.stock-n'), /^950$/, 'its stock after 50 orders');

  // 50 more: the stock on the page drops again, by itself.
  await placeOrders(user, product.id, 50, 2);
  await expectText(item.locator('.stock-n'), /^900$/, 'its stock after 100 orders');
  expect(/now:? 900$/.test(await item.locator('svg').getAttribute('aria-label')),
    `the stock line's label: ${await item.locator('svg').getAttribute('aria-label')}`);
  const after = await ordersLine.getAttribute('d');
  expect(after !== before, 'the orders line did not change');
  const height = await ordersLine.evaluate((p) => p.getBBox().height);
  expect(height > 0, 'the orders line is flat after 100 orders');
  const label = await page.locator('[data-chart="rate"] svg').getAttribute('aria-label');
  expect(/requests \d[\d,]*\/s, orders \d[\d,]*\/s$/.test(label), `the chart's label gives no latest values: ${label}`);
  expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
});

test('the Live page shows no data to a non-administrator or to someone signed out', async (shot) => {
  const user = await newUser('lnon');
  for (const who of ['a signed-in non-administrator', 'someone signed out']) {
    const { ctx, page } = await newContext(who.startsWith('a signed-in') ? { user } : {});
    const asked = [];
    page.on('request', (req) => { if (new URL(req.url()).pathname.startsWith('/status')) asked.push(req.url()); });
    await page.goto('/live.html');
    await expectText(page.locator('main .note'), /This page is for administrators/, `${who}: the sentence`);
    expectEq(await page.locator('[data-live], main svg, [data-now], [data-top]').count(), 0, `${who}: charts or values on the page`);
    expectEq(await page.getByRole('link', { name: 'Live', exact: true }).count(), 0, `${who}: a Live link in the navigation`);
    await sleep(2500);
    expectEq(asked.length, 0, `${who}: requests to /status/ (${asked.join(', ')})`);
    expect(page.errors.length === 0, `${who}: script errors: ${page.errors.join('; ')}`);
    if (who === 'someone signed out') shot.page = page; else await ctx.close();
  }

  // An administrator: "Live" next to "Admin" in the navigation, marked as the
  // current page on the Live page; without JavaScript a sentence and /status/.
  const { ctx, page } = await adminContext({ js: false });
  const nav = page.getByRole('navigation', { name: 'Main' });
  await page.goto('/admin.html');
  expectEq(await nav.getByRole('link', { name: 'Live', exact: true }).getAttribute('aria-current'), null, 'Live link on the admin page: aria-current');
  await page.goto('/live.html');
  expectEq(await nav.getByRole('link', { name: 'Live', exact: true }).getAttribute('aria-current'), 'page', 'Live link on the Live page: aria-current');
  expectEq(await nav.getByRole('link', { name: 'Admin', exact: true }).getAttribute('aria-current'), null, 'Admin link on the Live page: aria-current');
  await expectText(page.locator('main .note'), /need JavaScript/, 'the Live page without JavaScript');
  expect(await page.locator('main .note a[href="/status/"]').isVisible(), 'no link to /status/ without JavaScript');
  await ctx.close();
});

// GET path from node with the given source address to the stack's port on 127.0.0.1.
async function requestFrom(localAddress, path, headers = {}) {
  const http = await import('node:http');
  const port = new URL(BASE).port || '80';
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path, method: 'GET', localAddress, timeout: STEP_MS,
      headers: { Accept: 'application/json', ...headers },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        let data = null;
        try { data = JSON.parse(body); } catch { data = body; }
        resolve({ status: res.statusCode, type: String(res.headers['content-type'] || ''), data });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${path} from ${localAddress}: no answer within ${STEP_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

test('/status/ is refused to a non-administrator from another address, given to an administrator', async () => {
  const user = await newUser('lst');
  const path = '/status/?history=5&top=5';
  const spoof = { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1', Forwarded: 'for=127.0.0.1' };
  const refused = [
    ['signed out', {}, 401],
    ['signed out, claiming 127.0.0.1 in headers', spoof, 401],
    ['a non-administrator\'s bearer token', { Authorization: `Bearer ${user.token}` }, 403],
    ['a non-administrator\'s session cookie', { Cookie: `orderd_session=${user.token}` }, 403],
  ];
  for (const [who, headers, want] of refused) {
    const r = await requestFrom('127.0.0.2', path, headers);
    expectEq(r.status, want, `${who} from 127.0.0.2: status`);
    expect(r.type.startsWith('application/problem+json'), `${who} from 127.0.0.2: ${r.type}, not problem+json`);
    expectEq(r.data && r.data.status, want, `${who} from 127.0.0.2: the problem's status`);
    expect(!JSON.stringify(r.data).includes('"history"'), `${who} from 127.0.0.2: the answer has the history`);
  }
  const given = [
    ['an administrator\'s bearer token', '127.0.0.2', { Authorization: `Bearer ${ADMIN_TOKEN}` }],
    ['an administrator\'s session cookie', '127.0.0.2', { Cookie: `orderd_session=${ADMIN_TOKEN}` }],
  ];
  // (orderd --status-local off, ORDERD_STATUS_LOCAL=off, takes that away.)
  if (process.env.ORDERD_STATUS_LOCAL !== 'off') given.push(['signed out, from the machine itself', '127.0.0.1', {}]);
  for (const [who, from, headers] of given) {
    const r = await requestFrom(from, path, headers);
    expectEq(r.status, 200, `${who} from ${from}: status (${JSON.stringify(r.data).slice(0, 200)})`);
    expect(r.type.startsWith('application/json'), `${who} from ${from}: ${r.type}`);
    expect(Array.isArray(r.data.history) && Array.isArray(r.data.top_products), `${who} from ${from}: no history or top_products`);
  }
});

test('the Live page under a slow or failing /status/: the last charts stay, their age is said, one request at a time', async (shot) => {
  const { page } = await adminContext({ viewport: PHONE });
  shot.page = page;
  let inFlight = 0;
  let most = 0;
  const isStatus = (req) => new URL(req.url()).pathname === '/status/';
  let sent = 0;
  page.on('request', (req) => { if (isStatus(req)) { sent += 1; most = Math.max(most, ++inFlight); } });
  const done = (req) => { if (isStatus(req)) inFlight -= 1; };
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  let mode = 'pass';
  await page.route('**/status/**', async (route) => {
    if (mode === 'slow') await sleep(6000); // longer than the page waits
    if (mode === 'fail' || mode === 'gone') {
      const problem = mode === 'fail'
        ? { type: '/problems/unavailable', title: 'Service unavailable', status: 503, detail: 'the order service is not reachable; try again shortly' }
        : { type: '/problems/unauthorized', title: 'Sign-in required', status: 401, detail: 'sign in first' };
      await route.fulfill({ status: problem.status, contentType: 'application/problem+json', body: JSON.stringify(problem) }).catch(() => {});
    } else {
      await route.continue().catch(() => {}); // (the page may have given up on it)
    }
  });
  await liveUp(page);
  const line = page.locator('[data-chart="rate"] path[data-series="requests"]');
  const drawn = await line.getAttribute('d');
  expect(/L/.test(drawn), `the requests line is not drawn: ${drawn}`);

  mode = 'slow';
  await expectText(liveState(page), /^Last update \d+ s ago: /, 'the state line while /status/ is slow');
  await liveState(page).filter({ hasText: /did not answer within \d+ s/ }).waitFor({ timeout: 15000 })
    .catch(() => { throw new Error('the page did not say that /status/ did not answer in time'); });
  expectEq(await line.getAttribute('d'), drawn, 'the requests line while /status/ is slow (kept)');

  mode = 'fail';
  await liveState(page).filter({ hasText: /^Last update \d+ s ago: the server answered 503 \(Service unavailable\)/ }).waitFor({ timeout: 15000 })
    .catch(() => { throw new Error('the page did not say that /status/ answered 503'); });
  expectEq(await line.getAttribute('d'), drawn, 'the requests line while /status/ fails (kept)');
  expect(/^Live updates stopped\./.test(await page.locator('[data-announce]').textContent()), 'a screen reader does not hear that the updates stopped');
  expect(most === 1, `${most} requests to /status/ were in flight at once`);

  mode = 'pass';
  await liveState(page).filter({ hasText: /^Updated every second/ }).waitFor({ timeout: 15000 })
    .catch(() => { throw new Error('the page did not recover once /status/ answered again'); });
  expect((await line.getAttribute('d')) !== drawn, 'the requests line did not move after /status/ recovered');
  expectEq(await page.locator('[data-announce]').textContent(), 'Live updates resumed.', 'what a screen reader hears');
  expect(most === 1, `${most} requests to /status/ were in flight at once`);

  // The session ends (401): the page says so and stops asking.
  mode = 'gone';
  await liveState(page).filter({ hasText: /^You are no longer signed in/ }).waitFor({ timeout: 15000 })
    .catch(() => { throw new Error('the page did not say that the session ended'); });
  const asked = sent;
  await sleep(3000);
  expectEq(sent - asked, 0, 'requests to /status/ after a 401');
  await noSideScroll(page, 'the Live page at phone width with an error');
  expect(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
});

test('the Live page fits phone (390×844) and desktop (1280×800) widths, keyboard focus visible', async (shot) => {
  for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    const { ctx, page } = await adminContext({ viewport });
    await liveUp(page);
    await noSideScroll(page, `the Live page at ${label} width`);
    for (const name of ['rate', 'latency', 'errors']) {
      const svg = page.locator(`[data-chart="${name}"] svg`);
      expectEq(await svg.getAttribute('role'), 'img', `the ${name} chart's role`);
      expect(/at \d\d:\d\d:\d\d UTC: /.test(await svg.getAttribute('aria-label')), `the ${name} chart's label: ${await svg.getAttribute('aria-label')}`);
    }
    // Keyboard: Tab to the /status/ link in the text; its focus shows.
    let found = null;
    for (let i = 0; i < 30 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || !el.closest('[data-live]')) return null;
        const cs = getComputedStyle(el);
        return { href: el.getAttribute('href'), outline: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
      });
    }
    expect(found, `Tab never reached the Live page's content at ${label} width`);
    expect(found.outline !== 'none' && found.width >= 2, `no visible focus on ${found.href} (${found.outline} ${found.width}px)`);
    await snap(page, `live-${label}.png`);
    expect(page.errors.length === 0, `${label}: script errors: ${page.errors.join('; ')}`);
    if (label === 'desktop') shot.page = page; else await ctx.close();
  }
});

// ---- runner -----------------------------------------------------------------------------

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

function diag(text) {
  for (const line of String(text).split('\n')) console.log(line ? `# ${line}` : '#');
}

async function main() {
  const selected = tests.filter((t) => !ONLY || t.name.includes(ONLY));
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  } catch (e) {
    console.log(`Bail out! could not start ${CHROMIUM}: ${e.message.split('\n')[0]}`);
    process.exit(2);
  }
  if (selected.length === 0) {
    // A name filter that selects nothing is a mistake, never a pass.
    console.log('1..1');
    console.log('not ok 1 - selection');
    diag(`no test name contains ${JSON.stringify(ONLY)}`);
    await browser.close();
    process.exit(1);
  }
  console.log(`1..${selected.length}`);
  if (!ADMIN_TOKEN) diag('note: ORDERD_ADMIN_TOKEN is not set; the fixtures need it');
  let passed = 0;
  let failed = 0;
  const t0 = Date.now();
  for (const [i, t] of selected.entries()) {
    const shot = { page: null, focus: null };
    const started = Date.now();
    try {
      await t.fn(shot);
      passed += 1;
      console.log(`ok ${i + 1} - ${t.name}`);
      diag(`${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (e) {
      failed += 1;
      console.log(`not ok ${i + 1} - ${t.name}`);
      diag([String(e.message || e).split('\n')[0], ...(e.lines || [])].join('\n'));
    } finally {
      if (shot.page && !shot.page.isClosed()) {
        await snap(shot.page, `${slug(t.name)}.png`, shot.focus).catch(() => {});
        if (shot.page !== shop.page || t.name.startsWith('a checkout that fits')) {
          await shot.page.context().close().catch(() => {});
        }
      }
    }
  }
  await browser.close();
  diag(`browser: ${((Date.now() - t0) / 1000).toFixed(1)} s, screenshots in ${OUT}`);
  diag(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
