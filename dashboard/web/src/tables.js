// tables.js — the numbers behind the charts, to read and to take away: a "Table" toggle and a
// "CSV" link on every chart panel, the dataset summary as tiles, and the table of all products
// (sorted, filtered and paged here in the browser, refreshed live without losing any of that).
// The CSV links are the server's exports (/api/export/<name>.csv, the same rows as
// `ecom report`); the products come from /api/export/products.json. Figures that no export
// holds (the shop's revenue in one row, Kafka's samples) the page writes into the file itself,
// from the snapshot it shows. A chart that follows the segment switch shows and downloads the
// rows of the dimension chosen (segments_device, segments_referrer, segments_country).

import { $, el } from './dom.js';

// A table's columns: [heading, cell text of a row, numeric?]
function tableOf(columns, rows, empty) {
  const head = el('tr');
  for (const [title, , numeric] of columns) head.append(el('th', numeric ? 'num' : null, title));
  const body = rows.map((r) => {
    const tr = el('tr');
    for (const [, text, numeric] of columns) tr.append(el('td', numeric ? 'num' : null, text(r)));
    return tr;
  });
  if (!body.length) {
    const td = el('td', 'empty', empty);
    td.colSpan = columns.length;
    body.push(el('tr'));
    body[0].append(td);
  }
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  tbody.append(...body);
  const table = el('table');
  table.append(thead, tbody);
  return table;
}

// RFC 4180, for the one panel whose figures only the page has (the pipeline's Kafka samples).
const csvField = (v) => {
  const s = v == null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvText = (header, rows) => [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';

// A file the page writes: a header of field names and a row of raw values per row.
const rawFile = (fields) => (rows) => csvText(fields.map(([name]) => name), rows.map((r) => fields.map(([, v]) => v(r))));

const SEGMENT_NAMES = { device: 'Device', referrer: 'Referrer', country: 'Country' };

// data: the page's readings of the snapshot that the charts draw (minuteWindow, segmentRows,
// revenueRows, segmentLabel), so a table shows exactly the chart's rows
export function setupTables(fmt, charts, current, data) {
  const { dollars, count, rate, orUnknown, percent } = fmt;
  const money = (c) => dollars(c);
  const ranked = (list) => (s) => (s.top_products?.[list] ?? []).map((p, i) => ({ ...p, rank: i + 1 }));
  const productColumns = [
    ['#', (p) => String(p.rank), true],
    ['Product', (p) => p.name || p.product_id],
    ['Id', (p) => p.product_id],
    ['Units', (p) => count(p.units), true],
    ['Revenue', (p) => money(p.revenue_cents), true],
  ];

  const segmentView = (v) => ({ csv: `segments_${current.segment}`, ...v });

  // chart id -> the export its CSV link downloads (or the file the page writes, and its name),
  // its rows in the snapshot, its columns; a function gives the view of the segment chosen
  const views = {
    'chart-minutes': {
      rows: (s) => data.minuteWindow(s),
      columns: [['Minute (UTC)', (m) => m.minute.slice(0, 16).replace('T', ' ')], ['Revenue', (m) => money(m.revenue_cents), true],
        ['Orders', (m) => count(m.orders), true], ['Sessions', (m) => count(m.sessions), true],
        ['Page views', (m) => count(m.page_views), true], ['Converted', (m) => count(m.converted), true]],
      csv: 'minutes', // every minute Redis holds, up to 1,440; the table is the chart's 120
    },
    'chart-segment-revenue': () => (current.segment === 'all' ? {
      rows: (s) => data.revenueRows(s, 'all'),
      columns: [['', (r) => data.segmentLabel(r.key)], ['Orders', (r) => count(r.orders), true],
        ['Revenue', (r) => money(r.revenue_cents), true]],
      file: (s) => rawFile([['segment', () => 'all'], ['orders', (r) => r.orders], ['revenue_cents', (r) => r.revenue_cents]])(data.revenueRows(s, 'all')),
      name: () => 'revenue-all',
    } : segmentView({
      rows: (s) => data.segmentRows(s, current.segment),
      columns: [[SEGMENT_NAMES[current.segment], (r) => data.segmentLabel(r.key)], ['Orders', (r) => count(r.orders), true],
        ['Revenue', (r) => money(r.revenue_cents), true],
        ['Average order', (r) => (r.orders > 0 ? money(Math.round(r.revenue_cents / r.orders)) : '—'), true]],
    })),
    'chart-sales': {
      csv: 'daily_sales',
      rows: (s) => s.daily_sales ?? [],
      columns: [['Day', (d) => d.day], ['Revenue', (d) => money(d.revenue_cents), true],
        ['Orders', (d) => count(d.orders), true], ['Units', (d) => count(d.units), true]],
    },
    'chart-funnel': () => (current.segment === 'all' ? {
      csv: 'funnel_by_day',
      rows: (s) => s.funnel?.by_day ?? [],
      columns: [['Day (session start)', (d) => d.day], ['Viewed', (d) => count(d.viewed), true],
        ['Carted', (d) => count(d.carted), true], ['Converted', (d) => count(d.converted), true]],
    } : segmentView({
      rows: (s) => data.segmentRows(s, current.segment),
      columns: [[SEGMENT_NAMES[current.segment], (r) => data.segmentLabel(r.key)], ['Sessions', (r) => count(r.sessions), true],
        ['Viewed', (r) => count(r.viewed), true], ['Carted', (r) => count(r.carted), true],
        ['Converted', (r) => count(r.converted), true], ['Converted / sessions', (r) => percent(r.converted, r.sessions), true]],
    })),
    'chart-top-units': { csv: 'products', rows: ranked('by_units'), columns: productColumns },
    'chart-top-revenue': { csv: 'products', rows: ranked('by_revenue'), columns: productColumns },
    'chart-categories': {
      csv: 'category_revenue',
      rows: (s) => s.category_revenue ?? [],
      columns: [['Category', (c) => orUnknown(c.name)], ['Id', (c) => c.category_id],
        ['Order lines', (c) => count(c.lines), true], ['Revenue', (c) => money(c.revenue_cents), true]],
    },
    'chart-spend': {
      csv: 'spend_by_registration_year',
      rows: (s) => s.spend_by_registration_year ?? [],
      columns: [['Registered', (y) => (y.year ? String(y.year) : '(unknown)')], ['Orders', (y) => count(y.orders), true],
        ['Total', (y) => money(y.total_cents), true], ['Mean per order', (y) => money(y.mean_cents), true]],
    },
    'chart-cohorts': {
      csv: 'cohorts',
      rows: (s) => s.cohorts ?? [],
      columns: [['Registered', (c) => orUnknown(c.registration_month)], ['Bought in', (c) => c.transaction_month],
        ['Users', (c) => count(c.users), true]],
    },
    'chart-pipeline': {
      rows: (s) => [
        ...(s.pipeline?.topics ?? []).map((t) => ({ kind: 'topic', name: t.topic, messages: t.messages, events_per_s: t.events_per_s })),
        ...(s.pipeline?.groups ?? []).map((g) => ({ kind: 'consumer group', name: g.group, lag: g.lag, error: g.error })),
      ],
      columns: [['Kind', (r) => r.kind], ['Name', (r) => r.name],
        ['Events/s', (r) => (r.kind === 'topic' ? rate(r.events_per_s) : ''), true],
        ['Messages', (r) => (r.messages == null ? '' : count(r.messages)), true],
        ['Lag', (r) => (r.kind === 'topic' ? '' : r.lag == null ? 'unknown' : count(r.lag)), true]],
      // no export: these are the dashboard's own samples of Kafka, so the page writes the file
      file: (s) => csvText(['kind', 'name', 'messages', 'events_per_s', 'lag', 'error'],
        views['chart-pipeline'].rows(s).map((r) => [r.kind, r.name, r.messages, r.events_per_s, r.lag, r.error])),
    },
  };
  const viewOf = (id) => (typeof views[id] === 'function' ? views[id]() : views[id]);

  const shown = {};
  const wraps = {};
  const links = {};
  for (const id of Object.keys(views)) {
    const chartNode = $(id);
    // a chart's heading is its panel's, or its own where a panel holds two (the segments)
    const h2 = chartNode.parentElement.querySelector('h2');
    const head = el('div', 'panel-head');
    const tools = el('div', 'panel-tools');
    const toggle = el('button', 'tool', 'Table');
    toggle.type = 'button';
    toggle.id = `${id}-table-toggle`;
    toggle.setAttribute('aria-pressed', 'false');
    toggle.title = 'Show the numbers as a table';
    const link = el('a', 'tool', 'CSV');
    link.id = `${id}-csv`;
    link.title = 'Download these numbers as CSV';
    link.setAttribute('download', '');
    links[id] = link;
    pointLink(id);
    // a file of the page's own is written at the click, from the snapshot on show then
    link.addEventListener('click', (ev) => {
      const view = viewOf(id);
      if (view.csv) return;
      if (!current.snapshot) return ev.preventDefault();
      const stamp = new Date().toISOString().slice(0, 16).replace(':', '');
      link.download = `ecom-${view.name ? view.name() : id.replace('chart-', '')}-${stamp}Z.csv`;
      if (link.dataset.url) URL.revokeObjectURL(link.dataset.url);
      link.dataset.url = URL.createObjectURL(new Blob([view.file(current.snapshot)], { type: 'text/csv' }));
      link.href = link.dataset.url;
    });
    tools.append(toggle, link);
    h2.replaceWith(head);
    head.append(h2, tools);
    const wrap = el('div', 'table-wrap chart-table');
    wrap.id = `${id}-table`;
    wrap.hidden = true;
    chartNode.after(wrap);
    wraps[id] = wrap;
    toggle.addEventListener('click', () => {
      shown[id] = !shown[id];
      toggle.setAttribute('aria-pressed', String(shown[id]));
      toggle.classList.toggle('on', shown[id]);
      wrap.hidden = !shown[id];
      chartNode.hidden = shown[id];
      if (shown[id]) render(id);
      else charts[id].resize();
    });
  }

  // An export's link names the server's file; a file of the page's own gets its name at the click.
  function pointLink(id) {
    const view = viewOf(id);
    const link = links[id];
    if (view.csv) {
      link.href = `/api/export/${view.csv}.csv`;
      link.download = '';
    } else if (!link.dataset.url) {
      link.href = '#';
    }
  }

  function render(id) {
    const s = current.snapshot;
    if (!s) return;
    const view = viewOf(id);
    wraps[id].replaceChildren(tableOf(view.columns, view.rows(s), 'No rows yet.'));
  }

  return {
    // after every snapshot or segment switch: the tables on show and the links follow it
    update() {
      for (const id of Object.keys(views)) {
        pointLink(id);
        if (shown[id]) render(id);
      }
    },
  };
}

// ---------- the dataset summary ----------

export function renderDataset(s, count) {
  for (const k of ['users', 'categories', 'products', 'transactions', 'sessions']) {
    $(`ds-${k}`).textContent = count(s.counts?.[k]);
  }
}

// ---------- all products ----------

const PAGE_SIZE = 25;
const REFRESH_MS = 2000; // at most one products read per this, however fast the counters move

// sort keys: the field and whether it is a number (numbers start high-first, text A-first)
const PRODUCT_COLUMNS = [
  ['product_id', 'Product id', false],
  ['name', 'Name', false],
  ['category_name', 'Category', false],
  ['units', 'Units', true],
  ['revenue_cents', 'Revenue', true],
];

export function setupProducts(fmt, current) {
  const { dollars, count } = fmt;
  const state = {
    rows: [],
    sort: { key: 'revenue_cents', dir: -1 },
    name: '',
    category: '',
    page: 0,
    loads: 0,
    shown: [], // the rows of the page on show, for tests
  };
  current.products = state;

  const categoryLabel = (p) => p.category_name || (p.category_id === 'unknown' ? '(unknown)' : p.category_id);

  // the header: a button per column, aria-sort telling the order
  const headRow = $('products-head');
  for (const [key, title, numeric] of PRODUCT_COLUMNS) {
    const th = el('th', numeric ? 'num' : null);
    th.dataset.key = key;
    const button = el('button', 'sort', title);
    button.type = 'button';
    button.addEventListener('click', () => {
      state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: numeric ? -1 : 1 };
      state.page = 0;
      render();
    });
    th.append(button);
    headRow.append(th);
  }

  $('products-name').addEventListener('input', (ev) => {
    state.name = ev.target.value.trim().toLowerCase();
    state.page = 0;
    render();
  });
  $('products-category').addEventListener('change', (ev) => {
    state.category = ev.target.value;
    state.page = 0;
    render();
  });
  $('products-prev').addEventListener('click', () => {
    state.page -= 1;
    render();
  });
  $('products-next').addEventListener('click', () => {
    state.page += 1;
    render();
  });

  function fillCategories() {
    const select = $('products-category');
    const names = new Map();
    for (const p of state.rows) names.set(p.category_id, categoryLabel(p));
    const options = [...names].sort((a, b) => a[1].localeCompare(b[1]));
    const have = [...select.options].slice(1).map((o) => `${o.value}\u0000${o.textContent}`).join('\u0001');
    if (have === options.map(([id, n]) => `${id}\u0000${n}`).join('\u0001')) return;
    const all = el('option', null, 'All categories');
    all.value = '';
    select.replaceChildren(all, ...options.map(([id, n]) => {
      const o = el('option', null, n);
      o.value = id;
      return o;
    }));
    select.value = state.category; // the choice survives a refresh of the list
    if (select.value !== state.category) select.value = '';
  }

  function visible() {
    const { key, dir } = state.sort;
    const numeric = PRODUCT_COLUMNS.find((c) => c[0] === key)[2];
    const rows = state.rows.filter((p) => (!state.category || p.category_id === state.category) &&
      (!state.name || p.name.toLowerCase().includes(state.name) || p.product_id.includes(state.name)));
    const value = key === 'category_name' ? categoryLabel : (p) => p[key];
    rows.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const c = numeric ? x - y : x < y ? -1 : x > y ? 1 : 0;
      return dir * c || (a.product_id < b.product_id ? -1 : 1);
    });
    return rows;
  }

  function render() {
    const rows = visible();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    state.page = Math.min(Math.max(state.page, 0), pages - 1);
    state.shown = rows.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
    const trs = state.shown.map((p) => {
      const tr = el('tr');
      tr.append(el('td', null, p.product_id), el('td', null, p.name), el('td', null, categoryLabel(p)),
        el('td', 'num', count(p.units)), el('td', 'num', dollars(p.revenue_cents)));
      return tr;
    });
    if (!trs.length) {
      const td = el('td', 'empty', state.rows.length ? 'No product matches.' : 'No products yet.');
      td.colSpan = PRODUCT_COLUMNS.length;
      trs.push(el('tr'));
      trs[0].append(td);
    }
    $('products-body').replaceChildren(...trs);
    for (const th of headRow.children) {
      const on = th.dataset.key === state.sort.key;
      th.setAttribute('aria-sort', on ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    $('products-count').textContent = rows.length === state.rows.length
      ? `${count(rows.length)} products`
      : `${count(rows.length)} of ${count(state.rows.length)} products`;
    $('products-page').textContent = `page ${state.page + 1} of ${pages}`;
    $('products-prev').disabled = state.page === 0;
    $('products-next').disabled = state.page >= pages - 1;
  }

  let inFlight = false;
  let last = 0;
  let timer = null;
  async function load() {
    inFlight = true;
    last = Date.now();
    try {
      const res = await fetch('/api/export/products.json', { cache: 'no-store' });
      if (res.ok) {
        state.rows = await res.json();
        state.loads += 1;
        fillCategories();
        render();
      }
    } catch {
      // the next change notice tries again
    } finally {
      inFlight = false;
    }
  }

  return {
    // on every snapshot: read the products again, at most every REFRESH_MS (the last change wins)
    changed() {
      if (timer) return;
      const wait = inFlight ? REFRESH_MS : Math.max(0, last + REFRESH_MS - Date.now());
      timer = setTimeout(() => {
        timer = null;
        if (inFlight) this.changed();
        else load();
      }, wait);
    },
  };
}
