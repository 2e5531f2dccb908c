// dashboard.mjs — the dashboard in headless Chromium, used as a person would: the page loads
// without console errors, every chart and tile shows the numbers Redis holds, an event published
// while the page is open appears within 2 s without a reload, and the user search shows that
// user's sessions. Run by tests/integration/dashboard_browser.sh against the real stack:
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

// A new session's first event, published straight to Kafka.
function publishSessionStart(user) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
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

    // live: an event published now shows up without a reload
    await page.evaluate(() => { window.notReloaded = true; });
    const before = shown.counts.sessions;
    const t0 = Date.now();
    publishSessionStart(args.user);
    await page.waitForFunction((n) => window.ecomDashboard.snapshot.counts.sessions > n, before, { timeout: 10000 });
    const elapsed = Date.now() - t0;
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page reloaded');
    assert.equal(await page.$eval('#kpi-sessions', (e) => e.textContent.trim()), intFormat.format(before + 1), 'sessions tile after the event');
    assert.ok(elapsed < 2000, `the new session took ${elapsed} ms to appear`);
    ok(`a session published while the page was open appeared in ${elapsed} ms, without a reload`);

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
      await page.fill('#user-search', args.user);
      await page.press('#user-search', 'Enter');
      await page.waitForFunction(() => document.querySelectorAll('#user-sessions tbody tr').length > 0, null, { timeout: 10000 });
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
