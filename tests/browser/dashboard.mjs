// dashboard.mjs — the dashboard in headless Chromium, used as a person would: the page loads
// without console errors, every chart and tile shows the numbers Redis holds, an event published
// while the page is open appears within 2 s without a reload, and the user search shows that
// user's sessions; a chart's table toggle shows its rows, its CSV link downloads the export,
// and the products table sorts, filters, pages (5,000 rows too) and keeps all that through live
// updates. The live parts: the last 2 hours by minute and the "active now" tile equal Redis and
// move within 2 s of a session and an order published now, the segment switch shows Redis'
// funnel and revenue per device, referrer and country, and a range brushed on the daily chart
// adds up Redis' days. Run by tests/integration/dashboard_browser.sh against the real stack:
//   node dashboard.mjs --url URL --ecom ECOM_BIN --topic-prefix P --seed N --scale F
//                      --user USER_ID --sessions SESSIONS.json --screenshot OUT.png
// (seed and scale are the backfill's: the live traffic of the screenshot comes from the same shop)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { args, ok, openDashboard, run } from './page.mjs';

const brokers = process.env.ECOM_BROKERS || '127.0.0.1:9092';

// What Redis holds, read the way every reader does.
function redisSnapshot() {
  const text = execFileSync(args.ecom, ['aggregate', '--snapshot', '--topic-prefix', args['topic-prefix']], { encoding: 'utf8' });
  return JSON.parse(text);
}

const metricsOnly = (s) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'pipeline'));
const intFormat = new Intl.NumberFormat('en-US');
const dollars = (cents) => `$${intFormat.format(Math.floor(cents / 100))}.${String(cents % 100).padStart(2, '0')}`;

async function chartOption(page, id) {
  return page.evaluate((chartId) => {
    const o = window.ecomDashboard.charts[chartId].getOption();
    return { series: o.series.map((s) => s.data), xAxis: o.xAxis?.map((a) => a.data), yAxis: o.yAxis?.map((a) => a.data) };
  }, id);
}

async function checkCharts(page, s) {
  let o = await chartOption(page, 'chart-sales');
  assert.deepEqual(o.xAxis[0], s.daily_sales.map((d) => d.day), 'sales: days');
  assert.deepEqual(o.series[0], s.daily_sales.map((d) => d.revenue_cents), 'sales: revenue per day');
  assert.deepEqual(o.series[1], s.daily_sales.map((d) => d.orders), 'sales: orders per day');

  o = await chartOption(page, 'chart-funnel');
  const t = s.funnel.total;
  assert.deepEqual(o.series[0].map((d) => d.value), [t.viewed, t.carted, t.converted], 'funnel steps');

  for (const [id, list, field] of [['chart-top-units', 'by_units', 'units'], ['chart-top-revenue', 'by_revenue', 'revenue_cents']]) {
    o = await chartOption(page, id);
    assert.deepEqual(o.series[0], s.top_products[list].map((p) => p[field]), `${id}: values`);
    assert.deepEqual(o.yAxis[0], s.top_products[list].map((p) => p.name || p.product_id), `${id}: names`);
    assert.equal(o.series[0].length, Math.min(10, s.top_products[list].length));
  }

  o = await chartOption(page, 'chart-categories');
  const cats = [...s.category_revenue].sort((a, b) => b.revenue_cents - a.revenue_cents);
  assert.deepEqual(o.series[0], cats.map((c) => c.revenue_cents), 'category revenue');

  o = await chartOption(page, 'chart-spend');
  assert.deepEqual(o.series[0], s.spend_by_registration_year.map((y) => y.mean_cents), 'mean spend per year');

  o = await chartOption(page, 'chart-cohorts');
  const cells = o.series[0].map(([x, y, users]) => `${o.yAxis[0][y]}|${o.xAxis[0][x]}|${users}`).sort();
  const want = s.cohorts.map((c) => `${c.registration_month === 'unknown' ? '(unknown)' : c.registration_month}|${c.transaction_month}|${c.users}`).sort();
  assert.deepEqual(cells, want, 'cohort heatmap cells');

  o = await chartOption(page, 'chart-pipeline');
  assert.deepEqual(o.yAxis[0], s.pipeline.topics.map((x) => x.topic), 'pipeline: topics');
  assert.deepEqual(o.series[1], s.pipeline.groups.map((g) => g.lag), 'pipeline: lag per group');
  // the labels drop what every topic (every group) name shares: the topic prefix
  const labels = await page.evaluate(() => {
    const y = window.ecomDashboard.charts['chart-pipeline'].getOption().yAxis;
    return y.map((a) => a.data.map((name) => a.axisLabel.formatter(name)));
  });
  assert.deepEqual(labels[0], s.pipeline.topics.map((x) => x.topic.slice(args['topic-prefix'].length)), 'pipeline: topic labels');
  const groups = s.pipeline.groups.map((g) => g.group);
  assert.equal(new Set(labels[1]).size, groups.length, `pipeline: group labels ${labels[1]} tell the groups apart`);
  labels[1].forEach((label, i) => assert.ok(label.length < groups[i].length && groups[i].endsWith(label), `pipeline: group label ${label} of ${groups[i]}`));
}

async function checkTiles(page, s) {
  const text = (id) => page.$eval(`#${id}`, (e) => e.textContent.trim());
  const revenue = s.daily_sales.reduce((sum, d) => sum + d.revenue_cents, 0);
  assert.equal(await text('kpi-revenue'), dollars(revenue), 'revenue tile');
  assert.equal(await text('kpi-orders'), intFormat.format(s.counts.transactions), 'orders tile');
  assert.equal(await text('kpi-sessions'), intFormat.format(s.counts.sessions), 'sessions tile');
  assert.equal(await text('kpi-conversion'), `${((100 * s.funnel.total.converted) / s.counts.sessions).toFixed(1)}%`, 'conversion tile');
  assert.equal(await text('kpi-dead-letters'), intFormat.format(s.pipeline.dead_letters), 'dead letters tile');
}

// Every product as `ecom report` gives it (the page's table reads the same rows from the API).
function reportProducts() {
  const text = execFileSync(args.ecom, ['report', 'products', '--format', 'json', '--topic-prefix', args['topic-prefix']], { encoding: 'utf8' });
  return JSON.parse(text);
}

// RFC 4180 records, for checking a downloaded file
function parseCsv(text) {
  const records = [];
  let record = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { record.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field); records.push(record); record = []; field = ''; i++;
    } else field += c;
  }
  assert.equal(field + record.join(''), '', 'the file ends with a whole record');
  return records;
}

const money = (c) => `${c < 0 ? '-' : ''}${Math.floor(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, '0')}`;

async function checkTableAndCsv(page, s) {
  // the sales chart as a table: a row per day, then back to the chart
  await page.click('#chart-sales-table-toggle');
  await page.waitForSelector('#chart-sales-table tbody tr');
  const rows = await page.$$eval('#chart-sales-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.equal(await page.isVisible('#chart-sales'), false, 'the chart gives way to its table');
  assert.deepEqual(rows, s.daily_sales.map((d) => [d.day, dollars(d.revenue_cents), intFormat.format(d.orders), intFormat.format(d.units)]), 'sales table rows');
  await page.click('#chart-sales-table-toggle');
  assert.equal(await page.isVisible('#chart-sales'), true, 'the chart is back');
  assert.equal(await page.isVisible('#chart-sales-table'), false, 'the table is hidden again');
  ok(`the sales chart toggles to a table of its ${rows.length} days and back`);

  // the category chart's CSV link downloads the export
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#chart-categories-csv')]);
  assert.match(download.suggestedFilename(), /^ecom-category_revenue-\d{4}-\d\d-\d\dT\d{4}Z\.csv$/, 'file name');
  const file = parseCsv(readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(file, [['category_id', 'name', 'lines', 'revenue_cents', 'revenue'],
    ...s.category_revenue.map((c) => [c.category_id, c.name, String(c.lines), String(c.revenue_cents), money(c.revenue_cents)])], 'category_revenue.csv');
  ok(`the category chart's CSV link downloads ${download.suggestedFilename()}, ${file.length - 1} categories equal to the snapshot`);

  const text = (id) => page.$eval(`#${id}`, (e) => e.textContent.trim());
  for (const k of ['users', 'categories', 'products', 'transactions', 'sessions']) {
    assert.equal(await text(`ds-${k}`), intFormat.format(s.counts[k]), `dataset tile ${k}`);
  }
  ok('the dataset tiles show the counts');
}

const shownProducts = (page) => page.evaluate(() => window.ecomDashboard.products.shown.map((p) => p.product_id));
const byText = (key) => (a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) || (a.product_id < b.product_id ? -1 : 1);

async function checkProducts(page) {
  await page.waitForFunction(() => window.ecomDashboard.products.loads >= 1, null, { timeout: 10000 });
  const all = reportProducts();
  assert.equal(await page.$eval('#products-count', (e) => e.textContent.trim()), `${intFormat.format(all.length)} products`, 'products count');
  assert.deepEqual(await shownProducts(page), all.slice(0, 25).map((p) => p.product_id), 'first by revenue, as the export');

  // sort by name, then by units (high first, a second click low first)
  await page.click('#products-head th[data-key="name"] button');
  assert.deepEqual(await shownProducts(page), [...all].sort(byText('name')).slice(0, 25).map((p) => p.product_id), 'sorted by name');
  await page.click('#products-head th[data-key="units"] button');
  const byUnits = (dir) => [...all].sort((a, b) => dir * (a.units - b.units) || (a.product_id < b.product_id ? -1 : 1));
  assert.deepEqual(await shownProducts(page), byUnits(-1).slice(0, 25).map((p) => p.product_id), 'sorted by units, most first');
  await page.click('#products-head th[data-key="units"] button');
  assert.deepEqual(await shownProducts(page), byUnits(1).slice(0, 25).map((p) => p.product_id), 'sorted by units, fewest first');
  assert.equal(await page.$eval('#products-head th[data-key="units"]', (e) => e.getAttribute('aria-sort')), 'ascending');

  // filter by category and by name
  const category = all.find((p) => p.category_name).category_id;
  await page.selectOption('#products-category', category);
  const inCategory = byUnits(1).filter((p) => p.category_id === category);
  assert.deepEqual(await shownProducts(page), inCategory.slice(0, 25).map((p) => p.product_id), `filtered to ${category}`);
  const word = inCategory[0].name.split(' ')[0].toLowerCase();
  await page.fill('#products-name', word);
  const matching = inCategory.filter((p) => p.name.toLowerCase().includes(word));
  assert.deepEqual(await shownProducts(page), matching.map((p) => p.product_id), `filtered to ${category} and "${word}"`);
  assert.equal(await page.$eval('#products-count', (e) => e.textContent.trim()), `${matching.length} of ${intFormat.format(all.length)} products`);
  ok(`the products table sorts by name and units, filters by category ${category} and name "${word}" (${matching.length} of ${all.length})`);

  // 5,000 rows: sorted, filtered and paged in a blink
  const timing = await page.evaluate(() => {
    const state = window.ecomDashboard.products;
    const saved = state.rows;
    state.rows = Array.from({ length: 5000 }, (_, i) => ({
      product_id: `prod_${String(i).padStart(5, '0')}`, name: `Product ${i}`, category_id: `cat_${String(i % 25).padStart(3, '0')}`,
      category_name: `Category ${i % 25}`, units: (i * 7919) % 1000, revenue_cents: (i * 104729) % 1000000,
    }));
    const input = document.getElementById('products-name');
    const savedName = input.value;
    const t0 = performance.now();
    input.value = '';
    input.dispatchEvent(new Event('input'));
    document.querySelector('#products-head th[data-key="revenue_cents"] button').click();
    document.getElementById('products-next').click();
    const ms = performance.now() - t0;
    const result = { ms, page: document.getElementById('products-page').textContent, rows: document.querySelectorAll('#products-body tr').length };
    state.rows = saved;
    input.value = savedName;
    input.dispatchEvent(new Event('input'));
    return result;
  });
  const category25 = 5000 / 25;
  assert.equal(timing.page, `page 2 of ${Math.ceil(category25 / 25)}`, 'pages of the filtered 5,000 rows');
  assert.equal(timing.rows, 25, 'a page of 25 rows');
  assert.ok(timing.ms < 300, `5,000 rows took ${timing.ms} ms to filter, sort and page`);
  ok(`5,000 rows filtered, sorted and paged in ${timing.ms.toFixed(1)} ms`);
  return { category, word };
}

// ---- the live parts ------------------------------------------------------------------------

const MINUTE_WINDOW = 120;
const noEvents = (minute) => ({ minute, orders: 0, revenue_cents: 0, sessions: 0, page_views: 0, converted: 0 });

// The 120 minutes the chart should draw: up to the newest minute Redis holds, zeros where the
// snapshot has no row.
function lastTwoHours(s) {
  assert.ok(s.minutes.length > 0, 'Redis holds no minutes');
  const names = s.minutes.map((m) => m.minute);
  assert.deepEqual(names, [...names].sort(), 'the minutes are sorted');
  const end = Date.parse(`${names[names.length - 1].slice(0, -1)}:00Z`);
  const held = new Map(s.minutes.map((m) => [m.minute, m]));
  return Array.from({ length: MINUTE_WINDOW }, (_, i) => {
    const minute = `${new Date(end - (MINUTE_WINDOW - 1 - i) * 60000).toISOString().slice(0, 16)}Z`;
    return held.get(minute) ?? noEvents(minute);
  });
}

async function downloadCsv(page, link, name) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(link)]);
  assert.match(download.suggestedFilename(), name, 'file name');
  return parseCsv(readFileSync(await download.path(), 'utf8'));
}

async function checkMinutes(page, s) {
  const want = lastTwoHours(s);
  const o = await chartOption(page, 'chart-minutes');
  assert.deepEqual(o.xAxis[0], want.map((m) => m.minute), 'minutes: the axis ends at the newest minute');
  assert.deepEqual(o.series[0], want.map((m) => m.revenue_cents), 'minutes: revenue');
  assert.deepEqual(o.series[1], want.map((m) => m.orders), 'minutes: orders');
  assert.deepEqual(o.series[2], want.map((m) => m.sessions), 'minutes: sessions');
  assert.ok(o.series[2].some((n) => n > 0), 'minutes: no session in the last two hours');
  assert.equal(await page.$eval('#kpi-active', (e) => e.textContent.trim()), intFormat.format(s.active_sessions), 'active now tile');
  return want;
}

const DIMENSIONS = ['device', 'referrer', 'country'];
const keyLabel = (k) => (!k || k === 'unknown' ? '(unknown)' : k);
const sum = (rows, k) => rows.reduce((n, r) => n + r[k], 0);

// Each position of the switch: the funnel and the revenue chart draw Redis' rows of that dimension.
async function checkSegments(page, s) {
  const revenue = sum(s.daily_sales, 'revenue_cents');
  let o = await chartOption(page, 'chart-segment-revenue');
  assert.deepEqual([o.series[0], o.series[1]], [[revenue], [s.counts.transactions]], 'revenue, all segments');
  for (const dim of DIMENSIONS) {
    const rows = s.segments[dim];
    assert.ok(rows.length > 0, `no ${dim} segments`);
    // every session has one value of each dimension, so each dimension adds up to the whole
    assert.equal(sum(rows, 'sessions'), s.counts.sessions, `${dim}: sessions add up`);
    for (const k of ['viewed', 'carted', 'converted']) assert.equal(sum(rows, k), s.funnel.total[k], `${dim}: ${k} adds up`);
    assert.ok(sum(rows, 'revenue_cents') <= revenue && sum(rows, 'orders') <= s.counts.transactions, `${dim}: revenue within the whole`);

    await page.click(`#segment-${dim}`);
    assert.equal(await page.$eval(`#segment-${dim}`, (e) => e.getAttribute('aria-pressed')), 'true', `${dim} pressed`);
    o = await chartOption(page, 'chart-funnel');
    assert.deepEqual(o.xAxis[0], rows.map((r) => keyLabel(r.key)), `funnel by ${dim}: values`);
    assert.deepEqual(o.series, ['sessions', 'viewed', 'carted', 'converted'].map((k) => rows.map((r) => r[k])), `funnel by ${dim}`);
    o = await chartOption(page, 'chart-segment-revenue');
    assert.deepEqual(o.xAxis[0], rows.map((r) => keyLabel(r.key)), `revenue by ${dim}: values`);
    assert.deepEqual([o.series[0], o.series[1]], [rows.map((r) => r.revenue_cents), rows.map((r) => r.orders)], `revenue by ${dim}`);
    assert.match(await page.$eval('#funnel-title', (e) => e.textContent), new RegExp(`by ${dim}$`), 'funnel title');
  }
  // the last dimension as a table, as a person reads it
  await page.click('#chart-segment-revenue-table-toggle');
  const table = await page.$$eval('#chart-segment-revenue-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const last = s.segments[DIMENSIONS[DIMENSIONS.length - 1]];
  assert.deepEqual(table.map((r) => r.slice(0, 3)), last.map((r) => [keyLabel(r.key), intFormat.format(r.orders), dollars(r.revenue_cents)]), 'revenue by country as a table');
  await page.click('#chart-segment-revenue-table-toggle');
  // and as a file: the funnel's CSV link downloads that dimension's export
  const file = await downloadCsv(page, '#chart-funnel-csv', /^ecom-segments_country-\d{4}-\d\d-\d\dT\d{4}Z\.csv$/);
  assert.deepEqual(file, [['key', 'sessions', 'viewed', 'carted', 'converted', 'orders', 'revenue_cents', 'revenue'],
    ...last.map((r) => [r.key, ...['sessions', 'viewed', 'carted', 'converted', 'orders', 'revenue_cents'].map((k) => String(r[k])), money(r.revenue_cents)])],
  'segments_country.csv');

  await page.click('#segment-all');
  o = await chartOption(page, 'chart-funnel');
  assert.deepEqual(o.series[0].map((d) => d.value), [s.funnel.total.viewed, s.funnel.total.carted, s.funnel.total.converted], 'funnel, all again');
  ok(`the segment switch shows Redis' funnel and revenue by ${DIMENSIONS.map((d) => `${d} (${s.segments[d].length})`).join(', ')}, and all`);
}

// Drags across the daily chart from day a to day b, as a mouse does.
async function brushDays(page, a, b) {
  await page.locator('#chart-sales').scrollIntoViewIfNeeded();
  const box = await page.locator('#chart-sales').boundingBox();
  const [xa, xb] = await page.evaluate(([i, j]) => {
    const c = window.ecomDashboard.charts['chart-sales'];
    return [c.convertToPixel({ xAxisIndex: 0 }, i), c.convertToPixel({ xAxisIndex: 0 }, j)];
  }, [a, b]);
  const y = box.y + box.height * 0.6;
  await page.mouse.move(box.x + xa, y);
  await page.mouse.down();
  await page.mouse.move(box.x + xb, y, { steps: 10 });
  await page.mouse.up();
}

async function rangeShown(page) {
  return page.evaluate(() => Object.fromEntries(['days', 'revenue', 'orders', 'aov', 'conversion']
    .map((k) => [k, document.getElementById(`range-${k}`).textContent.trim()])));
}

function rangeWanted(s, from, to) {
  const inRange = (d) => d.day >= from && d.day <= to;
  const days = s.daily_sales.filter(inRange);
  const funnel = s.funnel.by_day.filter(inRange);
  const revenue = sum(days, 'revenue_cents');
  const orders = sum(days, 'orders');
  const viewed = sum(funnel, 'viewed');
  return {
    days: days.length,
    revenue: dollars(revenue),
    orders: intFormat.format(orders),
    aov: orders ? dollars(Math.round(revenue / orders)) : '—',
    conversion: viewed ? `${((100 * sum(funnel, 'converted')) / viewed).toFixed(1)}%` : '—',
  };
}

async function checkRange(page, s) {
  const days = s.daily_sales.map((d) => d.day);
  const a = Math.floor(days.length / 4);
  const b = Math.floor(days.length / 2);
  assert.ok(b > a, `too few days (${days.length}) to choose a range`);
  await brushDays(page, a, b);
  await page.waitForFunction(() => window.ecomDashboard.range, null, { timeout: 5000 });
  assert.deepEqual(await page.evaluate(() => window.ecomDashboard.range), { from: days[a], to: days[b] }, 'the brushed days');
  const want = rangeWanted(s, days[a], days[b]);
  assert.deepEqual(await rangeShown(page), { ...want, days: `${days[a]} to ${days[b]} · ${want.days} days` }, 'range figures');
  assert.equal(want.days, b - a + 1);
  ok(`a range brushed on the daily chart, ${days[a]} to ${days[b]}: ${want.revenue}, ${want.orders} orders, ` +
    `${want.aov} per order, ${want.conversion} conversion, as Redis' days add up`);
  await page.click('#range-clear');
  await page.waitForFunction(() => !window.ecomDashboard.range, null, { timeout: 5000 });
  const all = rangeWanted(s, days[0], days[days.length - 1]);
  assert.deepEqual(await rangeShown(page), { ...all, days: `all ${all.days} days` }, 'range figures of every day');
  assert.equal(await page.isVisible('#range-clear'), false, 'the clear button goes with the range');
  return [a, b];
}

// A standalone transaction of the backfill, the model of an order published live.
function standaloneTransaction() {
  const lines = execFileSync('kcat', ['-C', '-b', brokers, '-t', `${args['topic-prefix']}transactions`, '-e', '-q', '-o', 'beginning'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).split('\n').filter(Boolean);
  const txn = lines.map((l) => JSON.parse(l)).find((x) => !x.session_id);
  assert.ok(txn, 'the backfill has no standalone transaction to copy');
  return txn;
}

// An order published straight to Kafka: the model with a new id, stamped `now`.
function publishOrder(model, now) {
  const order = { ...model, transaction_id: `txn_${String(Date.now()).slice(-10)}`, timestamp: now };
  execFileSync('kcat', ['-P', '-b', brokers, '-t', `${args['topic-prefix']}transactions`, '-k', order.user_id], { input: `${JSON.stringify(order)}\n` });
  return order;
}

// A new session's first event, published straight to Kafka.
function publishSessionStart(user, now) {
  const id = `sess_${String(Date.now()).slice(-10)}`;
  const event = {
    schema_version: 1, event_id: `${id}-0`, type: 'session_start', session_id: id, user_id: user, ts: now, start_time: now,
    device_profile: { type: 'desktop', os: 'Windows', browser: 'Firefox' },
    geo_data: { city: 'Austin', state: 'TX', country: 'USA', ip_address: '10.1.2.3' }, referrer: 'direct',
  };
  execFileSync('kcat', ['-P', '-b', brokers, '-t', `${args['topic-prefix']}session_events`, '-k', user], { input: `${JSON.stringify(event)}\n` });
}

async function main() {
  const { browser, page, problems } = await openDashboard(args.url);
  try {
    await page.goto(args.url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.ecomDashboard?.snapshot && window.ecomDashboard.updates >= 1, null, { timeout: 15000 });
    ok('the page loaded and applied the metrics');

    // every chart and tile against Redis
    const redis = redisSnapshot();
    const shown = await page.evaluate(() => window.ecomDashboard.snapshot);
    assert.deepEqual(metricsOnly(shown), metricsOnly(redis), 'the page holds what Redis holds');
    await checkCharts(page, shown);
    await checkTiles(page, shown);
    ok(`every chart and tile shows Redis' numbers (${redis.counts.transactions} transactions, ${redis.counts.sessions} sessions)`);

    const backfill = await checkMinutes(page, shown);
    const minutesCsv = await downloadCsv(page, '#chart-minutes-csv', /^ecom-minutes-\d{4}-\d\d-\d\dT\d{4}Z\.csv$/);
    assert.deepEqual(minutesCsv, [['minute', 'orders', 'revenue_cents', 'revenue', 'sessions', 'page_views', 'converted'],
      ...shown.minutes.map((m) => [m.minute, String(m.orders), String(m.revenue_cents), money(m.revenue_cents), String(m.sessions),
        String(m.page_views), String(m.converted)])], 'minutes.csv');
    ok(`the last 2 hours by minute and the active now tile show Redis' numbers (up to ${backfill[MINUTE_WINDOW - 1].minute}, ` +
      `${sum(backfill, 'sessions')} sessions, ${sum(backfill, 'orders')} orders; ${shown.active_sessions} active); ` +
      `its CSV link downloads Redis' ${shown.minutes.length} minutes`);
    await checkSegments(page, shown);
    await checkRange(page, shown);

    await checkTableAndCsv(page, shown);
    const filters = await checkProducts(page);

    // live: a session and an order published now show up without a reload, the minute chart
    // moving on to their minute
    await page.evaluate(() => { window.notReloaded = true; });
    const before = shown.counts.sessions;
    const model = standaloneTransaction();
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const minute = `${now.slice(0, 16)}Z`;
    const t0 = Date.now();
    publishSessionStart(args.user, now);
    const order = publishOrder(model, now);
    await page.waitForFunction((n) => window.ecomDashboard.snapshot.counts.sessions > n, before, { timeout: 10000 });
    const elapsed = Date.now() - t0;
    await page.waitForFunction((m) => {
      const o = window.ecomDashboard.charts['chart-minutes'].getOption();
      const last = o.xAxis[0].data.length - 1;
      return o.xAxis[0].data[last] === m && o.series[1].data[last] >= 1 && o.series[2].data[last] >= 1;
    }, minute, { timeout: 10000 });
    const moved = Date.now() - t0;
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page reloaded');
    assert.equal(await page.$eval('#kpi-sessions', (e) => e.textContent.trim()), intFormat.format(before + 1), 'sessions tile after the event');
    assert.ok(elapsed < 2000, `the new session took ${elapsed} ms to appear`);
    ok(`a session published while the page was open appeared in ${elapsed} ms, without a reload`);
    assert.ok(moved < 2000, `the minute chart took ${moved} ms to move to ${minute}`);
    const live = redisSnapshot();
    const shownLive = await page.evaluate(() => window.ecomDashboard.snapshot);
    assert.deepEqual(metricsOnly(shownLive), metricsOnly(live), 'the page holds what Redis holds after the live events');
    const window2h = await checkMinutes(page, shownLive);
    const newest = window2h[MINUTE_WINDOW - 1];
    assert.deepEqual([newest.minute, newest.sessions, newest.orders, newest.revenue_cents], [minute, 1, 1, order.total_cents], 'the newest minute');
    assert.equal(shownLive.active_sessions, shown.active_sessions + 1, 'the session started is active');
    ok(`the minute chart moved on to ${minute} (1 session, 1 order of ${dollars(order.total_cents)}) in ${moved} ms; ` +
      `active now ${shown.active_sessions} -> ${shownLive.active_sessions}`);

    // the user search
    const listing = JSON.parse(readFileSync(args.sessions, 'utf8'));
    await page.fill('#user-search', args.user);
    await page.press('#user-search', 'Enter');
    await page.waitForFunction((u) => document.querySelector('#user-summary')?.textContent.includes(u), args.user, { timeout: 10000 });
    const summary = await page.$eval('#user-summary', (e) => e.textContent);
    assert.ok(summary.includes(`${listing.summary.count} session`), `summary "${summary}" lacks the count ${listing.summary.count}`);
    assert.ok(summary.includes(`${listing.summary.total_duration_seconds} s`), `summary "${summary}" lacks the total duration`);
    const rows = await page.$$eval('#user-sessions tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(rows.length, listing.sessions.length, 'one table row per session');
    listing.sessions.forEach((s, i) => assert.ok(rows[i].includes(s.session_id), `row ${i} is not ${s.session_id}`));
    ok(`the search shows ${args.user}'s ${listing.summary.count} sessions, ${listing.summary.total_duration_seconds} s in all`);
    await page.fill('#user-search', 'user_12');
    await page.click('#user-search-button');
    await page.waitForFunction(() => document.querySelector('#user-error')?.textContent.trim().length > 0, null, { timeout: 5000 });
    ok(`a malformed id is refused: "${await page.$eval('#user-error', (e) => e.textContent.trim())}"`);

    // live traffic for the picture: the pipeline panel shows it flowing, latency is current
    const traffic = spawn(args.ecom, ['generate', '--mode', 'live', '--rate', '300', '--seed', args.seed,
      '--scale', args.scale, '--topic-prefix', args['topic-prefix']], { stdio: 'ignore' });
    try {
      const topic = `${args['topic-prefix']}session_events`;
      await page.waitForFunction((t) => window.ecomDashboard.snapshot.pipeline.topics.some((x) => x.topic === t && x.events_per_s > 0),
        topic, { timeout: 15000 });
      ok('the pipeline panel shows the live traffic flowing');
      // the products table follows the sales live, keeping the user's sort, filters and page
      const loads = await page.evaluate(() => window.ecomDashboard.products.loads);
      await page.waitForFunction((n) => window.ecomDashboard.products.loads > n, loads, { timeout: 10000 });
      const kept = await page.evaluate(() => {
        const p = window.ecomDashboard.products;
        return { sort: p.sort, category: p.category, name: p.name, select: document.getElementById('products-category').value,
          input: document.getElementById('products-name').value, shown: p.shown.map((x) => [x.category_id, x.name]) };
      });
      assert.deepEqual(kept.sort, { key: 'revenue_cents', dir: -1 }, 'the sort survives a refresh');
      assert.equal(kept.category, filters.category);
      assert.equal(kept.select, filters.category, 'the category filter survives a refresh');
      assert.equal(kept.input, filters.word, 'the name filter survives a refresh');
      assert.ok(kept.shown.every(([c, n]) => c === filters.category && n.toLowerCase().includes(filters.word)), 'rows still filtered');
      ok('the products table refreshed live and kept its sort and filters');
      await page.fill('#products-name', '');
      await page.selectOption('#products-category', '');
      await page.fill('#user-search', args.user);
      await page.press('#user-search', 'Enter');
      await page.waitForFunction(() => document.querySelectorAll('#user-sessions tbody tr').length > 0, null, { timeout: 10000 });
      // the picture shows a segment chosen and a range of days brushed
      await page.click('#segment-device');
      const days = (await page.evaluate(() => window.ecomDashboard.snapshot.daily_sales)).length;
      await brushDays(page, Math.floor(days / 3), Math.floor((2 * days) / 3));
      await page.waitForFunction(() => window.ecomDashboard.range, null, { timeout: 5000 });
      await page.mouse.move(0, 0); // no tooltip over the picture
      await page.waitForTimeout(1500);
      await page.screenshot({ path: args.screenshot, fullPage: true });
    } finally {
      traffic.kill('SIGTERM');
    }
    assert.deepEqual(problems, [], 'console errors or outside requests');
    ok('no console errors, no request outside the dashboard');
  } finally {
    await browser.close();
  }
}

run(main);
