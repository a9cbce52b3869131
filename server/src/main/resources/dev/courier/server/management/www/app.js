// Courier's management page: plain ES2020, no framework, no build step. It reads the JSON API
// under /api with HTTP basic auth (credentials kept in sessionStorage for this tab only) and
// re-reads what the current view shows every REFRESH_MS. Every text that comes from the broker
// is put into the DOM as text nodes or attributes, never as markup: queue names are user input.
'use strict';

const REFRESH_MS = 2000;
const REQUEST_TIMEOUT_MS = 10000;
const CREDENTIALS_KEY = 'courier.credentials';
const USER_KEY = 'courier.user';
const SVG_NS = 'http://www.w3.org/2000/svg';

const counts = new Intl.NumberFormat('en-US');

// ------------------------------------------------------------------ DOM helpers

const $ = (id) => document.getElementById(id);

/** An element with attributes (`class`, `data-*`, `on<event>`) and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** An SVG element, as `el`. */
function svg(tag, attributes = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attributes, children);
}

function build(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function setText(id, text) {
  const node = $(id);
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Brings a table body in line with `items`: one row per item, found again by `key(item)`, made
 * once by `makeRow(item)` and refreshed through its `[data-field]` cells, so that links and
 * buttons stay the same elements between refreshes.
 */
function syncRows(tbody, items, key, makeRow, fields) {
  const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
  let previous = null;
  for (const item of items) {
    const rowKey = key(item);
    let row = existing.get(rowKey);
    if (row) {
      existing.delete(rowKey);
    } else {
      row = makeRow(item);
      row.dataset.key = rowKey;
    }
    for (const cell of row.querySelectorAll('[data-field]')) {
      const text = fields[cell.dataset.field](item);
      if (cell.textContent !== text) cell.textContent = text;
    }
    const expected = previous ? previous.nextSibling : tbody.firstChild;
    if (row !== expected) tbody.insertBefore(row, expected);
    previous = row;
  }
  for (const row of existing.values()) row.remove();
}

// ------------------------------------------------------------------ formatting

const count = (n) => (typeof n === 'number' ? counts.format(n) : '–');

function rate(r) {
  if (typeof r !== 'number') return '–';
  return `${r >= 100 ? counts.format(Math.round(r)) : r.toFixed(1)}/s`;
}

function bytes(n) {
  if (typeof n !== 'number') return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function duration(ms) {
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

/** The sum of the named `message_stats` rates. */
function rateOf(stats, ...names) {
  return names.reduce((sum, name) => sum + (stats?.[`${name}_details`]?.rate ?? 0), 0);
}

// ------------------------------------------------------------------ API

class Unauthorized extends Error {}

/** An answer other than 2xx: its HTTP status and the API's reason. */
class ApiError extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

/** Calls the management API; throws Unauthorized on 401 and ApiError with the API's reason otherwise. */
async function api(method, path, body) {
  const credentials = sessionStorage.getItem(CREDENTIALS_KEY);
  if (!credentials) throw new Unauthorized('not logged in');
  const headers = { Authorization: `Basic ${credentials}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // credentials: 'omit' keeps the browser out of it: no cached basic auth, no login dialog on 401.
  const response = await fetch(`/api/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (response.status === 401) throw new Unauthorized('login failed');
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (a proxy's error page?): the status line will have to do
  }
  if (!response.ok) throw new ApiError(response.status, json?.reason || `${response.status} ${response.statusText}`);
  return json;
}

/** A path of URL-encoded segments: the vhost "/" becomes %2F. */
const apiPath = (...segments) => segments.map(encodeURIComponent).join('/');

function basicCredentials(user, password) {
  const utf8 = new TextEncoder().encode(`${user}:${password}`);
  return btoa(String.fromCharCode(...utf8));
}

// ------------------------------------------------------------------ login

const LOGIN_AGAIN = 'The broker no longer accepts this login; please log in again.';

/** An action's failure: back to the login form on 401, otherwise `report(reason)`. */
function onActionFailed(e, report) {
  if (e instanceof Unauthorized) {
    showLogin(LOGIN_AGAIN);
  } else {
    report(e.message);
  }
}

function showLogin(message) {
  stopRefresh();
  sessionStorage.removeItem(CREDENTIALS_KEY);
  for (const view of document.querySelectorAll('.view')) view.hidden = true;
  $('nav').hidden = true;
  $('session').hidden = true;
  $('status').hidden = true;
  $('login').hidden = false;
  $('login-error').hidden = !message;
  $('login-error').textContent = message ?? '';
  $('login-user').value = sessionStorage.getItem(USER_KEY) ?? '';
  $('login-password').value = '';
  ($('login-user').value ? $('login-password') : $('login-user')).focus();
}

async function onLogin(event) {
  event.preventDefault();
  const user = $('login-user').value;
  sessionStorage.setItem(CREDENTIALS_KEY, basicCredentials(user, $('login-password').value));
  sessionStorage.setItem(USER_KEY, user);
  $('login-button').disabled = true;
  try {
    await api('GET', 'whoami');
    showApp();
  } catch (e) {
    showLogin(e instanceof Unauthorized ? 'Wrong user name or password.' : `Cannot reach the broker: ${e.message}`);
  } finally {
    $('login-button').disabled = false;
  }
}

function showApp() {
  $('login').hidden = true;
  $('nav').hidden = false;
  $('session').hidden = false;
  $('session-user').textContent = sessionStorage.getItem(USER_KEY) ?? '';
  onRoute();
}

// ------------------------------------------------------------------ routing and refresh

/** The current view: {name: 'overview' | 'queues' | 'connections'} or {name: 'queue', vhost, queue}. */
let view = { name: 'overview' };
let timer = null;
let generation = 0;

function parseRoute(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter((part) => part !== '');
  try {
    const [section, ...rest] = parts.map(decodeURIComponent);
    if (section === 'queues' && rest.length === 2) return { name: 'queue', vhost: rest[0], queue: rest[1] };
    if (section === 'queues' || section === 'connections') return { name: section };
  } catch {
    // a malformed escape in a hand-typed URL: fall back to the overview
  }
  return { name: 'overview' };
}

function onRoute() {
  if (!sessionStorage.getItem(CREDENTIALS_KEY)) {
    showLogin();
    return;
  }
  view = parseRoute(location.hash);
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view.name}`;
  const active = view.name === 'queue' ? 'queues' : view.name;
  for (const link of $('nav').querySelectorAll('a')) {
    link.classList.toggle('active', link.dataset.view === active);
  }
  if (view.name === 'queue') enterQueue(view);
  refresh();
}

function stopRefresh() {
  generation++;
  clearTimeout(timer);
}

/** Reads what the current view shows, then schedules the next read; a newer call supersedes it. */
async function refresh() {
  stopRefresh();
  const mine = generation;
  const shown = view;
  try {
    await Promise.all([refreshOverview(shown), refreshView(shown)]);
    if (mine === generation) $('status').hidden = true;
  } catch (e) {
    if (mine !== generation) return; // superseded: its successor reports for itself
    if (e instanceof Unauthorized) {
      showLogin(LOGIN_AGAIN);
      return;
    }
    $('status').textContent = `Cannot read from the broker: ${e.message}`;
    $('status').hidden = false;
  }
  if (mine === generation) timer = setTimeout(refresh, REFRESH_MS);
}

function refreshView(shown) {
  switch (shown.name) {
    case 'queues':
      return refreshQueues(shown);
    case 'queue':
      return refreshQueue(shown);
    case 'connections':
      return refreshConnections(shown);
    default:
      return refreshNodes(shown);
  }
}

// ------------------------------------------------------------------ overview

async function refreshOverview(shown) {
  const overview = await api('GET', 'overview');
  if (shown !== view) return;
  setText('node-name', overview.node ?? '');
  setText('product-version', `${overview.product_name ?? 'Courier'} ${overview.product_version ?? ''}`);
  const objects = overview.object_totals ?? {};
  const messages = overview.queue_totals ?? {};
  const stats = overview.message_stats ?? {};
  setText('total-connections', count(objects.connections));
  setText('total-channels', count(objects.channels));
  setText('total-queues', count(objects.queues));
  setText('total-consumers', count(objects.consumers));
  setText('total-exchanges', count(objects.exchanges));
  setText('total-messages', count(messages.messages));
  setText('total-ready', count(messages.messages_ready));
  setText('total-unacked', count(messages.messages_unacknowledged));
  setText('rate-publish', rate(rateOf(stats, 'publish')));
  setText('rate-deliver', rate(rateOf(stats, 'deliver', 'deliver_no_ack', 'get', 'get_no_ack')));
  setText('rate-ack', rate(rateOf(stats, 'ack')));
  if (shown.name === 'overview') {
    syncRows(
      $('listeners-body'),
      overview.listeners ?? [],
      (l) => `${l.protocol}\n${l.ip_address}\n${l.port}`,
      () => el('tr', {}, el('td', { 'data-field': 'protocol' }), el('td', { 'data-field': 'address' }),
        el('td', { class: 'num', 'data-field': 'port' })),
      { protocol: (l) => l.protocol, address: (l) => l.ip_address, port: (l) => String(l.port) },
    );
  }
}

async function refreshNodes(shown) {
  const nodes = await api('GET', 'nodes');
  if (shown !== view) return;
  syncRows(
    $('nodes-body'),
    nodes,
    (n) => n.name,
    (n) => el('tr', { 'data-node': n.name },
      el('td', {}, n.name), el('td', { 'data-field': 'uptime' }), el('td', { class: 'num', 'data-field': 'mem_used' }),
      el('td', { class: 'num', 'data-field': 'mem_limit' }), el('td', { class: 'num', 'data-field': 'threads' }),
      el('td', {}, n.jvm ?? '')),
    {
      uptime: (n) => duration(n.uptime ?? 0),
      mem_used: (n) => bytes(n.mem_used),
      mem_limit: (n) => bytes(n.mem_limit),
      threads: (n) => count(n.threads),
    },
  );
}

// ------------------------------------------------------------------ queues

const queueHref = (vhost, name) => `#/queues/${apiPath(vhost, name)}`;

/** Short labels for a queue's flags and x-arguments, as RabbitMQ's page shows them. */
const FEATURES = {
  'x-dead-letter-exchange': 'DLX',
  'x-dead-letter-routing-key': 'DLK',
  'x-message-ttl': 'TTL',
  'x-expires': 'Exp',
  'x-max-length': 'Lim',
  'x-max-length-bytes': 'Lim B',
  'x-overflow': 'Ovfl',
  'x-max-priority': 'Pri',
  'x-single-active-consumer': 'SAC',
  'x-delivery-limit': 'DLim',
  'x-queue-mode': 'Mode',
};

function features(queue) {
  const tags = [];
  const tag = (label, title) => tags.push(el('abbr', { class: 'tag', title }, label));
  if (queue.durable) tag('D', 'durable');
  if (queue.auto_delete) tag('AD', 'auto-delete');
  if (queue.exclusive) tag('Excl', 'exclusive');
  for (const [name, value] of Object.entries(queue.arguments ?? {})) {
    tag(FEATURES[name] ?? name, `${name}: ${typeof value === 'object' ? JSON.stringify(value) : value}`);
  }
  return tags;
}

const QUEUE_FIELDS = {
  consumers: (q) => count(q.consumers),
  messages_ready: (q) => count(q.messages_ready),
  messages_unacknowledged: (q) => count(q.messages_unacknowledged),
  messages: (q) => count(q.messages),
  publish_rate: (q) => rate(rateOf(q.message_stats, 'publish')),
  deliver_get_rate: (q) => rate(rateOf(q.message_stats, 'deliver_get')),
  ack_rate: (q) => rate(rateOf(q.message_stats, 'ack')),
};

function makeQueueRow(queue) {
  const number = (field) => el('td', { class: 'num', 'data-field': field });
  return el('tr', { 'data-queue': queue.name, 'data-vhost': queue.vhost },
    el('td', {}, el('a', { href: queueHref(queue.vhost, queue.name), class: 'queue-link' }, queue.name)),
    el('td', {}, queue.vhost),
    el('td', { class: 'features' }, ...features(queue)),
    ...Object.keys(QUEUE_FIELDS).map(number));
}

async function refreshQueues(shown) {
  const queues = await api('GET', 'queues');
  if (shown !== view) return;
  syncRows($('queues-body'), queues, (q) => `${q.vhost}\n${q.name}`, makeQueueRow, QUEUE_FIELDS);
  $('queues-table').hidden = queues.length === 0;
  $('queues-empty').hidden = queues.length > 0;
}

// ------------------------------------------------------------------ one queue

function enterQueue(shown) {
  setText('queue-name', shown.queue);
  setText('queue-vhost', shown.vhost);
  document.title = `${shown.queue} · Courier`;
  $('queue-missing').hidden = true;
  $('queue-body').hidden = false;
  for (const id of ['queue-ready', 'queue-unacked', 'queue-messages', 'queue-consumer-count',
    'queue-rate-publish', 'queue-rate-deliver', 'queue-rate-ack']) {
    setText(id, '–');
  }
  $('queue-features').replaceChildren();
  $('consumers-body').replaceChildren();
  $('arguments-body').replaceChildren();
  $('move-queues').replaceChildren();
  $('move-destination').value = '';
  for (const id of ['move-result', 'purge-result']) showResult(id, '');
  drawChart($('depth-chart'), [], DEPTH_CHART);
  drawChart($('rate-chart'), [], RATE_CHART);
}

async function refreshQueue(shown) {
  const base = apiPath(shown.vhost, shown.queue);
  let queue;
  let history;
  let siblings;
  try {
    [queue, history, siblings] = await Promise.all([
      api('GET', `queues/${base}`),
      api('GET', `queues/${base}/history`),
      api('GET', `queues/${apiPath(shown.vhost)}`),
    ]);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && shown === view) {
      $('queue-missing').hidden = false;
      $('queue-body').hidden = true;
      return;
    }
    throw e;
  }
  if (shown !== view) return;
  $('queue-missing').hidden = true;
  $('queue-body').hidden = false;
  setText('queue-ready', count(queue.messages_ready));
  setText('queue-unacked', count(queue.messages_unacknowledged));
  setText('queue-messages', count(queue.messages));
  setText('queue-consumer-count', count(queue.consumers));
  setText('queue-rate-publish', rate(rateOf(queue.message_stats, 'publish')));
  setText('queue-rate-deliver', rate(rateOf(queue.message_stats, 'deliver_get')));
  setText('queue-rate-ack', rate(rateOf(queue.message_stats, 'ack')));
  if (!$('queue-features').hasChildNodes()) $('queue-features').append(...features(queue));

  drawChart($('depth-chart'), history, DEPTH_CHART);
  drawChart($('rate-chart'), history, RATE_CHART);

  const consumers = queue.consumer_details ?? [];
  syncRows(
    $('consumers-body'),
    consumers,
    (c) => `${c.channel_details?.name}\n${c.consumer_tag}`,
    (c) => el('tr', { 'data-consumer': c.consumer_tag },
      el('td', {}, c.consumer_tag),
      el('td', {}, el('a', { href: '#/connections' }, c.channel_details?.connection_name ?? '')),
      el('td', {}, String(c.channel_details?.number ?? '')),
      el('td', {}, c.ack_required ? 'yes' : 'no'),
      el('td', { class: 'num', 'data-field': 'prefetch' })),
    { prefetch: (c) => (c.prefetch_count ? count(c.prefetch_count) : 'unlimited') },
  );
  $('consumers-table').hidden = consumers.length === 0;
  $('consumers-empty').hidden = consumers.length > 0;

  const args = Object.entries(queue.arguments ?? {});
  syncRows(
    $('arguments-body'),
    args,
    ([name]) => name,
    ([name]) => el('tr', {}, el('th', { scope: 'row' }, name), el('td', { 'data-field': 'value' })),
    { value: ([, value]) => (typeof value === 'string' && value !== '' ? value : JSON.stringify(value)) },
  );
  $('arguments-table').hidden = args.length === 0;
  $('arguments-empty').hidden = args.length > 0;

  const names = siblings.map((q) => q.name).filter((name) => name !== shown.queue);
  const options = $('move-queues');
  if ([...options.options].map((o) => o.value).join('\n') !== names.join('\n')) {
    options.replaceChildren(...names.map((name) => el('option', { value: name })));
  }
}

function showResult(id, text, failed = false) {
  const output = $(id);
  output.textContent = text;
  output.classList.toggle('error', failed);
}

async function onMove(event) {
  event.preventDefault();
  const shown = view;
  const destination = $('move-destination').value.trim();
  if (destination === shown.queue) {
    showResult('move-result', 'Choose a queue other than this one.', true);
    return;
  }
  $('move-button').disabled = true;
  showResult('move-result', 'Moving…');
  try {
    const answer = await api('POST', `queues/${apiPath(shown.vhost, shown.queue)}/move`, { destination });
    const moved = answer.moved;
    showResult('move-result', `Moved ${count(moved)} message${moved === 1 ? '' : 's'} to “${destination}”.`);
    refresh();
  } catch (e) {
    onActionFailed(e, (reason) => showResult('move-result', `Not moved: ${reason}`, true));
  } finally {
    $('move-button').disabled = false;
  }
}

async function onPurge(event) {
  event.preventDefault();
  const shown = view;
  if (!confirm(`Delete every ready message in “${shown.queue}”?`)) return;
  $('purge-button').disabled = true;
  try {
    await api('DELETE', `queues/${apiPath(shown.vhost, shown.queue)}/contents`);
    showResult('purge-result', 'Purged.');
    refresh();
  } catch (e) {
    onActionFailed(e, (reason) => showResult('purge-result', `Not purged: ${reason}`, true));
  } finally {
    $('purge-button').disabled = false;
  }
}

// ------------------------------------------------------------------ chart

/** What each chart draws from a history point; `integer` keeps its y axis on whole numbers. */
const DEPTH_CHART = {
  integer: true,
  series: [
    { field: 'messages_ready', label: 'Ready', class: 's-ready', format: count },
    { field: 'messages_unacknowledged', label: 'Unacked', class: 's-unacked', format: count },
  ],
};
const RATE_CHART = {
  integer: false,
  series: [
    { field: 'publish_rate', label: 'Publish', class: 's-publish', format: rate },
    { field: 'deliver_get_rate', label: 'Deliver / get', class: 's-deliver', format: rate },
    { field: 'ack_rate', label: 'Ack', class: 's-ack', format: rate },
  ],
};

const CHART = { width: 560, height: 200, left: 52, right: 12, top: 10, bottom: 24 };
/** The chart shows at least this much time, growing to the whole history (five minutes). */
const MIN_WINDOW_MS = 60000;

const GRID_LINES = 4;

/** The smallest of 1, 2, 5 × 10^n at or above `value`, so that the y axis has round numbers. */
function niceCeiling(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= value * (1 - 1e-9));
}

/** Draws the history `points` (one a second) as an inline SVG line chart with a legend. */
function drawChart(figure, points, { integer, series }) {
  const { width, height, left, right, top, bottom } = CHART;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const end = points.length ? points[points.length - 1].timestamp : Date.now();
  const start = end - Math.max(MIN_WINDOW_MS, points.length ? end - points[0].timestamp : 0);
  const highest = Math.max(0, ...points.flatMap((p) => series.map((s) => p[s.field] ?? 0)));
  const step = Math.max(integer ? 1 : 0, niceCeiling(highest / GRID_LINES));
  const max = step * GRID_LINES;
  const x = (t) => left + ((t - start) / (end - start)) * plotWidth;
  const y = (v) => top + plotHeight - (v / max) * plotHeight;

  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': `${figure.querySelector('figcaption').textContent} over the last ${duration(end - start)}`,
  });
  for (let i = 1; i <= GRID_LINES; i++) {
    const value = step * i;
    chart.append(
      svg('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }),
      svg('text', { class: 'axis', x: left - 6, y: y(value) + 4, 'text-anchor': 'end' }, count(value)),
    );
  }
  chart.append(svg('text', { class: 'axis', x: left - 6, y: y(0) + 4, 'text-anchor': 'end' }, '0'));
  const span = end - start;
  const tick = span <= 60000 ? 15000 : span <= 180000 ? 30000 : 60000;
  for (let t = Math.ceil(start / tick) * tick; t <= end; t += tick) {
    chart.append(
      svg('line', { class: 'tick', x1: x(t), x2: x(t), y1: top + plotHeight, y2: top + plotHeight + 4 }),
      svg('text', { class: 'axis', x: x(t), y: height - 6, 'text-anchor': 'middle' }, clock(t)),
    );
  }
  chart.append(svg('line', { class: 'baseline', x1: left, x2: width - right, y1: y(0), y2: y(0) }));
  if (points.length === 0) {
    chart.append(svg('text', { class: 'axis', x: left + plotWidth / 2, y: top + plotHeight / 2, 'text-anchor': 'middle' },
      'Collecting data…'));
  }
  for (const s of series) {
    if (points.length === 0) continue;
    const coordinates = points.map((p) => `${x(p.timestamp).toFixed(1)},${y(p[s.field] ?? 0).toFixed(1)}`);
    chart.append(svg('polyline', { class: `line ${s.class}`, 'data-series': s.field, points: coordinates.join(' ') }));
  }

  const last = points[points.length - 1];
  const legend = el('ul', { class: 'legend' }, ...series.map((s) => el('li', { 'data-series': s.field },
    el('span', { class: `swatch ${s.class}` }), `${s.label} `,
    el('strong', {}, last ? s.format(last[s.field] ?? 0) : '–'))));
  figure.replaceChildren(figure.querySelector('figcaption'), chart, legend);
}

// ------------------------------------------------------------------ connections

function connectedAt(ms) {
  if (typeof ms !== 'number') return '';
  const at = new Date(ms);
  return el('time', { datetime: at.toISOString() }, at.toLocaleString());
}

function makeConnectionRow(c) {
  const props = c.client_properties ?? {};
  const client = [props.connection_name, [props.product, props.version].filter(Boolean).join(' ')]
    .filter(Boolean).join(' · ');
  return el('tr', { 'data-connection': c.name },
    el('td', {}, c.name),
    el('td', { title: props.platform ?? '' }, client),
    el('td', {}, c.user ?? ''),
    el('td', {}, c.vhost ?? ''),
    el('td', { 'data-field': 'state' }),
    el('td', { class: 'num', 'data-field': 'channels' }),
    el('td', {}, connectedAt(c.connected_at)),
    el('td', {}, el('button', {
      type: 'button', class: 'danger small close-connection', onclick: (e) => closeConnection(c.name, e.currentTarget),
    }, 'Close')));
}

async function refreshConnections(shown) {
  const connections = await api('GET', 'connections');
  if (shown !== view) return;
  syncRows($('connections-body'), connections, (c) => c.name, makeConnectionRow, {
    state: (c) => c.state ?? '',
    channels: (c) => count(c.channels),
  });
  $('connections-table').hidden = connections.length === 0;
  $('connections-empty').hidden = connections.length > 0;
}

async function closeConnection(name, button) {
  if (!confirm(`Close the connection ${name}?`)) return;
  button.disabled = true;
  try {
    await api('DELETE', `connections/${apiPath(name)}`);
    refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      refresh(); // already closed
    } else {
      onActionFailed(e, (reason) => button.after(el('span', { class: 'error' }, ` ${reason}`)));
    }
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ start

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', onLogin);
  $('logout-button').addEventListener('click', () => showLogin());
  $('move-form').addEventListener('submit', onMove);
  $('purge-form').addEventListener('submit', onPurge);
  window.addEventListener('hashchange', onRoute);
  if (sessionStorage.getItem(CREDENTIALS_KEY)) {
    showApp();
  } else {
    showLogin();
  }
});
