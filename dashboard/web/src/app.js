// app.js — everything the dashboard page does: loads the metrics snapshot,
// follows the server's SSE stream, draws the KPI tiles and the ECharts panels
// (created once, then updated in place) and runs the user-session lookup; tables.js adds the
// tables and CSV links. The API is same-origin: /api/metrics.json, /api/stream,
// /api/users/<id>/sessions, /api/export/<name>.csv.
//
// Three parts follow a choice of the person at the page rather than the data alone: the
// segment switch (current.segment) redraws the funnel and the revenue chart for one segment
// dimension, and the brush on the daily chart (current.range) chooses the days the range
// figures add up. Both choices live here, not in the charts, so a new snapshot redraws the
// charts without losing them.
import * as echarts from 'echarts/core';
import { BarChart, FunnelChart, HeatmapChart, LineChart } from 'echarts/charts';
import {
  BrushComponent,
  GridComponent,
  LegendComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { $, el } from './dom.js';
import { renderDataset, setupProducts, setupTables } from './tables.js';

echarts.use([
  BarChart, FunnelChart, HeatmapChart, LineChart,
  BrushComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapComponent,
  CanvasRenderer,
]);

const COLORS = {
  revenue: '#2f6fdf', orders: '#e8772e', units: '#2f9e8f', spend: '#7a5bd6', lag: '#c2410c', sessions: '#7a5bd6',
};
const FUNNEL_COLORS = ['#c7d7f7', '#8fb0ee', '#2f6fdf', '#1f8a4c'];
// a segment's funnel: [legend name, field of the snapshot's segment row]
const FUNNEL_STEPS = [['Sessions', 'sessions'], ['Viewed', 'viewed'], ['Carted', 'carted'], ['Converted', 'converted']];
// the segment switch: its values (the snapshot's segments keys, and 'all') and their names
const SEGMENTS = { all: 'All', device: 'Device', referrer: 'Referrer', country: 'Country' };
const MINUTE_WINDOW = 120; // minutes in the "last 2 hours" chart
const USER_ID = /^user_[0-9]{6,}$/;

// ---------- formatting ----------

const intFormat = new Intl.NumberFormat('en-US');
const compactUsd = new Intl.NumberFormat('en-US', {
  style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 1,
});

const count = (n) => intFormat.format(n ?? 0);

// Cents stay integers end to end (sums included: exact below 2^53); only the
// split into dollars and cents happens here, with integer arithmetic.
function dollars(cents) {
  const abs = Math.abs(cents ?? 0);
  const whole = Math.floor(abs / 100);
  const frac = String(abs % 100).padStart(2, '0');
  return `${cents < 0 ? '-' : ''}$${intFormat.format(whole)}.${frac}`;
}

// Axis ticks and bar labels only need to be readable, not exact.
const dollarsShort = (cents) => compactUsd.format((cents ?? 0) / 100);

// Rates are measured over a couple of seconds: one decimal below 10/s is all they carry.
const rate = (v) => (v == null ? '—' : v >= 10 ? count(Math.round(v)) : v.toFixed(1));

const percent = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '—');

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds ?? 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [];
  if (h) parts.push(`${h}h`);
  if (h || m) parts.push(`${m}m`);
  parts.push(`${s % 60}s`);
  return parts.join(' ');
}

const orUnknown = (s) => (!s || s === 'unknown' ? '(unknown)' : s);

// Long product names would eat the plot area; tooltips carry the full name.
const truncate = (s, max) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

// How much of every name is a shared lead (up to its last '.', '-' or '_'), such as a topic
// prefix: labels drop it so that long, alike names stay apart; tooltips keep the whole name.
function sharedLead(names) {
  if (names.length < 2) return 0;
  const [first] = names;
  let n = 0;
  while (n < first.length && names.every((x) => x[n] === first[n])) n++;
  const lead = first.slice(0, n);
  return Math.max(lead.lastIndexOf('.'), lead.lastIndexOf('-'), lead.lastIndexOf('_')) + 1;
}

// ISO times from the server are UTC; show them as UTC without depending on the browser's zone.
const utc = (iso) => (iso ? String(iso).replace('T', ' ').replace(/\.\d+/, '').replace(/Z$/, '') : '');

// ---------- DOM helpers ----------

// Tooltips are returned to ECharts as DOM nodes, not HTML strings: names from
// the data cannot inject markup, and no inline style attribute trips the CSP.
function tooltip(title, rows) {
  const box = el('div', 'tip');
  box.append(el('div', 'tip-title', title));
  for (const [label, value, color] of rows) {
    const row = el('div', 'tip-row');
    if (color) {
      const dot = el('span', 'tip-dot');
      dot.style.background = color;
      row.append(dot);
    }
    row.append(el('span', null, label), el('b', null, value));
    box.append(row);
  }
  return box;
}

// ---------- charts ----------

// the pipeline chart's labels: topics (0) and groups (1) without the lead they all share
const pipelineLeads = [0, 0];
const pipelineLabel = (axis, name) => truncate(name.slice(pipelineLeads[axis]), 22);

// What an empty chart says instead of drawing bare axes (its data sets `show`).
const emptyNote = (text) => ({ text, left: 'center', top: 'middle', show: false, textStyle: { fontSize: 13, fontWeight: 400, color: '#616e7c' } });

const baseTooltip = { confine: true, backgroundColor: '#fff', borderColor: '#dde2ea', textStyle: { color: '#1f2933' } };
const axisLabel = { color: '#52606d', fontSize: 11 };

// What the two segment charts share: colours and legend, a note while there are no rows, a
// category per segment value, and a tooltip of the value under the pointer (rowsOf gives the
// chart's rows, figures the tooltip's lines of one row).
function segmentFrame(color, legend, rowsOf, figures) {
  return {
    color,
    title: emptyNote('No segments counted yet'),
    legend: { top: 0, data: legend },
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    tooltip: {
      ...baseTooltip,
      trigger: 'axis',
      formatter: (params) => {
        const r = rowsOf(current.snapshot, current.segment)[params[0].dataIndex];
        return tooltip(segmentTitle(r.key), figures(r));
      },
    },
    xAxis: { type: 'category', axisLabel: { ...axisLabel, interval: 0, rotate: 30, formatter: (n) => truncate(n, 14) } },
  };
}

// Each chart gets its fixed parts once (base) and only data on every update,
// so the instances in window.ecomDashboard.charts never change.
const chartSpecs = {
  'chart-minutes': {
    base: {
      color: [COLORS.revenue, COLORS.orders, COLORS.sessions],
      // redrawn about every second under live traffic: transitions would never settle
      animation: false,
      title: emptyNote('No events counted by minute yet'),
      legend: { top: 0, data: ['Revenue', 'Orders', 'Sessions'] },
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      tooltip: {
        ...baseTooltip,
        trigger: 'axis',
        formatter: (params) => {
          const m = minuteWindow(current.snapshot)[params[0].dataIndex];
          return tooltip(`${utc(m.minute)} UTC`, [
            ['Revenue', dollars(m.revenue_cents), COLORS.revenue],
            ['Orders', count(m.orders), COLORS.orders],
            ['Sessions started', count(m.sessions), COLORS.sessions],
            ['Page views', count(m.page_views)],
            ['Sessions converted', count(m.converted)],
          ]);
        },
      },
      xAxis: { type: 'category', axisLabel: { ...axisLabel, formatter: (m) => m.slice(11, 16) } },
      yAxis: [
        { type: 'value', name: 'Revenue', axisLabel: { ...axisLabel, formatter: dollarsShort } },
        { type: 'value', name: 'Count', minInterval: 1, splitLine: { show: false }, axisLabel },
      ],
      series: [
        { name: 'Revenue', type: 'bar', barMaxWidth: 8 },
        { name: 'Orders', type: 'line', yAxisIndex: 1, symbol: 'none' },
        { name: 'Sessions', type: 'line', yAxisIndex: 1, symbol: 'none' },
      ],
    },
    data: (s) => {
      const minutes = minuteWindow(s);
      return {
        title: { show: !minutes.length },
        xAxis: { data: minutes.map((m) => m.minute) },
        series: ['revenue_cents', 'orders', 'sessions'].map((k) => ({ data: minutes.map((m) => m[k]) })),
      };
    },
  },

  'chart-sales': {
    base: {
      color: [COLORS.revenue, COLORS.orders],
      // dragging across the chart chooses the days of the range figures below it
      brush: {
        xAxisIndex: 0,
        brushType: 'lineX',
        brushMode: 'single',
        throttleType: 'debounce',
        throttleDelay: 60,
        brushStyle: { color: 'rgba(47, 111, 223, 0.12)', borderColor: 'rgba(47, 111, 223, 0.6)', borderWidth: 1 },
        outOfBrush: { colorAlpha: 0.3 },
      },
      legend: { top: 0, data: ['Revenue', 'Orders'] },
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      tooltip: {
        ...baseTooltip,
        trigger: 'axis',
        formatter: (params) => {
          const day = current.snapshot.daily_sales[params[0].dataIndex];
          return tooltip(day.day, [
            ['Revenue', dollars(day.revenue_cents), COLORS.revenue],
            ['Orders', count(day.orders), COLORS.orders],
            ['Units', count(day.units)],
          ]);
        },
      },
      xAxis: { type: 'category', axisLabel: { ...axisLabel, formatter: (d) => d.slice(5) } },
      yAxis: [
        { type: 'value', name: 'Revenue', axisLabel: { ...axisLabel, formatter: dollarsShort } },
        { type: 'value', name: 'Orders', minInterval: 1, splitLine: { show: false }, axisLabel },
      ],
      series: [
        { name: 'Revenue', type: 'bar', barMaxWidth: 18 },
        { name: 'Orders', type: 'line', yAxisIndex: 1, symbol: 'circle', symbolSize: 4, smooth: false },
      ],
    },
    data: (s) => {
      const days = s.daily_sales ?? [];
      return {
        xAxis: { data: days.map((d) => d.day) },
        series: [{ data: days.map((d) => d.revenue_cents) }, { data: days.map((d) => d.orders) }],
      };
    },
  },

  'chart-funnel': {
    base: {
      color: ['#2f6fdf', '#5b8def', '#1f8a4c'],
      tooltip: {
        ...baseTooltip,
        trigger: 'item',
        formatter: () => {
          const t = funnelTotals(current.snapshot);
          return tooltip('Conversion funnel', [
            ['Viewed', count(t.viewed)],
            ['Carted', count(t.carted)],
            ['Converted', count(t.converted)],
            ['Carted / viewed', percent(t.carted, t.viewed)],
            ['Converted / carted', percent(t.converted, t.carted)],
            ['Converted / viewed', percent(t.converted, t.viewed)],
          ]);
        },
      },
      series: [{
        type: 'funnel',
        sort: 'none',
        min: 0,
        left: '6%',
        top: 16,
        bottom: 16,
        width: '50%',
        minSize: '8%',
        gap: 4,
        label: { position: 'right', color: '#1f2933', fontSize: 12, lineHeight: 17 },
        labelLine: { length: 12 },
      }],
    },
    // with a segment chosen: the same steps (sessions first) as bars, side by side per value
    bySegment: {
      ...segmentFrame(FUNNEL_COLORS, FUNNEL_STEPS.map(([name]) => name), segmentRows, (r) => [
        ...FUNNEL_STEPS.map(([name, k], i) => [name, count(r[k]), FUNNEL_COLORS[i]]),
        ['Viewed / sessions', percent(r.viewed, r.sessions)],
        ['Carted / viewed', percent(r.carted, r.viewed)],
        ['Converted / carted', percent(r.converted, r.carted)],
        ['Converted / sessions', percent(r.converted, r.sessions)],
      ]),
      yAxis: { type: 'value', minInterval: 1, axisLabel: { ...axisLabel, formatter: count } },
      series: FUNNEL_STEPS.map(([name], i) => ({
        name,
        type: 'bar',
        barMaxWidth: 14,
        // the converted bar carries the segment's conversion: converted / sessions
        label: i < FUNNEL_STEPS.length - 1 ? { show: false } : {
          show: true, position: 'top', fontSize: 10, color: '#1f2933',
          formatter: (p) => {
            const r = segmentRows(current.snapshot, current.segment)[p.dataIndex];
            return percent(r.converted, r.sessions);
          },
        },
      })),
    },
    bySegmentData: (s) => {
      const rows = segmentRows(s, current.segment);
      return {
        title: { show: !rows.length },
        xAxis: { data: rows.map((r) => segmentLabel(r.key)) },
        series: FUNNEL_STEPS.map(([, k]) => ({ data: rows.map((r) => r[k]) })),
      };
    },
    data: (s) => {
      const t = funnelTotals(s);
      const labels = [
        `Viewed\n${count(t.viewed)}`,
        `Carted ${count(t.carted)}\n${percent(t.carted, t.viewed)} of viewed`,
        `Converted ${count(t.converted)}\n${percent(t.converted, t.carted)} of carted\n${percent(t.converted, t.viewed)} of viewed`,
      ];
      const values = [t.viewed, t.carted, t.converted];
      return {
        series: [{
          max: Math.max(t.viewed, 1),
          data: ['Viewed', 'Carted', 'Converted'].map((name, i) => ({
            name, value: values[i], label: { formatter: labels[i] },
          })),
        }],
      };
    },
  },

  'chart-segment-revenue': {
    base: {
      ...segmentFrame([COLORS.revenue, COLORS.orders], ['Revenue', 'Orders'], revenueRows, (r) => [
        ['Revenue', dollars(r.revenue_cents), COLORS.revenue],
        ['Orders', count(r.orders), COLORS.orders],
        ['Average order', r.orders > 0 ? dollars(Math.round(r.revenue_cents / r.orders)) : '—'],
      ]),
      yAxis: [
        { type: 'value', name: 'Revenue', axisLabel: { ...axisLabel, formatter: dollarsShort } },
        { type: 'value', name: 'Orders', minInterval: 1, splitLine: { show: false }, axisLabel },
      ],
      series: [
        { name: 'Revenue', type: 'bar', barMaxWidth: 40, label: { show: true, position: 'top', fontSize: 11, color: '#1f2933', formatter: (p) => dollarsShort(p.value) } },
        { name: 'Orders', type: 'line', yAxisIndex: 1, symbol: 'circle', symbolSize: 7, lineStyle: { width: 0 } },
      ],
    },
    data: (s) => {
      const rows = revenueRows(s, current.segment);
      return {
        title: { show: !rows.length },
        xAxis: { data: rows.map((r) => segmentLabel(r.key)) },
        // a label per bar only while there is room for one
        series: [{ data: rows.map((r) => r.revenue_cents), label: { show: rows.length <= 6 } }, { data: rows.map((r) => r.orders) }],
      };
    },
  },

  'chart-top-units': topProductsSpec('by_units', 'units', COLORS.units, count),
  'chart-top-revenue': topProductsSpec('by_revenue', 'revenue_cents', COLORS.revenue, dollarsShort),

  'chart-categories': {
    base: {
      color: [COLORS.revenue],
      grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
      tooltip: {
        ...baseTooltip,
        trigger: 'item',
        formatter: (p) => {
          const c = sortedCategories(current.snapshot)[p.dataIndex];
          return tooltip(orUnknown(c.name), [
            ['Category id', c.category_id],
            ['Revenue', dollars(c.revenue_cents)],
            ['Order lines', count(c.lines)],
          ]);
        },
      },
      xAxis: {
        type: 'category',
        axisLabel: { ...axisLabel, interval: 0, rotate: 40, formatter: (n) => truncate(n, 14) },
      },
      yAxis: { type: 'value', axisLabel: { ...axisLabel, formatter: dollarsShort } },
      series: [{ type: 'bar', barMaxWidth: 28 }],
    },
    data: (s) => {
      const cats = sortedCategories(s);
      return {
        xAxis: { data: cats.map((c) => orUnknown(c.name)) },
        series: [{ data: cats.map((c) => c.revenue_cents) }],
      };
    },
  },

  'chart-spend': {
    base: {
      color: [COLORS.spend],
      grid: { left: 8, right: 8, top: 28, bottom: 8, containLabel: true },
      tooltip: {
        ...baseTooltip,
        trigger: 'item',
        formatter: (p) => {
          const y = current.snapshot.spend_by_registration_year[p.dataIndex];
          return tooltip(`Registered in ${yearLabel(y.year)}`, [
            ['Mean per order', dollars(y.mean_cents)],
            ['Orders', count(y.orders)],
            ['Total', dollars(y.total_cents)],
          ]);
        },
      },
      xAxis: { type: 'category', axisLabel },
      yAxis: { type: 'value', axisLabel: { ...axisLabel, formatter: dollarsShort } },
      series: [{
        type: 'bar',
        barMaxWidth: 64,
        label: { show: true, position: 'top', color: '#1f2933', formatter: (p) => dollars(p.value) },
      }],
    },
    data: (s) => {
      const years = s.spend_by_registration_year ?? [];
      return {
        xAxis: { data: years.map((y) => yearLabel(y.year)) },
        series: [{ data: years.map((y) => y.mean_cents) }],
      };
    },
  },

  'chart-cohorts': {
    base: {
      grid: { left: 8, right: 72, top: 28, bottom: 24, containLabel: true },
      tooltip: {
        ...baseTooltip,
        trigger: 'item',
        formatter: (p) => {
          const [x, y, users] = p.value;
          const axes = cohortAxes(current.snapshot);
          return tooltip('Cohort', [
            ['Registered', axes.ys[y]],
            ['Bought in', axes.xs[x]],
            ['Users', count(users)],
          ]);
        },
      },
      xAxis: { type: 'category', name: 'purchase month', nameLocation: 'middle', nameGap: 26, axisLabel, splitArea: { show: true } },
      yAxis: { type: 'category', name: 'registered', axisLabel, splitArea: { show: true } },
      visualMap: {
        type: 'continuous',
        min: 0,
        calculable: true,
        orient: 'vertical',
        right: 0,
        top: 'middle',
        itemHeight: 160,
        itemWidth: 12,
        textStyle: { color: '#52606d', fontSize: 11 },
        inRange: { color: ['#eef4ff', '#9dbcf5', '#2f6fdf', '#173a86'] },
      },
      series: [{ type: 'heatmap', label: { show: true, fontSize: 11 }, emphasis: { itemStyle: { borderColor: '#1f2933', borderWidth: 1 } } }],
    },
    data: (s) => {
      const { xs, ys, cells, max } = cohortAxes(s);
      return {
        xAxis: { data: xs },
        yAxis: { data: ys },
        visualMap: { max: Math.max(max, 1) },
        series: [{ data: cells }],
      };
    },
  },

  'chart-pipeline': {
    base: {
      title: [
        { text: 'Events per second by topic', left: 0, top: 0, textStyle: { fontSize: 12, fontWeight: 500, color: '#52606d' } },
        { text: 'Consumer lag by group (messages)', left: 0, top: '52%', textStyle: { fontSize: 12, fontWeight: 500, color: '#52606d' } },
      ],
      grid: [
        { left: 8, right: 56, top: 24, height: '36%', containLabel: true },
        { left: 8, right: 56, top: '60%', bottom: 8, containLabel: true },
      ],
      tooltip: {
        ...baseTooltip,
        trigger: 'item',
        formatter: (p) => {
          const pl = current.snapshot.pipeline;
          if (p.seriesIndex === 0) {
            const t = pl.topics[p.dataIndex];
            return tooltip(t.topic, [['Events/s', rate(t.events_per_s)], ['Messages', count(t.messages)]]);
          }
          const g = pl.groups[p.dataIndex];
          return tooltip(g.group, g.lag == null ? [['Lag', 'unknown'], ['Why', g.error ?? 'not read']] : [['Lag', count(g.lag)]]);
        },
      },
      xAxis: [
        { type: 'value', gridIndex: 0, splitNumber: 3, axisLabel: { ...axisLabel, hideOverlap: true } },
        { type: 'value', gridIndex: 1, splitNumber: 3, minInterval: 1, axisLabel: { ...axisLabel, hideOverlap: true, formatter: count } },
      ],
      yAxis: [
        { type: 'category', gridIndex: 0, inverse: true, axisLabel: { ...axisLabel, formatter: (n) => pipelineLabel(0, n) } },
        { type: 'category', gridIndex: 1, inverse: true, axisLabel: { ...axisLabel, formatter: (n) => pipelineLabel(1, n) } },
      ],
      series: [
        { type: 'bar', xAxisIndex: 0, yAxisIndex: 0, color: COLORS.units, barMaxWidth: 16, label: { show: true, position: 'right', fontSize: 11, formatter: (p) => rate(p.value) } },
        { type: 'bar', xAxisIndex: 1, yAxisIndex: 1, color: COLORS.lag, barMaxWidth: 16, label: { show: true, position: 'right', fontSize: 11, formatter: (p) => (p.data?.unknown ? 'unknown' : count(p.value)) } },
      ],
    },
    data: (s) => {
      const topics = s.pipeline?.topics ?? [];
      const groups = s.pipeline?.groups ?? [];
      pipelineLeads[0] = sharedLead(topics.map((t) => t.topic));
      pipelineLeads[1] = sharedLead(groups.map((g) => g.group));
      return {
        yAxis: [{ data: topics.map((t) => t.topic) }, { data: groups.map((g) => g.group) }],
        // a lag Kafka could not tell is drawn as the word "unknown", never as a number
        series: [{ data: topics.map((t) => t.events_per_s) },
          { data: groups.map((g) => (g.lag == null ? { value: 0, unknown: true } : g.lag)) }],
      };
    },
  },
};

function topProductsSpec(list, field, color, short) {
  const products = (s) => s.top_products?.[list] ?? [];
  return {
    base: {
      color: [color],
      grid: { left: 8, right: 64, top: 8, bottom: 8, containLabel: true },
      tooltip: {
        ...baseTooltip,
        trigger: 'item',
        formatter: (p) => {
          const prod = products(current.snapshot)[p.dataIndex];
          return tooltip(prod.name || prod.product_id, [
            ['Product id', prod.product_id],
            ['Units', count(prod.units)],
            ['Revenue', dollars(prod.revenue_cents)],
          ]);
        },
      },
      xAxis: { type: 'value', splitNumber: 4, axisLabel: { ...axisLabel, formatter: short, hideOverlap: true } },
      // inverse puts rank 1 at the top, as the server ranks the list.
      yAxis: { type: 'category', inverse: true, axisLabel: { ...axisLabel, formatter: (n) => truncate(n, 18) } },
      series: [{
        type: 'bar',
        barMaxWidth: 20,
        label: { show: true, position: 'right', fontSize: 11, color: '#1f2933', formatter: (p) => short(p.value) },
      }],
    },
    data: (s) => ({
      yAxis: { data: products(s).map((p) => p.name || p.product_id) },
      series: [{ data: products(s).map((p) => p[field]) }],
    }),
  };
}

function funnelTotals(s) {
  const t = s.funnel?.total ?? {};
  return { viewed: t.viewed ?? 0, carted: t.carted ?? 0, converted: t.converted ?? 0 };
}

// Ranked by revenue so the bar chart reads left to right; the server sends them by id.
const sortedCategories = (s) =>
  [...(s.category_revenue ?? [])].sort((a, b) => b.revenue_cents - a.revenue_cents);

const yearLabel = (year) => (year == null || year === 'unknown' ? '(unknown)' : String(year));

function cohortAxes(s) {
  const rows = s.cohorts ?? [];
  // "unknown" registration months go last rather than sorting among the dates.
  const byMonth = (a, b) => (a === 'unknown') - (b === 'unknown') || (a < b ? -1 : a > b ? 1 : 0);
  const xs = [...new Set(rows.map((r) => r.transaction_month))].sort(byMonth);
  const yRaw = [...new Set(rows.map((r) => r.registration_month))].sort(byMonth);
  const ys = yRaw.map(orUnknown);
  const cells = rows.map((r) => [xs.indexOf(r.transaction_month), yRaw.indexOf(r.registration_month), r.users]);
  const max = rows.reduce((m, r) => Math.max(m, r.users), 0);
  return { xs: xs.map(orUnknown), ys, cells, max };
}

// The chart's minutes end at the newest minute the counters hold, not at the browser's clock:
// after a backfill that minute lies in the past, and a window ending "now" would be empty. The
// snapshot leaves out minutes without events; they are drawn as zeros, so the axis is even.
function minuteWindow(s) {
  const rows = s.minutes ?? [];
  if (!rows.length) return [];
  const held = new Map(rows.map((m) => [m.minute, m]));
  const newest = rows.reduce((a, m) => (m.minute > a ? m.minute : a), rows[0].minute);
  const end = Date.parse(newest.replace(/Z$/, ':00Z'));
  const out = [];
  for (let i = MINUTE_WINDOW - 1; i >= 0; i--) {
    const minute = `${new Date(end - i * 60000).toISOString().slice(0, 16)}Z`;
    out.push(held.get(minute) ?? { minute, orders: 0, revenue_cents: 0, sessions: 0, page_views: 0, converted: 0 });
  }
  return out;
}

const totalRevenue = (s) => (s.daily_sales ?? []).reduce((sum, d) => sum + (d.revenue_cents ?? 0), 0);

// The rows of one segment dimension, by key as the server sorts them ('all' has none).
const segmentRows = (s, segment) => (segment === 'all' ? [] : s.segments?.[segment] ?? []);

// What the revenue chart draws: every order of the shop for 'all'; per segment value, the
// orders its sessions converted into (an order without a session belongs to no segment).
function revenueRows(s, segment) {
  if (segment === 'all') return [{ key: null, orders: s.counts?.transactions ?? 0, revenue_cents: totalRevenue(s) }];
  return segmentRows(s, segment);
}

const segmentLabel = (key) => (key === null ? 'All orders' : orUnknown(key));
const segmentTitle = (key) => (key === null ? 'All orders' : `${SEGMENTS[current.segment]}: ${orUnknown(key)}`);

// The range figures: the days of the brush (from and to included), every day while none is
// chosen. Conversion is the funnel's over the same days of session start: converted / viewed.
function rangeFigures(s, range) {
  const inRange = (d) => !range || (d.day >= range.from && d.day <= range.to);
  const sum = (rows, k) => rows.reduce((n, r) => n + (r[k] ?? 0), 0);
  const days = (s.daily_sales ?? []).filter(inRange);
  const funnel = (s.funnel?.by_day ?? []).filter(inRange);
  return {
    days: days.length,
    revenue_cents: sum(days, 'revenue_cents'),
    orders: sum(days, 'orders'),
    viewed: sum(funnel, 'viewed'),
    converted: sum(funnel, 'converted'),
  };
}

// ---------- state and rendering ----------

const charts = {};
// segment: the switch's value; range: the brushed days ({from, to}) or null for every day
const current = { snapshot: null, charts, updates: 0, segment: 'all', range: null };
window.ecomDashboard = current;

// A chart with a by-segment form draws that form while a segment is chosen.
function specOf(id) {
  const spec = chartSpecs[id];
  return spec.bySegment && current.segment !== 'all' ? { base: spec.bySegment, data: spec.bySegmentData } : spec;
}

for (const id of Object.keys(chartSpecs)) {
  charts[id] = echarts.init($(id), null, { renderer: 'canvas' });
  charts[id].setOption(specOf(id).base);
}

const formats = { dollars, count, rate, orUnknown, percent };
const tables = setupTables(formats, charts, current, { minuteWindow, segmentRows, revenueRows, segmentLabel });
const products = setupProducts(formats, current);

function renderKpis(s) {
  const revenue = totalRevenue(s);
  const sessions = s.counts?.sessions ?? 0;
  const dead = s.pipeline?.dead_letters ?? 0;
  $('kpi-revenue').textContent = dollars(revenue);
  $('kpi-orders').textContent = count(s.counts?.transactions);
  $('kpi-sessions').textContent = count(sessions);
  $('kpi-conversion').textContent = percent(funnelTotals(s).converted, sessions);
  $('kpi-dead-letters').textContent = count(dead);
  $('kpi-dead-letters').classList.toggle('warn', dead > 0);
  $('kpi-active').textContent = count(s.active_sessions);
}

// ---------- the segment switch ----------

const SEGMENTED = ['chart-funnel', 'chart-segment-revenue'];

function renderSegmentText() {
  const seg = current.segment;
  const by = seg === 'all' ? '' : ` by ${SEGMENTS[seg].toLowerCase()}`;
  $('funnel-title').textContent = `Conversion funnel${by}`;
  $('segment-revenue-title').textContent = `Revenue${by}`;
  $('segment-revenue-note').textContent = seg === 'all'
    ? 'Every order of the shop, with or without a session.'
    : `The orders each ${SEGMENTS[seg].toLowerCase()}'s sessions converted into; an order without a session counts under All only.`;
}

function setSegment(seg) {
  if (!Object.keys(SEGMENTS).includes(seg) || seg === current.segment) return;
  current.segment = seg;
  for (const b of $('segment-switch').querySelectorAll('button')) {
    const on = b.dataset.segment === seg;
    b.classList.toggle('on', on);
    b.setAttribute('aria-pressed', String(on));
  }
  renderSegmentText();
  // the funnel changes kind (a funnel for all, bars per value): both are drawn afresh
  for (const id of SEGMENTED) {
    charts[id].clear();
    charts[id].setOption(specOf(id).base);
    if (current.snapshot) charts[id].setOption(specOf(id).data(current.snapshot));
  }
  tables.update();
}

$('segment-switch').addEventListener('click', (ev) => {
  const button = ev.target.closest('button[data-segment]');
  if (button) setSegment(button.dataset.segment);
});
renderSegmentText();

// ---------- the date range of the daily chart ----------

const sales = charts['chart-sales'];
// dragging on the chart draws a brush without a toolbox button to pick first
const takeBrush = () => sales.dispatchAction({
  type: 'takeGlobalCursor', key: 'brush', brushOption: { brushType: 'lineX', brushMode: 'single' },
});
takeBrush();

function renderRange() {
  const s = current.snapshot;
  if (!s) return;
  const r = current.range;
  const f = rangeFigures(s, r);
  const days = `${count(f.days)} ${f.days === 1 ? 'day' : 'days'}`;
  $('range-days').textContent = r ? `${r.from} to ${r.to} · ${days}` : `all ${days}`;
  $('range-revenue').textContent = dollars(f.revenue_cents);
  $('range-orders').textContent = count(f.orders);
  $('range-aov').textContent = f.orders > 0 ? dollars(Math.round(f.revenue_cents / f.orders)) : '—';
  $('range-conversion').textContent = percent(f.converted, f.viewed);
  $('range-clear').hidden = !r;
}

// A brush on a category axis spans day indices; the range keeps the days themselves, so a day
// that arrives later (a backfill, a new day) does not shift what was chosen.
let brushed = null; // the day indices the brush covers, as last drawn

sales.on('brush', (ev) => {
  const area = ev.areas?.[0];
  const days = current.snapshot?.daily_sales ?? [];
  if (!area || !days.length) {
    brushed = null;
    current.range = null;
  } else {
    const clamp = (i) => Math.min(Math.max(Math.round(i), 0), days.length - 1);
    brushed = area.coordRange.map(clamp).sort((x, y) => x - y);
    current.range = { from: days[brushed[0]].day, to: days[brushed[1]].day };
  }
  renderRange();
});

// After new data, the brush is put back over the range's days where their indices moved.
function syncBrush(s) {
  const r = current.range;
  if (!r) return;
  const days = (s.daily_sales ?? []).map((d) => d.day);
  const a = days.findIndex((d) => d >= r.from);
  let b = days.length - 1;
  while (b >= 0 && days[b] > r.to) b--;
  if (a < 0 || b < a || (brushed && brushed[0] === a && brushed[1] === b)) return;
  sales.dispatchAction({ type: 'brush', areas: [{ brushType: 'lineX', xAxisIndex: 0, coordRange: [a, b] }] });
}

$('range-clear').addEventListener('click', () => sales.dispatchAction({ type: 'brush', areas: [] }));

function renderStatus(s) {
  const p = s.pipeline ?? {};
  const updated = p.updated_at ? new Date(p.updated_at) : null;
  const when = updated && !Number.isNaN(updated.getTime()) ? updated.toLocaleString() : 'never';
  $('status').textContent =
    `generation ${p.generation ?? '—'} · latency p50 ${p.latency_ms?.p50 ?? '—'} ms, ` +
    `p99 ${p.latency_ms?.p99 ?? '—'} ms · updated ${when}`;
  $('status').title = p.updated_at ?? '';
}

// Kafka's figures (events/s, lag, dead letters in the topic) are unknown while it does not answer.
function renderPipelineNote(s) {
  const why = s.pipeline?.kafka_error;
  $('pipeline-unknown').hidden = !why;
  $('pipeline-unknown').textContent = why ? `Kafka's figures are unknown for now (${why}).` : '';
}

function showWaiting(reason) {
  $('waiting').hidden = false;
  if (reason) $('waiting-reason').textContent = reason;
}

function applySnapshot(s) {
  if (!s || typeof s !== 'object' || s.error) {
    showWaiting(s?.error ? `No data yet (server: ${s.error}); this page fills in by itself as soon as counters arrive.` : null);
    return;
  }
  current.snapshot = s;
  current.updates += 1;
  $('waiting').hidden = true;
  document.body.classList.remove('no-data');
  renderKpis(s);
  renderStatus(s);
  renderPipelineNote(s);
  for (const id of Object.keys(chartSpecs)) charts[id].setOption(specOf(id).data(s));
  syncBrush(s);
  renderRange();
  renderDataset(s, count);
  tables.update();
  products.changed();
}

async function loadInitial() {
  try {
    const res = await fetch('/api/metrics.json', { cache: 'no-store' });
    const body = await res.json().catch(() => null);
    // The stream may already have delivered something newer while this was in flight.
    if (current.updates > 0) return;
    if (res.ok) applySnapshot(body);
    else showWaiting(`No data yet (server: ${body?.error ?? `HTTP ${res.status}`}); this page fills in by itself as soon as counters arrive.`);
  } catch (err) {
    if (current.updates === 0) showWaiting(`Could not reach the server (${err.message}).`);
  }
}

function setConnection(state, text) {
  const badge = $('connection');
  badge.className = `conn conn-${state}`;
  badge.textContent = text;
}

function connectStream() {
  const source = new EventSource('/api/stream');
  source.onopen = () => setConnection('live', 'live');
  source.addEventListener('metrics', (ev) => {
    let snapshot;
    try {
      snapshot = JSON.parse(ev.data);
    } catch {
      return; // a torn message is followed by a whole one soon enough
    }
    setConnection('live', 'live');
    applySnapshot(snapshot);
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // The browser gives up on a non-200 answer (e.g. 503 before the first counters); keep trying.
      setConnection('reconnecting', 'reconnecting');
      setTimeout(connectStream, 5000);
    } else {
      setConnection('reconnecting', 'reconnecting');
    }
  };
}

let resizeQueued = false;
window.addEventListener('resize', () => {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    for (const chart of Object.values(charts)) chart.resize();
  });
});

// ---------- user sessions ----------

let lookupSeq = 0;

function showUserError(message) {
  $('user-error').textContent = message;
  $('user-error').hidden = !message;
}

function renderSessions(body) {
  const sessions = body.sessions ?? [];
  const total = body.summary?.total_duration_seconds ?? 0;
  const n = body.summary?.count ?? sessions.length;
  $('user-summary').textContent =
    `${body.user_id}: ${n} ${n === 1 ? 'session' : 'sessions'}, total duration ${duration(total)} (${total} s)`;

  const rows = sessions.map((x) => {
    const tr = el('tr');
    tr.append(
      el('td', null, utc(x.start_time)),
      el('td', null, x.session_id),
      el('td', 'num', duration(x.duration_seconds)),
      el('td', `conv-${x.conversion}`, x.conversion),
      el('td', null, x.referrer),
      el('td', null, x.device),
      el('td', 'num', count(x.page_views)),
      el('td', 'num', count(x.cart_lines)),
    );
    return tr;
  });
  if (!rows.length) {
    const td = el('td', 'empty', 'No sessions for this user.');
    td.colSpan = 8;
    rows.push(el('tr'));
    rows[0].append(td);
  }
  $('user-sessions-body').replaceChildren(...rows);
  $('user-sessions').hidden = false;
}

async function lookupUser(rawId) {
  const id = rawId.trim();
  showUserError('');
  if (!USER_ID.test(id)) {
    $('user-sessions').hidden = true;
    showUserError(`"${id}" is not a user id: expected user_ followed by at least 6 digits, e.g. user_000042.`);
    return;
  }
  // Only the latest lookup may write to the panel, whatever order the answers arrive in.
  const seq = ++lookupSeq;
  try {
    const res = await fetch(`/api/users/${encodeURIComponent(id)}/sessions`, { cache: 'no-store' });
    const body = await res.json().catch(() => null);
    if (seq !== lookupSeq) return;
    if (!res.ok || !body) {
      $('user-sessions').hidden = true;
      showUserError(body?.error ? `Error: ${body.error}` : `The server answered HTTP ${res.status}.`);
      return;
    }
    renderSessions(body);
  } catch (err) {
    if (seq !== lookupSeq) return;
    $('user-sessions').hidden = true;
    showUserError(`Network error: ${err.message}`);
  }
}

$('user-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  lookupUser($('user-search').value);
});

// ---------- start ----------

loadInitial();
connectStream();
