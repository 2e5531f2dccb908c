// demo_live.mjs — the page of a running `make demo`, watched in headless Chromium the way a
// newcomer watches it: it loads without console errors or requests leaving its origin, every
// chart and tile fills in, and for the whole watch the page keeps changing by itself (no
// reload) as the demo's live traffic flows. Run by tests/integration/demo_cold.sh:
//   node demo_live.mjs --url URL --seconds N --screenshot OUT.png
import assert from 'node:assert/strict';
import { args, ok, openDashboard, run } from './page.mjs';

const seconds = Number(args.seconds ?? 60);

const CHARTS = ['chart-minutes', 'chart-sales', 'chart-funnel', 'chart-segment-revenue', 'chart-top-units',
  'chart-top-revenue', 'chart-categories', 'chart-spend', 'chart-cohorts', 'chart-pipeline'];
// Charts of sums grow with every order or session the live traffic adds. The cohort heatmap
// counts distinct buyers per month, which a small shop has all seen already: it must be filled,
// not changing.
const GROWING = CHARTS.filter((id) => id !== 'chart-cohorts');
const TILES = ['kpi-revenue', 'kpi-orders', 'kpi-sessions', 'kpi-conversion', 'kpi-active', 'kpi-dead-letters'];

// What each chart draws: its series' data, as the page handed them to ECharts.
function chartData() {
  const out = {};
  for (const [id, chart] of Object.entries(window.ecomDashboard.charts)) {
    out[id] = chart.getOption().series.map((s) => s.data);
  }
  return out;
}

const filled = (series) => series.some((data) => Array.isArray(data) && data.length > 0 &&
  data.some((d) => d != null && (typeof d !== 'object' || Object.keys(d).length > 0)));

async function main() {
  const { browser, page, problems } = await openDashboard(args.url);
  try {
    await page.goto(args.url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.ecomDashboard?.snapshot && window.ecomDashboard.updates >= 1, null, { timeout: 30000 });
    await page.evaluate(() => { window.notReloaded = true; });
    ok('the page loaded and applied the metrics');

    const first = await page.evaluate(chartData);
    for (const id of CHARTS) assert.ok(filled(first[id]), `${id} is empty`);
    for (const id of TILES) {
      const text = await page.$eval(`#${id}`, (e) => e.textContent.trim());
      assert.ok(text && text !== '—', `tile ${id} shows "${text}"`);
    }
    ok(`every chart (${CHARTS.length}) and tile (${TILES.length}) is filled`);

    // Watch: every few seconds, which charts drew something new since the last look.
    const changed = new Set();
    const updates0 = await page.evaluate(() => window.ecomDashboard.updates);
    const orders0 = await page.evaluate(() => window.ecomDashboard.snapshot.counts.transactions);
    const sessions0 = await page.evaluate(() => window.ecomDashboard.snapshot.counts.sessions);
    let previous = first;
    let idleLooks = 0;
    for (let t = 0; t < seconds; t += 5) {
      await page.waitForTimeout(5000);
      const now = await page.evaluate(chartData);
      const moved = CHARTS.filter((id) => JSON.stringify(now[id]) !== JSON.stringify(previous[id]));
      moved.forEach((id) => changed.add(id));
      idleLooks = moved.length ? 0 : idleLooks + 1;
      assert.ok(idleLooks < 4, `nothing on the page changed for ${idleLooks * 5} s`);
      previous = now;
    }
    const missing = GROWING.filter((id) => !changed.has(id));
    assert.deepEqual(missing, [], `charts that never changed in ${seconds} s`);
    for (const id of CHARTS) assert.ok(filled(previous[id]), `${id} emptied during the watch`);
    const s = await page.evaluate(() => window.ecomDashboard.snapshot);
    const updates = (await page.evaluate(() => window.ecomDashboard.updates)) - updates0;
    assert.ok(s.counts.transactions > orders0, `orders stayed at ${orders0}`);
    assert.ok(s.counts.sessions > sessions0, `sessions stayed at ${sessions0}`);
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page reloaded');
    assert.equal(await page.$eval('#connection', (e) => e.textContent.trim()), 'live', 'the stream is not live');
    ok(`for ${seconds} s the page changed by itself: ${updates} updates, orders ${orders0} -> ${s.counts.transactions}, ` +
      `sessions ${sessions0} -> ${s.counts.sessions}; charts that moved: ${[...changed].join(' ')}`);

    // the pipeline figures are read, not unknown: every group's lag and the events/s
    const pl = s.pipeline;
    assert.equal(pl.kafka_error, undefined, `Kafka figures unknown: ${pl.kafka_error}`);
    for (const g of pl.groups) assert.equal(typeof g.lag, 'number', `lag of ${g.group} unknown: ${g.error}`);
    assert.ok(pl.topics.some((x) => x.events_per_s > 0), 'no topic shows events/s');
    ok(`pipeline figures known: lag ${pl.groups.map((g) => `${g.group}=${g.lag}`).join(' ')}`);

    await page.screenshot({ path: args.screenshot, fullPage: true });
    assert.deepEqual(problems, [], 'console errors or outside requests');
    ok('no console errors, no request outside the dashboard');
  } finally {
    await browser.close();
  }
}

run(main);
