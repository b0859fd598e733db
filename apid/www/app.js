/* Peernet web interface: plain JavaScript, no library, no build step.
 * Every string that comes from the network is inserted with textContent
 * (el() below); nothing is ever parsed as HTML. */
'use strict';

const $ = (id) => document.getElementById(id);
const NA = 'not available on this node yet';
/* A route this build of apid does not have answers 501 (or 404 from an older apid). */
const NOROUTE = 'route not in this build of peernet-apid';
const noRoute = (st) => st === 501 || st === 404;
let KEY = sessionStorage.getItem('peernet-key') || '';

/* el('li', {class: 'x'}, 'text', child...) - text children become text nodes. */
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === 'class') e.className = attrs[k];
    else if (k === 'style') e.style.cssText = attrs[k];	/* CSSOM: allowed by the CSP */
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), attrs[k]);
    else e.setAttribute(k, attrs[k]);
  }
  for (const c of kids) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function setText(id, s, cls) { const e = $(id); e.textContent = s; e.className = cls || ''; }
function na(id, why) { setText(id, why || NA, 'na'); }

async function api(path, opt) {
  opt = opt || {};
  const h = Object.assign({}, opt.headers || {});
  if (KEY) h['x-api-key'] = KEY;
  let r;
  try {
    r = await fetch(path, { method: opt.method || 'GET', headers: h, body: opt.body, cache: 'no-store' });
  } catch (e) {
    banner('The node does not answer: ' + e.message);
    return { status: 0, json: null, text: '' };
  }
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  if (r.status === 401 && !opt.login) showLogin('The API key is missing or wrong.');
  return { status: r.status, json, text };
}
const post = (path, obj) => api(path, { method: 'POST', body: JSON.stringify(obj), headers: { 'Content-Type': 'application/json' } });

function banner(msg) { const b = $('banner'); b.textContent = msg; b.hidden = !msg; }

function b64hex(s) {
  if (!s) return '';
  const bin = atob(s);
  let h = '';
  for (let i = 0; i < bin.length; i++) h += bin.charCodeAt(i).toString(16).padStart(2, '0');
  return h;
}
function size(n) {
  if (n == null || n < 0) return '?';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}
function short(id) { return id ? id.slice(0, 12) + '…' : ''; }
const TYPES = ['binary', 'text', 'picture', 'video', 'audio', 'document', 'executable', 'container', 'compressed', 'folder', 'e-book'];
const typeName = (t) => TYPES[t] || 'type ' + t;
function day(d) { return d ? String(d).slice(0, 10) : ''; }

/* ---------- authentication ---------- */
function showLogin(msg) {
  for (const s of document.querySelectorAll('.screen')) s.hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = msg || '';
  $('key').focus();
  mark();
}
/* performance mark 'interactive': the first screen is usable (tests/browser reads it). */
function mark() { if (!performance.getEntriesByName('interactive').length) performance.mark('interactive'); }
$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const k = $('key').value.trim();
  const r = await fetch('/test', { headers: { 'x-api-key': k }, cache: 'no-store' }).catch(() => null);
  if (!r || r.status !== 200) {
    $('login-error').textContent = r && r.status === 401 ? 'Wrong API key: the node refused it.' : 'The node does not answer.';
    return;
  }
  KEY = k;
  sessionStorage.setItem('peernet-key', k);
  $('login').hidden = true;
  route();
});

/* ---------- screens ---------- */
const screens = { overview: showOverview, peers: showPeers, files: showFiles, search: () => {}, downloads: showDownloads, player: () => {} };
let timer = null;
function route() {
  const name = (location.hash || '#overview').slice(1);
  const s = screens[name] ? name : 'overview';
  for (const sec of document.querySelectorAll('.screen')) sec.hidden = sec.id !== s;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === '#' + s) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  clearInterval(timer);
  const f = screens[s];
  f();
  mark();
  if (s === 'overview' || s === 'peers' || s === 'downloads') timer = setInterval(f, 2000);
}
window.addEventListener('hashchange', route);

/* ---------- overview ---------- */
const hist = [];	/* {t, rx, tx} counters, the last 5 minutes */
function parseMetrics(text) {
  const m = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const i = line.lastIndexOf(' ');
    m[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return m;
}
/* Each part is drawn as soon as its answer comes (apid answers them one after the other). */
async function showOverview() {
  const acc = api('/account/info'), st = api('/status'), me = api('/metrics'), hd = api('/blockchain/header');
  acc.then((r) => { if (r.json) { setText('ov-node', r.json.nodeid, 'mono'); setText('ov-peer', r.json.peerid, 'mono'); } else if (r.status !== 401) na('ov-node'); });
  hd.then((r) => { if (r.json) setText('ov-chain', 'height ' + r.json.height + ', version ' + r.json.version); else na('ov-chain'); });
  st.then((r) => {
    const j = r.json;
    if (j) {
      setText('ov-peers', String(j.countpeerlist));
      setText('ov-conn', j.isconnected ? 'yes' : 'no (fewer than 2 peers)');
    } else { na('ov-peers'); na('ov-conn'); }
    /* x_*: apid's extra keys (docs/webapi.md), netd's own view of its reachability. */
    if (j && typeof j.x_nat === 'string') {
      setText('ov-nat', j.x_nat + ' · port mapping: ' + (j.x_portmap || 'none') + (j.x_external ? ' · external address ' + j.x_external : ''));
      setText('ov-listen', j.x_listen || 'none', 'mono');
    } else { na('ov-nat', 'not given by this node\'s web API (peernetctl status shows it)'); na('ov-listen'); }
  });
  const r = await me;
  if (r.status !== 200) { na('ov-disk'); return; }
  const m = parseMetrics(r.text);
  const disk = (m.peernet_cache_size_bytes || 0) + (m.peernet_chain_shared_bytes || 0);
  setText('ov-disk', size(disk) + ' (shared files ' + size(m.peernet_chain_shared_bytes || 0) + ', cache ' + size(m.peernet_cache_size_bytes || 0) + ')');
  const ul = $('ov-daemons');
  ul.replaceChildren();
  for (const d of ['netd', 'storaged', 'searchd', 'apid']) {
    const up = d === 'apid' ? 1 : m['peernet_daemon_up{daemon="' + d + '"}'];
    ul.append(el('li', { class: up ? 'up' : 'down' }, d + (up ? ' ● up' : ' ● down')));
  }
  if (takeSample(m)) {
    setText('ov-unit', 'packets per second, last 5 minutes (the API gives packet counters, not bytes)');
    chart();
  }
}
function takeSample(m) {
  /* Datagrams in (transfers' lite packets included), packets out (every datagram sent). */
  const rx = m.peernet_netd_rx_datagrams_total != null ? m.peernet_netd_rx_datagrams_total : m.peernet_netd_rx_packets_total;
  const tx = m.peernet_netd_tx_packets_total;
  if (rx == null) return false;
  hist.push({ t: Date.now(), rx, tx });
  while (hist.length && hist[0].t < Date.now() - 300000) hist.shift();
  return true;
}
/* The chart covers the last minutes even when another screen was shown. */
setInterval(async () => {
  if (!$('overview').hidden || !$('login').hidden) return;
  const r = await api('/metrics');
  if (r.status === 200) takeSample(parseMetrics(r.text));
}, 2000);
function chart() {
  const c = $('ov-chart'), g = c.getContext('2d');
  const W = c.width, H = c.height;
  g.clearRect(0, 0, W, H);
  const pts = [];
  for (let i = 1; i < hist.length; i++) {
    const dt = (hist[i].t - hist[i - 1].t) / 1000 || 1;
    pts.push({ t: hist[i].t, i: Math.max(0, (hist[i].rx - hist[i - 1].rx) / dt), o: Math.max(0, (hist[i].tx - hist[i - 1].tx) / dt) });
  }
  const max = Math.max(1, ...pts.map((p) => Math.max(p.i, p.o)));
  const now = Date.now(), span = Math.min(300000, Math.max(20000, now - hist[0].t));
  g.fillStyle = '#5b6470';
  g.font = '11px sans-serif';
  g.fillText(max.toFixed(1) + '/s', 4, 12);
  g.fillText('-' + Math.round(span / 1000) + ' s', 4, H - 4);
  g.fillText('now', W - 24, H - 4);
  for (const [k, col] of [['i', '#0b62c4'], ['o', '#d0721b']]) {
    g.strokeStyle = col;
    g.lineWidth = 2;
    g.beginPath();
    pts.forEach((p, j) => {
      const x = W - (now - p.t) / span * W, y = H - 4 - p[k] / max * (H - 20);
      if (j) g.lineTo(x, y); else g.moveTo(x, y);
    });
    g.stroke();
  }
}

/* ---------- peers ---------- */
let peers = [], peerSort = 'blockchainheight', peerDir = -1;
async function showPeers() {
  const r = await api('/status/peers');
  if (r.status !== 200) { setText('peers-note', r.status === 501 ? NA : 'error ' + r.status, 'na'); return; }
  /* x_*: apid's extra keys (docs/webapi.md); absent from a reference node. */
  const ours = (r.json || []).some((p) => 'x_address' in p);
  peers = (r.json || []).map((p) => ({
    nodeid: b64hex(p.nodeid), address: ours ? p.x_address : null, rtt: ours && p.x_rttms ? p.x_rttms : null,
    useragent: p.useragent, verified: ours ? !!p.x_verified : null, secure: ours ? 0 : null, blockchainheight: p.blockchainheight,
    isroot: p.isroot, active: p.x_active, nat: p.x_behindnat, firewall: p.x_firewall,
  }));
  setText('peers-count', '(' + peers.length + ')');
  setText('peers-note', ours ? 'Secure: no peer is, yet. Version 0 signs every packet, but encrypts it with the receiver\'s public key as the key, so anyone on the path can read it; file transfers travel in clear. An address marked ✓ answered us there (a measured round trip), so it is not a forged source.' :
    'Address, RTT and whether the connection is verified are not given by this node\'s web API.', 'note');
  drawPeers();
}
function drawPeers() {
  const v = (p) => p[peerSort] == null ? '' : p[peerSort];
  peers.sort((a, b) => (v(a) < v(b) ? -1 : v(a) > v(b) ? 1 : 0) * peerDir);
  const tb = document.querySelector('#peers-table tbody');
  const dash = () => el('td', { class: 'na' }, '—');
  tb.replaceChildren(...peers.map((p) => el('tr', null,
    el('td', { class: 'mono', title: p.nodeid }, short(p.nodeid) + (p.isroot ? ' (root)' : '')),
    p.address == null ? dash() : el('td', { class: 'mono', title: (p.active ? 'active' : 'inactive') + (p.verified ? ', answered on this address' : ', not answered yet') + (p.nat ? ', behind NAT' : '') + (p.firewall ? ', firewalled' : '') }, (p.address || '—') + (p.verified ? ' ✓' : '')),
    p.rtt == null ? dash() : el('td', null, p.rtt + ' ms'),
    el('td', { title: p.useragent }, p.useragent),
    p.secure == null ? dash() : el('td', { class: 'na', title: 'protocol version 0: readable on the path' }, 'no (v0)'),
    el('td', null, String(p.blockchainheight)))));
  /* Column names on the cells (a narrow screen shows each row as a card) and the sort order on the headers. */
  const ths = [...document.querySelectorAll('#peers-table th')];
  for (const tr of tb.rows) [...tr.cells].forEach((td, i) => td.setAttribute('data-label', ths[i].textContent));
  for (const th of ths) {
    if (th.firstChild.dataset.sort === peerSort) th.setAttribute('aria-sort', peerDir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}
for (const b of document.querySelectorAll('#peers-table th button')) {
  b.addEventListener('click', () => {
    const k = b.dataset.sort;
    peerDir = peerSort === k ? -peerDir : 1;
    peerSort = k;
    drawPeers();
  });
}

/* ---------- my files and profile ---------- */
let myFiles = [];
async function showFiles() {
  const r = await api('/blockchain/file/list');
  const ul = $('file-list');
  if (r.status !== 200) { ul.replaceChildren(el('li', { class: 'na' }, r.status === 501 ? NA : 'error ' + r.status)); return; }
  myFiles = (r.json && r.json.files) || [];
  if (!myFiles.length) { ul.replaceChildren(el('li', { class: 'note' }, 'No file shared yet.')); }
  else {
    ul.replaceChildren(...myFiles.map((f) => el('li', null,
      el('span', { class: 'name' }, (f.folder ? f.folder + '/' : '') + f.name),
      el('span', { class: 'meta' }, size(f.size) + ' · ' + typeName(f.type) + ' · ' + day(f.date)),
      el('button', { class: 'sec', onclick: () => renameFile(f) }, 'Rename'),
      el('button', { class: 'sec', onclick: () => removeFile(f) }, 'Remove'),
      (f.type === 3 || f.type === 4) ? el('button', { class: 'sec', onclick: () => play(f, '') }, 'Play') : null)));
  }
  loadProfile();
}
async function renameFile(f) {
  const name = prompt('New name', f.name);
  if (name == null || name === f.name) return;
  const r = await post('/blockchain/file/update', { files: [Object.assign({}, f, { name })] });
  const ok = r.status === 200 && r.json && r.json.status === 0;
  setText('up-status', ok ? 'Renamed.' : noRoute(r.status) ? 'Rename: ' + NOROUTE : 'Rename failed: ' + r.status, ok ? '' : 'na');
  showFiles();
}
async function removeFile(f) {
  if (!confirm('Stop sharing "' + f.name + '"?')) return;
  const r = await post('/blockchain/file/delete', { files: [f] });
  setText('up-status', r.status === 200 ? 'Removed.' : noRoute(r.status) ? 'Remove: ' + NOROUTE : 'Remove failed: ' + r.status, r.status === 200 ? '' : 'na');
  showFiles();
}
/*
 * The reference's upload (FEATURES.md §3.6): an upload ID from
 * /warehouse/create/uploadID, then one multipart request per file (field
 * "id" first, then the part "File") answering {status, hash}; while it runs,
 * /warehouse/create/track/uploadID?id= says how much the node has stored.
 * Then the files go into the blockchain with /blockchain/file/add.
 */
function kind(f) {
  const m = /^(video|audio|image|text)\//.exec(f.type || '');
  return m ? { video: [3, 7], audio: [4, 6], image: [2, 5], text: [1, 10] }[m[1]] : [0, 0];
}
function sendOne(f, id, onprog) {
  return new Promise((res) => {
    const fd = new FormData();
    if (id) fd.append('id', id);
    fd.append('File', f, f.name);
    const x = new XMLHttpRequest();
    x.open('POST', '/warehouse/create');
    if (KEY) x.setRequestHeader('x-api-key', KEY);
    x.upload.onprogress = (e) => { if (e.lengthComputable) onprog(e.loaded); };
    x.onload = () => { let j = null; try { j = JSON.parse(x.responseText); } catch (e) { /* ignore */ } res({ status: x.status, json: j }); };
    x.onerror = () => res({ status: 0, json: null });
    x.send(fd);
  });
}
async function uploadId() {
  const r = await api('/warehouse/create/uploadID');
  return r.status === 200 && r.json && r.json.apistatus === 0 && r.json.id ? r.json.id : '';
}
async function upload(list) {
  const files = [...list];
  if (!files.length) return;
  const p = $('up-progress'), total = files.reduce((n, f) => n + f.size, 0) || 1;
  let done = 0;
  p.hidden = false; p.value = 0;
  const add = [];
  for (const f of files) {
    setText('up-status', 'Uploading ' + f.name + '…');
    const id = await uploadId();
    let stored = -1, tracking = !!id;
    const track = async () => {
      while (tracking) {
        const t = await api('/warehouse/create/track/uploadID?id=' + id);
        if (t.status !== 200 || !t.json || t.json.apistatus !== 0) break;
        stored = (t.json.progress && t.json.progress.uploadedsize) || 0;
        await new Promise((ok) => setTimeout(ok, 250));
      }
    };
    const tracker = track();
    const r = await sendOne(f, id, (n) => {
      p.value = (done + n) / total * 100;
      setText('up-status', 'Uploading ' + f.name + '… ' + size(n) + ' of ' + size(f.size) + ' sent' + (stored >= 0 ? ', ' + size(stored) + ' stored by the node' : ''));
    });
    tracking = false;
    await tracker;
    done += f.size;
    if (noRoute(r.status)) { p.hidden = true; setText('up-status', 'Sharing by upload: ' + NOROUTE + ' (use peernetctl add).', 'na'); return; }
    if (r.status !== 200 || !r.json || r.json.status !== 0 || !r.json.hash) { p.hidden = true; setText('up-status', 'Upload of "' + f.name + '" failed (' + r.status + ').', 'error'); return; }
    const [type, format] = kind(f);
    add.push({ hash: r.json.hash, name: f.name, type, format, size: f.size, folder: '', description: '' });
  }
  p.value = 100;
  const a = await post('/blockchain/file/add', { files: add });
  p.hidden = true;
  const ok = a.status === 200 && a.json && a.json.status === 0;
  setText('up-status', ok ? 'Shared.' : noRoute(a.status) ? 'Uploaded, but adding to the blockchain: ' + NOROUTE : 'Add failed: ' + a.status, ok ? '' : 'na');
  showFiles();
}
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); upload(e.dataTransfer.files); });
drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('upload').click(); } });
$('upload').addEventListener('change', (e) => upload(e.target.files));

async function loadProfile() {
  const r = await api('/profile/list');
  if (r.status !== 200) { setText('pf-status', r.status === 501 ? 'Profile: ' + NA : 'Profile: error ' + r.status, 'na'); return; }
  for (const f of (r.json && r.json.fields) || []) {
    if (f.type === 0 && document.activeElement !== $('pf-name')) $('pf-name').value = f.text || '';
    if (f.type === 6 && f.blob) { $('pf-img').src = 'data:image/*;base64,' + f.blob; $('pf-img').hidden = false; }
  }
}
$('profile-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const fields = [{ type: 0, text: $('pf-name').value }];
  const pic = $('pf-pic').files[0];
  if (pic) {
    const buf = new Uint8Array(await pic.arrayBuffer());
    let s = '';
    for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
    fields.push({ type: 6, blob: btoa(s) });
  }
  const r = await post('/profile/write', { fields });
  setText('pf-status', r.status === 200 && r.json && r.json.status === 0 ? 'Saved.' : r.status === 501 ? NA : 'Not saved (' + r.status + ').', r.status === 200 ? '' : 'na');
  loadProfile();
});

/* ---------- search: results as they arrive, a virtual list ---------- */
const ROW = 58;
let results = [], seen = new Set(), job = null, pollT = null, ws = null;
$('search-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  stopSearch();
  results = []; seen = new Set(); running = true;
  drawResults(true);
  const kb = (id) => $(id).value === '' ? -1 : Math.round(Number($(id).value) * 1024);
  const body = {
    term: $('q').value, timeout: 20, maxresults: 5000,
    filetype: Number($('f-type').value), fileformat: Number($('f-format').value),
    sizemin: kb('f-min'), sizemax: kb('f-max'), sort: Number($('f-sort').value),
  };
  if ($('f-from').value) body.datefrom = $('f-from').value + ' 00:00:00';
  if ($('f-to').value) body.dateto = $('f-to').value + ' 23:59:59';
  const r = await post('/search', body);
  if (r.status !== 200 || !r.json || r.json.status !== 0) {
    setText('s-status', r.status === 501 ? 'Search: ' + NA : 'Search refused (' + r.status + (r.json && r.json.error ? ': ' + r.json.error : '') + ').', 'error');
    return;
  }
  job = r.json.id;
  setText('s-status', 'Searching…');
  /* Results as they come over the websocket; polled when it cannot open. */
  if ('WebSocket' in window) openWs(job); else poll(job);
});
function stopSearch() {
  clearTimeout(pollT);
  if (ws) { ws.onclose = null; ws.close(); ws = null; }
  if (job) api('/search/terminate?id=' + job);
  job = null;
}
function addResults(files) {
  for (const f of files || []) {
    const k = f.id + f.nodeid + f.hash;
    if (seen.has(k)) continue;
    seen.add(k);
    results.push(f);
  }
  sortResults();
}
/*
 * Results arrive in any order (one per websocket message, up to thousands):
 * sorted here too, and again when the choice changes, at most once per
 * frame, just before the rows are drawn.
 */
const SORTS = { 3: ['date', 1], 4: ['date', -1], 5: ['name', 1], 6: ['name', -1], 7: ['size', 1], 8: ['size', -1] };
let needSort = false;
function sortResults() { needSort = true; drawResults(true); }
function sortNow() {
  const s = SORTS[$('f-sort').value];
  if (s) results.sort((a, b) => (a[s[0]] < b[s[0]] ? -1 : a[s[0]] > b[s[0]] ? 1 : 0) * s[1]);
  needSort = false;
}
$('f-sort').addEventListener('change', sortResults);
let running = false;
function finished(n) { running = n; drawResults(true); }
function statusLine() {
  if (running && !results.length) setText('s-status', 'Searching…');
  else setText('s-status', results.length + ' result' + (results.length === 1 ? '' : 's') + (running ? '' : ', search finished') + '.');
}
async function poll(id) {
  if (id !== job) return;
  const r = await api('/search/result?id=' + id + '&limit=500');
  if (id !== job) return;
  if (r.status !== 200 || !r.json) { setText('s-status', 'Results: ' + (r.status === 501 ? NA : 'error ' + r.status), 'error'); return; }
  addResults(r.json.files);
  const s = r.json.status;
  if (s === 1 || s === 2) { finished(false); return; }
  finished(true);
  pollT = setTimeout(() => poll(id), s === 0 ? 50 : 300);
}
function openWs(id) {
  /* A browser cannot put x-api-key on a websocket: the key goes as k= (apid takes it on this route). */
  const u = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/search/result/ws?id=' + id +
    (KEY ? '&k=' + encodeURIComponent(KEY) : '');
  let last = false;
  ws = new WebSocket(u);
  ws.onmessage = (e) => {
    let j = null;
    try { j = JSON.parse(e.data); } catch (x) { return; }
    addResults(j.files);
    last = j.status === 1;
    finished(!last);
  };
  /* Closed before the last message (refused, or cut): the rest is polled. */
  ws.onclose = () => { ws = null; if (!last && id === job) poll(id); };
}
/*
 * A virtual list: only the rows in view (and a few around) are in the DOM,
 * absolutely placed; a row already drawn is kept while it stays in view, so
 * scrolling builds only the rows that come into view.  Rows stay in index
 * order in the DOM (the Tab order).  All the work is done once per frame.
 */
const box = $('results'), pad = $('results-pad');
let drawPending = false, dirty = false, shown = new Map();	/* result -> its row */
function drawResults(resize) {
  if (resize) dirty = true;
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(paint);
}
function paint() {
  drawPending = false;
  if (dirty) {
    if (needSort) sortNow();
    pad.style.height = results.length * ROW + 'px';
    box.style.height = Math.min(results.length * ROW + 2, Math.max(240, window.innerHeight * 0.6)) + 'px';
    if (job || results.length) statusLine();
    dirty = false;
  }
  const first = Math.max(0, Math.floor(box.scrollTop / ROW) - 5);
  const last = Math.min(results.length, first + Math.ceil(box.clientHeight / ROW) + 10);
  const next = new Map();
  for (let i = first; i < last; i++) if (shown.has(results[i])) next.set(results[i], shown.get(results[i]));
  for (const [f, e] of shown) if (!next.has(f)) { e.remove(); pool.push(e); }
  for (let i = first; i < last; i++) {
    const f = results[i];
    let e = next.get(f);
    if (!e) { e = pool.pop() || makeRow(); fillRow(e, f); next.set(f, e); }
    if (e.dataset.i !== String(i)) { e.style.top = i * ROW + 'px'; e.dataset.i = i; }
  }
  /* in index order: Map keeps insertion order, so sort the few entries */
  const order = [...next.values()].sort((a, b) => a.dataset.i - b.dataset.i);
  let cur = pad.firstChild;
  for (const e of order) {
    if (e === cur) cur = cur.nextSibling; else pad.insertBefore(e, cur);
  }
  shown = next;
}
box.addEventListener('scroll', () => drawResults(false), { passive: true });
function sharedBy(f) {
  const n = (f.metadata || []).find((m) => m.type === 5 && m.name === 'Shared By Count');
  return 'shared by ' + (f.username || short(b64hex(f.nodeid))) + (n && n.number > 1 ? ' and ' + (n.number - 1) + ' more' : '');
}
/* Rows scrolled out are kept for the rows scrolled in: only their text changes. */
const pool = [];
function makeRow() {
  return el('div', { class: 'row', role: 'listitem' },
    el('div', { class: 'txt' }, el('div', { class: 'name' }), el('div', { class: 'meta' })),
    el('button', { 'data-act': 'download' }, 'Download'),
    el('button', { class: 'sec', 'data-act': 'play' }, 'Play'));
}
function fillRow(e, f) {
  const [txt, , playb] = e.children, [name, meta] = txt.children;
  name.textContent = f.name;
  name.title = f.name;
  meta.textContent = size(f.size) + ' · ' + typeName(f.type) + ' · ' + day(f.date) + ' · ' + sharedBy(f);
  playb.hidden = !(f.type === 3 || f.type === 4);
}
/* One handler for every row's buttons: the row's index says which result. */
pad.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-act]');
  const f = b && results[Number(b.closest('.row').dataset.i)];
  if (!f) return;
  if (b.dataset.act === 'download') startDownload(f); else play(f, b64hex(f.nodeid));
});

/* ---------- downloads ---------- */
let dls = JSON.parse(sessionStorage.getItem('peernet-dls') || '[]');
const saveDls = () => sessionStorage.setItem('peernet-dls', JSON.stringify(dls));
async function startDownload(f) {
  const path = (f.name || 'file').replace(/[\/\\]/g, '_');
  const r = await api('/download/start?path=' + encodeURIComponent(path) + '&hash=' + b64hex(f.hash) + '&node=' + b64hex(f.nodeid));
  if (r.status === 200 && r.json && r.json.apistatus === 0) {
    dls.unshift({ id: r.json.id, name: f.name, file: f, t: Date.now() });
    saveDls();
    location.hash = '#downloads';
    return;
  }
  const why = r.status === 501 ? NA : r.status === 403 ? 'this node has no download folder (api_files_dir in peernet.conf)' :
    r.json && r.json.apistatus === 2 ? 'the target file cannot be created (it may exist already)' : 'error ' + r.status;
  setText('s-status', 'Download of "' + f.name + '" refused: ' + why, 'error');
}
const DLS = ['waiting', 'discovering', 'downloading', 'paused', 'cancelled', 'finished', 'failed'];
const rates = {};
async function showDownloads() {
  const ul = $('dl-list');
  if (!dls.length) { ul.replaceChildren(el('li', { class: 'note' }, 'No download started in this tab: start one from a search result.')); return; }
  const st = await Promise.all(dls.map((d) => api('/download/status?id=' + d.id)));
  ul.replaceChildren(...dls.map((d, i) => {
    const r = st[i], j = r.json;
    if (r.status !== 200 || !j || j.apistatus !== 0) return el('li', null, el('span', { class: 'name' }, d.name), el('span', { class: 'na' }, r.status === 501 ? NA : 'unknown to the node (restarted?)'));
    const p = j.progress || {}, now = Date.now(), prev = rates[d.id];
    let rate = 0;
    if (prev && now > prev.t) rate = Math.max(0, (p.downloadedsize - prev.n) / ((now - prev.t) / 1000));
    rates[d.id] = { t: now, n: p.downloadedsize };
    const left = p.totalsize - p.downloadedsize;
    const ended = j.downloadstatus >= 4, active = j.downloadstatus === 2;
    const eta = active && rate > 0 ? Math.ceil(left / rate) + ' s left' : '';
    const verified = j.downloadstatus === 5 ? 'hash verified by the node' : '';
    const pct = Number(p.percentage || 0);
    const act = (a) => async () => { await api('/download/action?id=' + d.id + '&action=' + a); showDownloads(); };
    return el('li', { 'data-id': d.id },
      el('span', { class: 'name' }, d.name),
      el('span', { class: 'meta' }, (DLS[j.downloadstatus] || 'status ' + j.downloadstatus) + ' · ' + pct.toFixed(0) + ' % · ' + size(p.downloadedsize) + ' of ' + size(p.totalsize) + (active ? ' · ' + size(rate) + '/s' : '') + (eta ? ' · ' + eta : '') + (verified ? ' · ' + verified : '')),
      el('progress', { max: '100', value: String(pct), 'aria-label': 'progress of ' + d.name }),
      ended ? null : j.downloadstatus === 3 ? el('button', { class: 'sec', onclick: act(1) }, 'Resume') : el('button', { class: 'sec', onclick: act(0) }, 'Pause'),
      ended ? null : el('button', { class: 'sec', onclick: act(2) }, 'Cancel'),
      ended ? el('button', { class: 'sec', onclick: () => { dls = dls.filter((x) => x.id !== d.id); saveDls(); showDownloads(); } }, 'Clear') : null,
      (d.file.type === 3 || d.file.type === 4) ? el('button', { class: 'sec', onclick: () => play(d.file, b64hex(d.file.nodeid)) }, 'Play') : null);
  }));
}

/* ---------- player: /file/view streams with HTTP ranges (seekable) ---------- */
function play(f, node) {
  const v = $('video');
  let u = '/file/view?hash=' + b64hex(f.hash);
  if (node) u += '&node=' + node;
  if (/\.mp4$/i.test(f.name || '')) u += '&format=14';
  if (KEY) u += '&k=' + encodeURIComponent(KEY);
  $('pl-title').textContent = f.name;
  $('pl-note').textContent = '';
  /* The element tells no HTTP status: on an error, ask the route once for it. */
  v.onerror = async () => {
    const r = await fetch(u, { headers: { Range: 'bytes=0-0' }, cache: 'no-store' }).catch(() => null);
    let why = 'the node does not answer';
    if (r) {
      let j = null;
      try { j = await r.json(); } catch (e) { /* media bytes */ }
      why = r.status === 501 ? 'streaming from another peer: ' + NOROUTE :
        r.ok ? 'the browser cannot play this format' : 'the node answered ' + r.status + (j && j.error ? ': ' + j.error : '');
    }
    $('pl-note').textContent = 'This file cannot be played here: ' + why + '.';
  };
  v.src = u;
  location.hash = '#player';
}

/* ---------- start ---------- */
(async function start() {
  const r = await fetch('/test', { headers: KEY ? { 'x-api-key': KEY } : {}, cache: 'no-store' }).catch(() => null);
  if (r && r.status === 200) { route(); return; }
  if (r && r.status === 401) {
    if (KEY) { KEY = ''; sessionStorage.removeItem('peernet-key'); }
    showLogin('');
    return;
  }
  banner('The node does not answer.');
})();
