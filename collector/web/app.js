// Kuzet dashboard: plain JS and SVG, no build step. Reads /api/v1/series, /timeline and /incidents.
// Every name on the page comes from signed but untrusted uploads: the DOM is built with createElement and
// textContent only, never innerHTML (tests/timeline/dashboard_chromium.py uploads hostile names).
// Texts come from /i18n/<lang>.json (i18n/dashboard/): English, Russian, Kazakh; the browser's language
// first, switchable, remembered. Times are UTC everywhere.
'use strict';

// Okabe-Ito colours (safe for the common colour-vision deficiencies), and a pattern for each state that
// matters, so no state is told by colour alone; the legend and tooltips name them.
const STATES = {
  ok: { color: '#009E73' },
  online: { color: '#56B4E9', pattern: 'dots' },
  inconclusive: { color: '#F0E442', pattern: 'vertical' },
  down: { color: '#999999', pattern: 'horizontal' },
  throttled: { color: '#E69F00', pattern: 'dots' },
  intercepted: { color: '#CC79A7', pattern: 'cross' },
  blocked: { color: '#D55E00', pattern: 'diagonal' },
  offline: { color: '#000000', pattern: 'back-diagonal' },
  no_data: { color: '#eeeeee' },
};
const ORDER = ['ok', 'online', 'inconclusive', 'down', 'throttled', 'intercepted', 'blocked', 'offline'];
const BIN_MS = { '10m': 600e3, '1h': 3600e3, '6h': 21600e3, '1d': 86400e3 };
const LANGS = ['en', 'ru', 'kk'];
const SOURCES = ['all', 'kuzet', 'ooni'];
const $ = (id) => document.getElementById(id);
let seriesList = [];
let texts = {}, english = {};
let lastView = null;  // what show() drew, to redraw on resize or language change

// The text of a key with {name} replaced; English, then the key itself, when a language lacks it.
function t(key, vars) {
  let s = Object.hasOwn(texts, key) ? texts[key] : Object.hasOwn(english, key) ? english[key] : key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}
const sourceLabel = (s) => (SOURCES.includes(s) ? t('source.' + s) : String(s));
const stateLabel = (s) => (Object.hasOwn(STATES, s) ? t('state.' + s) : String(s));
const kindLabel = (k) => t('kind.' + k);

function isoToLocalInput(iso) { return iso ? iso.slice(0, 16) : ''; }       // inputs are UTC here
function inputToIso(v) { return v ? v + ':00Z' : ''; }
function fmt(iso) { return iso ? iso.replace('T', ' ').replace(':00Z', '') : t('incident.ongoing'); }
function networkLabel(asn) {
  const s = seriesList.find((x) => String(x.asn) === String(asn) && x.as_name);
  return s ? `AS${asn} ${s.as_name}` : `AS${asn}`;
}

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status + ' ' + (await r.text()));
  return r.json();
}

// A new element with text (never parsed as HTML) and attributes.
function el(name, text, attrs) {
  const e = document.createElement(name);
  if (text !== undefined && text !== null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// ---- language ----

function pickLanguage(params) {
  if (LANGS.includes(params.lang)) return params.lang;
  try {
    const saved = localStorage.getItem('kuzet.lang');
    if (LANGS.includes(saved)) return saved;
  } catch (e) { /* storage may be off */ }
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const primary = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(primary)) return primary;
  }
  return 'en';
}

async function setLanguage(lang) {
  english = Object.keys(english).length ? english : await getJson('/i18n/en.json');
  texts = lang === 'en' ? english : await getJson(`/i18n/${lang}.json`);
  document.documentElement.lang = lang;
  document.body.dataset.lang = lang;
  $('lang').value = lang;
  document.title = t('page.title');
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  drawLegend();
  drawExportButtons();
}

// ---- controls ----

function fillSelect(sel, values, labels, chosen) {
  sel.replaceChildren();
  values.forEach((v, i) => {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = labels ? labels[i] : v;
    sel.appendChild(o);
  });
  if (chosen !== undefined && values.includes(chosen)) sel.value = chosen;
}

function refreshChoices(params) {
  const ccs = [...new Set(seriesList.map((s) => s.cc))].sort();
  fillSelect($('cc'), ccs, null, params.cc || $('cc').value);
  const cc = $('cc').value;
  const asns = [...new Set(seriesList.filter((s) => s.cc === cc).map((s) => String(s.asn)))]
    .sort((a, b) => a - b);
  fillSelect($('asn'), asns, asns.map(networkLabel), String(params.asn || '').replace(/^AS/i, '') || $('asn').value);
  const asn = Number($('asn').value);
  const targets = seriesList.filter((s) => s.cc === cc && s.asn === asn && s.target !== '*')
    .map((s) => s.target).sort();
  fillSelect($('target'), ['*', ...targets], [t('control.target.network'), ...targets],
             params.target || $('target').value || targets[0]);
  const net = seriesList.find((s) => s.cc === cc && s.asn === asn && s.target === '*');
  if (net) {
    if (!$('from').value || params.reset) $('from').value = isoToLocalInput(params.from || net.first);
    if (!$('until').value || params.reset) $('until').value = isoToLocalInput(params.until || net.last);
  }
}

function chooseBin(fromIso, untilIso) {
  const v = $('bin').value;
  if (v !== 'auto') return v;
  const span = Date.parse(untilIso) - Date.parse(fromIso);
  for (const b of ['10m', '1h', '6h', '1d']) if (span / BIN_MS[b] <= 800) return b;
  return '1d';
}

// ---- charts ----

function svgEl(name, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// One <pattern> per patterned state, ids prefixed by the chart's so two charts (and exported files) each
// carry their own.
function patternDefs(prefix) {
  const defs = svgEl('defs');
  for (const [state, s] of Object.entries(STATES)) {
    if (!s.pattern) continue;
    const p = svgEl('pattern', { id: `${prefix}-${state}`, width: 6, height: 6, patternUnits: 'userSpaceOnUse' });
    p.appendChild(svgEl('rect', { width: 6, height: 6, fill: s.color }));
    const ink = state === 'offline' ? '#ffffff' : '#000000';
    const line = (x1, y1, x2, y2) => svgEl('line', { x1, y1, x2, y2, stroke: ink, 'stroke-width': 1, 'stroke-opacity': 0.55 });
    if (s.pattern === 'diagonal') p.append(line(0, 6, 6, 0), line(-1, 1, 1, -1), line(5, 7, 7, 5));
    if (s.pattern === 'back-diagonal') p.append(line(0, 0, 6, 6), line(-1, 5, 1, 7), line(5, -1, 7, 1));
    if (s.pattern === 'cross') p.append(line(0, 3, 6, 3), line(3, 0, 3, 6));
    if (s.pattern === 'horizontal') p.append(line(0, 3, 6, 3));
    if (s.pattern === 'vertical') p.append(line(3, 0, 3, 6));
    if (s.pattern === 'dots') p.appendChild(svgEl('circle', { cx: 3, cy: 3, r: 1.2, fill: ink, 'fill-opacity': 0.55 }));
    defs.appendChild(p);
  }
  return defs;
}
const fillOf = (prefix, state) =>
  Object.hasOwn(STATES, state) ? (STATES[state].pattern ? `url(#${prefix}-${state})` : STATES[state].color) : '#17becf';

// A stacked bar per bin: shares of probes per state; incidents as labelled bands with their kind.
// mode 'share': bar height = share of probes; 'count': bar height = number of probes (shows silence).
// The chart is drawn at the container's own width, so its text stays legible on a phone.
function drawChart(container, series, incidents, fromIso, untilIso, mode, name) {
  container.replaceChildren();
  const id = container.id;
  const W = Math.max(320, Math.round(container.clientWidth || 1200)), H = 240, L = 40, R = 10, T = 42, B = 28;
  const t0 = Date.parse(fromIso), t1 = Date.parse(untilIso);
  const x = (tm) => L + (W - L - R) * (tm - t0) / (t1 - t0);
  const maxProbes = series ? Math.max(1, ...series.bins.map((b) => b.probes)) : 1;
  const scale = mode === 'count' ? (n, bin) => n * bin.probes / maxProbes : (n) => n;
  const y = (share) => T + (H - T - B) * (1 - share);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', tabindex: 0,
                             'aria-labelledby': `${id}-name ${id}-desc`, 'data-bins': series ? series.bins.length : 0,
                             xmlns: 'http://www.w3.org/2000/svg' });
  const title = svgEl('title', { id: `${id}-name` });
  title.textContent = name;
  const desc = svgEl('desc', { id: `${id}-desc` });
  desc.textContent = t('chart.desc', { incidents: incidents.length, bins: series ? series.bins.length : 0 });
  svg.append(title, desc, patternDefs(id));
  svg.appendChild(svgEl('rect', { x: 0, y: 0, width: W, height: H, fill: '#ffffff' }));
  svg.appendChild(svgEl('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: '#fafafa' }));
  const tips = [];  // per bin: its x range and what the tooltip says
  if (series) {
    const binMs = series.bin_seconds * 1000;
    for (const bin of series.bins) {
      const s = Date.parse(bin.start);
      const bx = x(s), bw = Math.max(0.5, x(s + binMs) - bx);
      if (bin.probes === 0) {
        svg.appendChild(svgEl('rect', { class: 'bin nodata', x: bx, y: T, width: bw, height: H - T - B,
                                        fill: STATES.no_data.color }));
        tips.push({ x: bx, w: bw, text: t('tooltip.none', { start: fmt(bin.start) }) });
        continue;
      }
      const totals = {}, probes = {};
      for (const c of bin.counts) {
        totals[c.verdict] = (totals[c.verdict] || 0) + c.share;
        probes[c.verdict] = (probes[c.verdict] || 0) + c.probes;
      }
      for (const k of Object.keys(totals)) totals[k] = scale(totals[k], bin);
      let acc = 0;
      const parts = [];
      for (const v of ORDER.concat(Object.keys(totals).filter((k) => !ORDER.includes(k)))) {
        if (!totals[v]) continue;
        svg.appendChild(svgEl('rect', { class: 'bin ' + v, x: bx, y: y(acc + totals[v]), width: bw,
                                        height: y(acc) - y(acc + totals[v]), fill: fillOf(id, v) }));
        parts.push(`${probes[v]} ${stateLabel(v)}`);
        acc += totals[v];
      }
      tips.push({ x: bx, w: bw, text: t('tooltip.bin', { start: fmt(bin.start), probes: bin.probes, parts: parts.join(', ') }) });
    }
  }
  for (const inc of incidents) {
    const s = Math.max(t0, Date.parse(inc.start));
    const e = Math.min(t1, inc.end ? Date.parse(inc.end) : t1);
    if (e <= s) continue;
    const lane = inc.kind === 'shutdown' ? 22 : 2;  // network incidents on their own lane
    const band = svgEl('rect', { class: 'incident', 'data-id': inc.id, x: x(s), y: lane, width: Math.max(1, x(e) - x(s)),
                                 height: 16, fill: fillOf(id, inc.kind === 'shutdown' ? 'offline' : inc.kind) });
    const bandTitle = svgEl('title');
    bandTitle.textContent = `${kindLabel(inc.kind)} ${fmt(inc.start)} – ${fmt(inc.end)} UTC`;
    band.appendChild(bandTitle);
    svg.appendChild(band);
    if (x(e) - x(s) > 60) {
      const label = svgEl('text', { x: x(s) + 3, y: lane + 12, 'font-size': 11, fill: '#000', stroke: '#fff',
                                    'stroke-width': 3, 'paint-order': 'stroke' });
      label.textContent = kindLabel(inc.kind);
      svg.appendChild(label);
    }
  }
  // Axes: share (or probes) on the left; days along the bottom, in UTC.
  for (const share of [0, 0.5, 1]) {
    const label = svgEl('text', { x: 4, y: y(share) + 4, 'font-size': 11, fill: '#333' });
    label.textContent = mode === 'count' ? String(Math.round(share * maxProbes)) : `${share * 100}%`;
    svg.appendChild(label);
  }
  const day = 86400e3;
  const days = (t1 - t0) / day;
  const perLabel = (W - L - R) / Math.max(1, days);  // px per day: thin labels out on narrow charts
  const step = (days > 20 || perLabel < 22 ? 7 : perLabel < 44 ? 2 : 1) * day;
  for (let tm = Math.ceil(t0 / day) * day; tm <= t1 - step / 3; tm += step) {
    svg.appendChild(svgEl('line', { x1: x(tm), x2: x(tm), y1: T, y2: H - B + 4, stroke: '#bbb', 'stroke-width': 0.5 }));
    const label = svgEl('text', { x: x(tm) + 2, y: H - 8, 'font-size': 11, fill: '#333' });
    label.textContent = new Date(tm).toISOString().slice(5, 10);
    svg.appendChild(label);
  }
  const utc = svgEl('text', { x: W - R, y: H - 8, 'font-size': 11, fill: '#333', 'text-anchor': 'end' });
  utc.textContent = t('chart.axis.utc');
  svg.appendChild(utc);
  attachTooltip(svg, tips, $(id + '-tip'), H - B, T);
  container.appendChild(svg);
}

// Tooltips by pointer and by keyboard: the focused chart's arrow keys move a cursor over the bins, and the
// live region under the chart reads the bin out.
function attachTooltip(svg, tips, out, bottom, top) {
  if (!out || !tips.length) return;
  let at = -1;
  const cursor = svgEl('rect', { class: 'cursor', y: top, height: bottom - top, fill: 'none', stroke: '#000',
                                 'stroke-width': 2, visibility: 'hidden' });
  const show = (i) => {
    at = Math.max(0, Math.min(tips.length - 1, i));
    const tip = tips[at];
    cursor.setAttribute('x', tip.x);
    cursor.setAttribute('width', Math.max(2, tip.w));
    cursor.setAttribute('visibility', 'visible');
    out.textContent = tip.text;
    svg.dataset.cursor = String(at);
  };
  svg.addEventListener('keydown', (e) => {
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tips.length - 1,
                    PageUp: at - 10, PageDown: at + 10 };
    if (!Object.hasOwn(moves, e.key)) return;
    e.preventDefault();
    show(at < 0 && e.key.startsWith('Arrow') ? 0 : moves[e.key]);
  });
  svg.addEventListener('focus', () => show(at < 0 ? 0 : at));
  svg.addEventListener('pointermove', (e) => {
    const box = svg.getBoundingClientRect();
    const vx = (e.clientX - box.left) * (svg.viewBox.baseVal.width / box.width);
    const i = tips.findIndex((tip) => vx >= tip.x && vx < tip.x + Math.max(tip.w, 0.5));
    if (i >= 0) show(i);
  });
  svg.appendChild(cursor);
}

function drawLegend() {
  $('legend').replaceChildren(...Object.keys(STATES).map((k) => {
    const item = el('span', null, { role: 'listitem', class: 'legend-item' });
    item.append(el('i', null, { class: 'swatch state-' + k, 'aria-hidden': 'true' }), stateLabel(k));
    return item;
  }));
  $('legend').setAttribute('aria-label', t('legend.title'));
}

// ---- exports: the chart as SVG or PNG, its data as CSV ----

function download(href, filename) {
  const a = el('a', null, { href, download: filename });
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function chartSvg(chartId) { return $(chartId).querySelector('svg'); }

function exportSvg(chartId) {
  const svg = chartSvg(chartId);
  if (!svg) return;
  const text = new XMLSerializer().serializeToString(svg);
  download('data:image/svg+xml;charset=utf-8,' + encodeURIComponent(text), `kuzet-${chartId}.svg`);
}

function exportPng(chartId) {
  const svg = chartSvg(chartId);
  if (!svg) return;
  const box = svg.viewBox.baseVal;
  const img = new Image();
  img.onload = () => {
    const canvas = document.createElement('canvas');
    canvas.width = box.width * 2;
    canvas.height = box.height * 2;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    download(canvas.toDataURL('image/png'), `kuzet-${chartId}.png`);
  };
  img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(svg));
}

function drawExportButtons() {
  for (const group of document.querySelectorAll('.exports')) {
    const chartId = group.dataset.chart;
    const png = el('button', t('export.png'), { type: 'button', class: 'export-png' });
    png.addEventListener('click', () => exportPng(chartId));
    const svg = el('button', t('export.svg'), { type: 'button', class: 'export-svg' });
    svg.addEventListener('click', () => exportSvg(chartId));
    const csv = el('a', t('export.csv'), { class: 'export-csv', href: group.dataset.csv || '#', download: '' });
    group.replaceChildren(el('span', t('export.label')), png, svg, csv);
  }
}

// ---- incidents ----

// Links the API gave for an incident: same-origin API paths only (anything else is not followed).
function apiHref(path) { return typeof path === 'string' && path.startsWith('/api/v1/') ? path : '#'; }

function listIncidents(incidents) {
  const body = $('incidents').querySelector('tbody');
  body.replaceChildren();
  for (const inc of incidents) {
    const tr = el('tr');
    tr.className = inc.kind;
    tr.dataset.id = inc.id;
    // Unconfirmed: fewer independent vantage points than the collector requires (docs/timelines.md).
    tr.dataset.confirmed = inc.confirmed ? '1' : '0';
    const cells = [kindLabel(inc.kind), inc.target === '*' ? t('incident.whole_network') : inc.target,
                   (inc.methods || []).join(', '), fmt(inc.start), fmt(inc.end),
                   (inc.confidence * 100).toFixed(0) + '%', String(inc.probes)];
    const columns = ['col.kind', 'col.target', 'col.methods', 'col.start', 'col.end', 'col.confidence', 'col.probes'];
    // data-label: the column's name, shown before each cell when a phone stacks the table (style.css).
    cells.forEach((c, i) => tr.appendChild(el('td', c, { 'data-label': t(columns[i]) })));
    const status = el('td', inc.confirmed ? t('incident.confirmed') : t('incident.unconfirmed'),
                      { class: 'confirmation', 'data-label': t('col.status') });
    status.title = t('incident.vantage.title', { n: inc.vantage_points });
    status.appendChild(el('small', ' ' + t('incident.vantage', { n: inc.vantage_points })));
    tr.appendChild(status);
    tr.appendChild(el('td', sourceLabel(inc.source), { class: 'source', 'data-label': t('col.source') }));
    const td = el('td', null, { 'data-label': t('col.evidence') });
    td.append(el('a', inc.id, { class: 'permalink', href: apiHref(inc.permalink) }), ' · ',
              el('a', t('incident.measurements'), { class: 'measurements', href: apiHref(inc.measurements) }));
    tr.appendChild(td);
    body.appendChild(tr);
  }
  if (!incidents.length) {
    const tr = el('tr');
    tr.appendChild(el('td', t('incidents.none'), { colspan: 10 }));
    body.appendChild(tr);
  }
}

// The network's own page (target=*): its targets, each with its incidents, linking to their timelines.
function listTargets(view) {
  const section = $('targets-section');
  section.hidden = view.target !== '*';
  if (section.hidden) return;
  $('targets-title').textContent = t('network.targets', { network: networkLabel(view.asn) });
  const targets = seriesList.filter((s) => s.cc === view.cc && String(s.asn) === String(view.asn) && s.target !== '*');
  $('targets').replaceChildren(...targets.map((s) => {
    const n = view.incidents.filter((i) => i.target === s.target).length;
    const q = new URLSearchParams({ cc: view.cc, asn: view.asn, target: s.target, from: view.from, until: view.until,
                                    source: view.source, lang: document.documentElement.lang });
    const li = el('li');
    li.append(el('a', s.target, { href: '/?' + q.toString() }), ' — ' + t('network.targets.incidents', { n }));
    return li;
  }));
}

// Synthetic data (the replay, the lab, tests) says so in its spec: a sample of the measurements behind the
// view is read, and a banner marks the whole view when any is synthetic.
async function markSynthetic(base, targetQuery) {
  let label = '';
  try {
    const page = await getJson(`/api/v1/measurements?${base}${targetQuery}&limit=50`);
    for (const env of page.measurements) {
      const spec = env && env.measurement && typeof env.measurement.spec === 'string' ? env.measurement.spec : '';
      const m = /^(replay|lab|test)\//.exec(spec);
      if (m) { label = m[1]; break; }
    }
  } catch (e) { /* no sample: no banner */ }
  const banner = $('synthetic');
  banner.hidden = !label;
  banner.textContent = label ? t('synthetic.banner', { label: t('synthetic.' + label) }) : '';
  document.body.dataset.synthetic = label;
  return label;
}

// ---- the view ----

async function show() {
  const cc = $('cc').value, asn = $('asn').value, target = $('target').value;
  const from = inputToIso($('from').value), until = inputToIso($('until').value);
  if (!cc || !asn || !from || !until) return;
  const bin = chooseBin(from, until);
  const source = $('source').value;
  const base = `cc=${encodeURIComponent(cc)}&asn=${asn}&from=${from}&until=${until}` +
               `&source=${encodeURIComponent(source)}`;
  const targetQuery = `&target=${encodeURIComponent(target)}`;
  history.replaceState(null, '', `/?${base}${targetQuery}&bin=${$('bin').value}&lang=${document.documentElement.lang}`);
  $('status').textContent = t('status.loading');
  delete document.body.dataset.ready;
  const [tl, net, inc, synthetic] = await Promise.all([
    target === '*' ? Promise.resolve(null) : getJson(`/api/v1/timeline?${base}${targetQuery}&bin=${bin}`),
    getJson(`/api/v1/timeline?${base}&target=*&bin=${bin}`),
    getJson(`/api/v1/incidents?${base}`),
    markSynthetic(base, target === '*' ? '' : targetQuery),
  ]);
  // Each chart's data as CSV: the same query as the chart, format=csv.
  const csv = { chart: `/api/v1/timeline?${base}${targetQuery}&bin=${bin}&format=csv`,
                'network-chart': `/api/v1/timeline?${base}&target=*&bin=${bin}&format=csv` };
  lastView = { cc, asn, target, from, until, bin, source, tl, net, incidents: inc.incidents, synthetic, csv };
  drawView();
  $('csv-timeline').href = `/api/v1/timeline?${base}${target === '*' ? '' : targetQuery}&bin=${bin}&format=csv`;
  $('csv-incidents').href = `/api/v1/incidents?${base}&format=csv`;
  const feed = `/api/v1/feeds/incidents.atom?cc=${encodeURIComponent(cc)}&asn=${asn}` +
               (target === '*' ? '' : targetQuery);
  $('feed').href = feed;
  $('feed-link').href = feed;
  document.body.dataset.source = net.source;
  document.body.dataset.ready = '1';
}

// Draws (or redraws, on resize or a language change) what show() loaded.
function drawView() {
  const v = lastView;
  if (!v) return;
  const network = networkLabel(v.asn);
  const targetSeries = v.tl && v.tl.series.length ? v.tl.series[0] : null;
  const netSeries = v.net.series.length ? v.net.series[0] : null;
  const shutdowns = v.incidents.filter((i) => i.kind === 'shutdown');
  const when = { from: fmt(v.from), until: fmt(v.until), bin: t('bin.' + v.bin) };
  // The source each answer says it counted (not the one asked for): what the charts really show.
  $('target-section').hidden = v.target === '*';
  $('chart-title').textContent = v.target === '*' ? t('chart.title.choose') :
    t('chart.title.target', { target: v.target, network, cc: v.cc, bin: t('bin.' + v.bin), source: sourceLabel(v.tl.source) });
  if (v.target !== '*')
    drawChart($('chart'), targetSeries, v.incidents.filter((i) => i.target === v.target).concat(shutdowns), v.from,
              v.until, 'share', t('chart.name.target', { target: v.target, network, cc: v.cc, ...when }));
  $('network-title').textContent = t('network.title', { network });
  drawChart($('network-chart'), netSeries, shutdowns, v.from, v.until, 'count',
            t('chart.name.network', { network, cc: v.cc, ...when }));
  listIncidents(v.incidents);
  listTargets(v);
  $('incidents-caption').textContent = t('incidents.caption', { network, from: when.from, until: when.until });
  for (const group of document.querySelectorAll('.exports')) group.dataset.csv = v.csv[group.dataset.chart];
  drawExportButtons();
  $('status').textContent = t('status.summary', { n: v.incidents.length, network, from: when.from, until: when.until,
                                                  source: sourceLabel(v.net.source) });
}

async function main() {
  const params = Object.fromEntries(new URLSearchParams(location.search));
  try {
    await setLanguage(pickLanguage(params));
  } catch (e) {
    return fail(e);
  }
  $('lang').addEventListener('change', async () => {
    const lang = $('lang').value;
    try { localStorage.setItem('kuzet.lang', lang); } catch (e) { /* storage may be off */ }
    await setLanguage(lang);
    refreshChoices({});
    drawView();
    if (lastView) history.replaceState(null, '', location.search.replace(/([?&])lang=[a-z]+/, `$1lang=${lang}`));
  });
  if (params.bin) $('bin').value = params.bin;
  if (SOURCES.includes(params.source || '')) $('source').value = params.source;
  let resizeTimer = 0;
  window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawView, 150); });
  try {
    seriesList = (await getJson('/api/v1/series')).series;
    if (!seriesList.length) {
      $('status').textContent = t('status.empty');
      document.body.dataset.ready = '1';
      return;
    }
    refreshChoices(params);
    $('cc').addEventListener('change', () => refreshChoices({ reset: true }));
    $('asn').addEventListener('change', () => refreshChoices({ reset: true }));
    $('controls').addEventListener('submit', (e) => { e.preventDefault(); show().catch(fail); });
    await show();
  } catch (e) {
    fail(e);
  }
}

function fail(e) {
  $('status').textContent = t('status.error', { message: e.message });
  document.body.dataset.ready = 'error';
}

main();
