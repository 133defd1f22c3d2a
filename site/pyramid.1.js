// The pyramid, live: each answer's layer (x-cache from the API, Age from CloudFront), its ETag,
// and the API's per-layer counters (/_stats, served by `npm run dev`; not deployed in AWS).
'use strict';

let count = 0;

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
}

/** The layer that answered: CloudFront says Hit/RefreshHit in x-cache, the API l1/redis/origin/stale. */
function layerOf(response) {
  const xCache = response.headers.get('x-cache') || '';
  if (/^(Hit|RefreshHit) from cloudfront/i.test(xCache)) return 'edge';
  return xCache || '(none)';
}

async function request(path) {
  const started = performance.now();
  let row;
  try {
    // no-store: past the browser's own cache, so every answer shows a layer of the pyramid.
    const response = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json' } });
    await response.arrayBuffer();
    const layer = layerOf(response);
    row = [response.status, layer, response.headers.get('age') || '–', response.headers.get('etag') || '–'];
  } catch (error) {
    row = ['error', String(error), '–', '–'];
  }
  const ms = Math.round(performance.now() - started);
  const tr = document.createElement('tr');
  tr.dataset.path = path;
  cell(tr, String(++count));
  cell(tr, `GET ${path}`);
  cell(tr, String(row[0]));
  cell(tr, row[1], `layer layer-${row[1]}`);
  cell(tr, row[2]);
  cell(tr, row[3]);
  cell(tr, String(ms));
  document.querySelector('#answers tbody').prepend(tr);
}

async function refreshStats() {
  const body = document.querySelector('#stats tbody');
  const note = document.getElementById('stats-note');
  try {
    const response = await fetch('/_stats', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const stats = await response.json();
    const rows = [
      ['L1 (in-process)', stats.served.l1, stats.l1.hits, stats.l1.misses],
      ['Redis', stats.served.redis, stats.redis.hits, stats.redis.misses],
      ['stale (served while refreshing)', stats.served.stale, '–', '–'],
      ['origin (PostgreSQL)', stats.originLoads, '–', stats.originErrors + ' errors'],
    ];
    body.replaceChildren(
      ...rows.map(([layer, served, hits, misses]) => {
        const tr = document.createElement('tr');
        tr.dataset.layer = layer;
        [layer, served, hits, misses].forEach((v) => cell(tr, String(v)));
        return tr;
      }),
    );
    note.textContent = `${stats.reads} reads, hit rate ${(stats.hitRate * 100).toFixed(1)} %`;
  } catch (error) {
    body.replaceChildren();
    note.textContent = `Counters not available here (${error.message}): /_stats is served by npm run dev only.`;
  }
}

async function run(path) {
  await request(path);
  await refreshStats();
}

document.getElementById('get-product').addEventListener('click', () => run('/api/products/1'));
document.getElementById('get-list').addEventListener('click', () => run('/api/products'));
document.getElementById('refresh-stats').addEventListener('click', refreshStats);

// On load: a product and a list, twice each, so the second answers show a cache layer.
(async () => {
  for (const path of ['/api/products/1', '/api/products', '/api/products/1', '/api/products']) await request(path);
  await refreshStats();
  document.body.dataset.ready = 'true';
})();
