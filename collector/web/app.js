// Kuzet dashboard: plain JS and SVG, no build step. Reads /api/v1/series, /timeline and /incidents.
// Every name on the page comes from signed but untrusted uploads: the DOM is built with createElement and
// textContent only, never innerHTML (tests/timeline/dashboard_chromium.py uploads hostile names).
'use strict';

const COLORS = {
  ok: '#3a9d5d', online: '#3a9d5d', blocked: '#d62728', intercepted: '#9467bd', throttled: '#ff7f0e',
  down: '#8c8c8c', offline: '#222222', inconclusive: '#c7c7c7', no_data: '#eeeeee',
};
const ORDER = ['ok', 'online', 'inconclusive', 'down', 'throttled', 'intercepted', 'blocked', 'offline'];
const BIN_MS = { '10m': 600e3, '1h': 3600e3, '6h': 21600e3, '1d': 86400e3 };
const $ = (id) => document.getElementById(id);
// What each source= answer draws from (docs/ooni.md); anything else is shown as the server named it.
const SOURCES = {
  all: 'all sources (Kuzet probes and imported OONI measurements)',
  kuzet: 'Kuzet probes',
  ooni: 'OONI measurements (imported)',
};
const sourceLabel = (s) => (Object.hasOwn(SOURCES, s) ? SOURCES[s] : String(s));
let seriesList = [];

function isoToLocalInput(iso) { return iso ? iso.slice(0, 16) : ''; }       // inputs are UTC here
function inputToIso(v) { return v ? v + ':00Z' : ''; }
function fmt(iso) { return iso ? iso.replace('T', ' ').replace(':00Z', '') : 'ongoing'; }

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
  fillSelect($('asn'), asns, asns.map((a) => 'AS' + a), params.asn || $('asn').value);
  const asn = Number($('asn').value);
  const targets = seriesList.filter((s) => s.cc === cc && s.asn === asn && s.target !== '*')
    .map((s) => s.target).sort();
  fillSelect($('target'), ['*', ...targets], ['(network connectivity only)', ...targets],
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

function svgEl(name, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// A stacked bar per bin: shares of probes per state; incidents as shaded bands with their kind.
// mode 'share': bar height = share of probes; 'count': bar height = number of probes (shows silence).
function drawChart(container, series, incidents, fromIso, untilIso, mode) {
  container.replaceChildren();
  const W = 1200, H = 240, L = 40, R = 10, T = 42, B = 28;
  const t0 = Date.parse(fromIso), t1 = Date.parse(untilIso);
  const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  const maxProbes = series ? Math.max(1, ...series.bins.map((b) => b.probes)) : 1;
  const scale = mode === 'count' ? (n, bin) => n * bin.probes / maxProbes : (n) => n;
  const y = (share) => T + (H - T - B) * (1 - share);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'data-bins': series ? series.bins.length : 0 });
  svg.appendChild(svgEl('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: '#fafafa' }));
  if (series) {
    const binMs = series.bin_seconds * 1000;
    for (const bin of series.bins) {
      const s = Date.parse(bin.start);
      const bx = x(s), bw = Math.max(0.5, x(s + binMs) - bx);
      if (bin.probes === 0) {
        svg.appendChild(svgEl('rect', { class: 'bin nodata', x: bx, y: T, width: bw, height: H - T - B,
                                        fill: COLORS.no_data }));
        continue;
      }
      const totals = {};
      for (const c of bin.counts) totals[c.verdict] = (totals[c.verdict] || 0) + c.share;
      for (const k of Object.keys(totals)) totals[k] = scale(totals[k], bin);
      let acc = 0;
      for (const v of ORDER.concat(Object.keys(totals).filter((k) => !ORDER.includes(k)))) {
        if (!totals[v]) continue;
        const r = svgEl('rect', { class: 'bin ' + v, x: bx, y: y(acc + totals[v]), width: bw,
                                  height: y(acc) - y(acc + totals[v]), fill: COLORS[v] || '#17becf' });
        const title = svgEl('title');
        title.textContent = `${fmt(bin.start)}: ${bin.probes} probes, ${bin.counts.filter((c) => c.verdict === v)
          .reduce((n, c) => n + c.probes, 0)} ${v}`;
        r.appendChild(title);
        svg.appendChild(r);
        acc += totals[v];
      }
    }
  }
  for (const inc of incidents) {
    const s = Math.max(t0, Date.parse(inc.start));
    const e = Math.min(t1, inc.end ? Date.parse(inc.end) : t1);
    if (e <= s) continue;
    const lane = inc.kind === 'shutdown' ? 22 : 2;  // network incidents on their own lane
    const band = svgEl('rect', { class: 'incident', 'data-id': inc.id, x: x(s), y: lane, width: Math.max(1, x(e) - x(s)),
                                 height: 16, fill: COLORS[inc.kind] || '#000', opacity: 0.85 });
    const title = svgEl('title');
    title.textContent = `${inc.kind} ${fmt(inc.start)} – ${fmt(inc.end)}`;
    band.appendChild(title);
    svg.appendChild(band);
    if (x(e) - x(s) > 60) {
      const label = svgEl('text', { x: x(s) + 3, y: lane + 12, 'font-size': 11, fill: '#fff' });
      label.textContent = inc.kind === 'shutdown' ? 'shutdown' : inc.kind;
      svg.appendChild(label);
    }
  }
  // Axes: share on the left, one tick per day (UTC).
  for (const share of [0, 0.5, 1]) {
    const t = svgEl('text', { x: 4, y: y(share) + 4, 'font-size': 11, fill: '#555' });
    t.textContent = mode === 'count' ? String(Math.round(share * maxProbes)) : `${share * 100}%`;
    svg.appendChild(t);
  }
  const day = 86400e3;
  const step = (t1 - t0) / day > 20 ? 7 * day : day;
  for (let t = Math.ceil(t0 / day) * day; t <= t1 - step / 3; t += step) {
    svg.appendChild(svgEl('line', { x1: x(t), x2: x(t), y1: T, y2: H - B + 4, stroke: '#bbb', 'stroke-width': 0.5 }));
    const label = svgEl('text', { x: x(t) + 2, y: H - 8, 'font-size': 11, fill: '#555' });
    label.textContent = new Date(t).toISOString().slice(5, 10);
    svg.appendChild(label);
  }
  container.appendChild(svg);
}

function drawLegend() {
  $('legend').replaceChildren(...Object.entries(COLORS).map(([k, c]) => {
    const swatch = el('i');
    swatch.style.background = c;
    const item = el('span');
    item.append(swatch, k.replace('_', ' '));
    return item;
  }));
}

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
    const cells = [inc.kind, inc.target === '*' ? '(whole network)' : inc.target, fmt(inc.start), fmt(inc.end),
                   (inc.confidence * 100).toFixed(0) + '%', String(inc.probes)];
    for (const c of cells) tr.appendChild(el('td', c));
    const status = el('td', inc.confirmed ? 'confirmed' : 'unconfirmed', { class: 'confirmation' });
    status.title = `${inc.vantage_points} independent vantage point(s)`;
    status.appendChild(el('small', ` (${inc.vantage_points} vantage)`));
    tr.appendChild(status);
    tr.appendChild(el('td', sourceLabel(inc.source), { class: 'source' }));
    const td = el('td');
    td.append(el('a', inc.id, { class: 'permalink', href: apiHref(inc.permalink) }), ' · ',
              el('a', 'measurements', { class: 'measurements', href: apiHref(inc.measurements) }));
    tr.appendChild(td);
    body.appendChild(tr);
  }
  if (!incidents.length) {
    const tr = el('tr');
    tr.appendChild(el('td', 'No incidents in this period.', { colspan: 9 }));
    body.appendChild(tr);
  }
}

async function show() {
  const cc = $('cc').value, asn = $('asn').value, target = $('target').value;
  const from = inputToIso($('from').value), until = inputToIso($('until').value);
  if (!cc || !asn || !from || !until) return;
  const bin = chooseBin(from, until);
  const source = $('source').value;
  const base = `cc=${encodeURIComponent(cc)}&asn=${asn}&from=${from}&until=${until}` +
               `&source=${encodeURIComponent(source)}`;
  const targetQuery = `&target=${encodeURIComponent(target)}`;
  history.replaceState(null, '', `/?${base}${targetQuery}&bin=${$('bin').value}`);
  $('status').textContent = 'Loading…';
  const [tl, net, inc] = await Promise.all([
    target === '*' ? Promise.resolve(null) : getJson(`/api/v1/timeline?${base}${targetQuery}&bin=${bin}`),
    getJson(`/api/v1/timeline?${base}&target=*&bin=${bin}`),
    getJson(`/api/v1/incidents?${base}`),
  ]);
  const targetSeries = tl && tl.series.length ? tl.series[0] : null;
  const netSeries = net.series.length ? net.series[0] : null;
  const shutdowns = inc.incidents.filter((i) => i.kind === 'shutdown');
  // The source each answer says it counted (not the one asked for): what the charts really show.
  $('chart-title').textContent = target === '*' ? 'Timeline (choose a target)' :
    `${target} on AS${asn} (${cc}), ${bin} bins, ${sourceLabel(tl.source)}`;
  drawChart($('chart'), targetSeries, inc.incidents.filter((i) => i.target === target).concat(shutdowns), from, until,
            'share');
  $('network-title').textContent = `Network connectivity of AS${asn}: probes reporting per bin (online, offline)`;
  drawChart($('network-chart'), netSeries, shutdowns, from, until, 'count');
  listIncidents(inc.incidents);
  $('csv-timeline').href = `/api/v1/timeline?${base}${target === '*' ? '' : targetQuery}&bin=${bin}&format=csv`;
  $('csv-incidents').href = `/api/v1/incidents?${base}&format=csv`;
  $('status').textContent = `${inc.incidents.length} incidents on AS${asn} between ${fmt(from)} and ${fmt(until)} UTC` +
    ` from ${sourceLabel(net.source)}.`;
  document.body.dataset.source = net.source;
  document.body.dataset.ready = '1';
}

async function main() {
  drawLegend();
  const params = Object.fromEntries(new URLSearchParams(location.search));
  if (params.bin) $('bin').value = params.bin;
  if (Object.hasOwn(SOURCES, params.source || '')) $('source').value = params.source;
  try {
    seriesList = (await getJson('/api/v1/series')).series;
    if (!seriesList.length) {
      $('status').textContent = 'No measurements yet.';
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
  $('status').textContent = 'Error: ' + e.message;
  document.body.dataset.ready = 'error';
}

main();
