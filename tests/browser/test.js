// tests/browser/test.js — peernet-apid's web interface in headless chromium
// (playwright-core).  Run by tests/integration/browser.sh, which starts the
// nodes and passes: URL_A, URL_B, URL_C (apid of nodes A, B and C; C has no
// key), KEY, NODE_A, NODE_B (node IDs, hex), CTL (peernetctl), DIR_A (A's
// node directory), ART (screenshot folder), CHROMIUM, SRC (the files A
// shares; UPLOAD: one more that the page uploads), FILES_B (B's
// api_files_dir, where downloads land).
// Prints PASS:/FAIL:/SKIP: lines; every wait is bounded.  Timings are
// printed ('#' lines), not asserted: bench/browser.sh holds them to the
// goals.  Cases of routes other branches add (upload, rename) find out at
// run time whether this apid has the route (501: "route not in this
// build") and SKIP then.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');
const { firstLoad, thousand, XSS } = require('./measure.js');

const E = process.env;
let failed = 0;
const pass = (n) => console.log('PASS: browser/' + n);
const fail = (n, why) => { failed++; console.log('FAIL: browser/' + n + ': ' + why); };
const skip = (n, why) => console.log('SKIP: browser/' + n + ': ' + why);
const info = (s) => console.log('# ' + s);
const check = (n, ok, why) => (ok ? pass(n) : fail(n, why));
const sha = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
const shot = (page, name) => page.screenshot({ path: path.join(E.ART, name + '.png') }).catch((e) => info('screenshot ' + name + ': ' + e.message));

// A page that records console errors, page errors, CSP violations and dialogs.
async function newPage(browser, viewport) {
  const ctx = await browser.newContext({ viewport: viewport || { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.errors = [];
  page.dialogs = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
  // Every dialog is recorded; a confirm or prompt the test expects is answered (page.answer).
  page.on('dialog', (d) => {
    page.dialogs.push(d.type() + ' ' + d.message());
    if (d.type() !== 'alert' && page.answer != null) { (d.type() === 'prompt' ? d.accept(page.answer) : d.accept()).catch(() => {}); page.answer = null; } else d.dismiss().catch(() => {});
  });
  return { ctx, page };
}
// Console errors that are expected: the 401 of the key check, the 501 of a route not done yet.
const realErrors = (page) => page.errors.filter((e) => !/status of (401|501|403)/.test(e));
// peernetctl's JSON about node A (the page must show the same).
const ctlA = (...a) => JSON.parse(execFileSync(E.CTL, ['-d', E.DIR_A, '--json', ...a], { timeout: 10000 }).toString());
// The HTTP status of a route of A's apid (with the key), asked by node itself,
// not the page: a 400 of a probe must not show as a console error there.
const routeStatus = async (method, route, body) =>
  (await fetch(E.URL_A + route, { method, headers: { 'x-api-key': E.KEY, 'Content-Type': 'application/json' }, body, signal: AbortSignal.timeout(10000) })).status;
const NOROUTE = (st) => st === 501 || st === 404;
// Tab from the current focus until pred(activeElement) holds; the ids passed on the way.
async function tabUntil(page, pred, max) {
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const r = await page.evaluate((p) => { const a = document.activeElement; return { id: a && (a.id || a.getAttribute('href') || a.textContent.trim().slice(0, 20)), hit: a ? new Function('a', 'return ' + p)(a) : false }; }, pred);
    seen.push(r.id);
    if (r.hit) return { ok: true, seen };
  }
  return { ok: false, seen };
}

async function login(page, url, key) {
  await page.goto(url + '/');
  await page.waitForSelector('#key', { state: 'visible' });
  await page.fill('#key', key);
  await page.click('#login-form button');
}

// In the page: wait for the video's metadata, seek to 80 %, play; does currentTime advance?
async function seekScript(metaMs) {
  const v = document.getElementById('video');
  const note = () => document.getElementById('pl-note').textContent;
  const until = (f, ms) => new Promise((res) => { const t0 = Date.now(); (function tick() { if (f()) res(true); else if (Date.now() - t0 > ms) res(false); else setTimeout(tick, 50); })(); });
  if (!(await until(() => (v.readyState >= 1 && isFinite(v.duration) && v.duration > 0) || /cannot be played/.test(note()), metaMs)) || v.readyState < 1) {
    await until(() => /cannot be played/.test(note()), 3000);
    return { err: 'no metadata: ' + (v.error ? v.error.code : 'none') + ' ' + note() };
  }
  v.muted = true;
  const target = v.duration * 0.8;
  v.currentTime = target;
  await until(() => !v.seeking, 5000);
  await v.play().catch(() => {});
  const adv = await until(() => v.currentTime > target + 0.2, 8000);
  return { duration: v.duration, target, now: v.currentTime, adv, buffered: v.buffered.length };
}

async function main() {
  const browser = await chromium.launch({
    executablePath: E.CHROMIUM, headless: true, timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
  });
  info('browser ' + browser.version());
  try {
    await run(browser);
  } finally {
    await browser.close();
  }
}

let uploaded = false;
async function run(browser) {
  // ---- first load: bytes, time to interactive, CSP header -----------------
  const { ctx, page } = await newPage(browser);
  const fl = await firstLoad(ctx, page, E.URL_A, '#key');
  const resp = fl.resp;
  // 'interactive' is marked by app.js when the first screen (here the key form) is usable.
  info(`first load: ${fl.bytes} bytes transferred, interactive (key form usable) ${fl.tti} ms after navigation start, DOMContentLoaded ${fl.dcl} ms, load ${fl.load} ms (goals: 300 KB, 1 s; timing held by bench/browser.sh)`);
  check('first_load_under_300KB', fl.bytes > 0 && fl.bytes <= 300 * 1024, fl.bytes + ' bytes');
  check('interactive_mark_set', fl.tti >= 0, 'app.js set no interactive mark');
  const csp = resp.headers()['content-security-policy'] || '';
  check('csp_header_strict', /default-src 'self'/.test(csp) && /script-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), csp);
  check('content_type_html', /^text\/html/.test(resp.headers()['content-type'] || ''), resp.headers()['content-type']);
  const nosniff = (resp.headers()['x-content-type-options'] || '') === 'nosniff';
  check('nosniff_header', nosniff, 'missing');

  // ---- the API key is required -------------------------------------------
  check('key_asked_first', await page.isVisible('#login') && !(await page.isVisible('#overview')), 'the key form is not shown');
  await shot(page, '01-login');
  await page.fill('#key', '00000000-0000-4000-8000-000000000000');
  await page.click('#login-form button');
  const werr = await page.waitForFunction(() => /Wrong API key/.test(document.getElementById('login-error').textContent), null, { timeout: 5000 }).then(() => true, () => false);
  check('wrong_key_refused', werr && !(await page.isVisible('#overview')), 'no error shown for a wrong key');
  const st = await page.evaluate(async () => (await fetch('/status')).status);
  check('api_without_key_401', st === 401, 'status ' + st);

  // ---- overview ---------------------------------------------------------------
  await page.fill('#key', E.KEY);
  await page.click('#login-form button');
  const nodeOk = await page.waitForFunction((id) => document.getElementById('ov-node').textContent === id, E.NODE_A, { timeout: 10000 }).then(() => true, () => false);
  check('overview_node_id_matches_ctl', nodeOk, 'shown: ' + (await page.textContent('#ov-node')));
  await page.waitForTimeout(4500);	// three samples for the traffic chart
  const daemons = await page.textContent('#ov-daemons');
  check('overview_daemons_up', /netd ● up/.test(daemons) && /storaged ● up/.test(daemons) && /searchd ● up/.test(daemons), daemons);
  // NAT state and port mapping: what peernetctl status says of A's netd.
  const stA = ctlA('status');
  const findKey = (o, k) => (o && typeof o === 'object' ? (typeof o[k] === 'string' ? o[k] : Object.values(o).map((v) => findKey(v, k)).find((v) => v != null)) : undefined);
  const natCtl = findKey(stA, 'nat'), pmCtl = findKey(stA, 'portmap');
  const natShown = await page.waitForFunction(([n, p]) => { const t = document.getElementById('ov-nat').textContent; return t.startsWith(n) && t.includes('port mapping: ' + p); }, [natCtl, pmCtl], { timeout: 5000 }).then(() => true, () => false);
  check('overview_nat_state', natCtl != null && natShown, JSON.stringify({ ctl: natCtl, portmap: pmCtl, shown: await page.textContent('#ov-nat') }));
  const listen = await page.textContent('#ov-listen');
  check('overview_listen_address', listen.includes(new URL(E.URL_A).hostname + ':'), listen);
  await shot(page, '02-overview');

  // ---- peers -------------------------------------------------------------------
  await page.click('nav a[href="#peers"]');
  const rows = await page.waitForFunction(() => document.querySelectorAll('#peers-table tbody tr').length >= 1, null, { timeout: 10000 }).then(() => true, () => false);
  check('peers_table_lists_b', rows, 'no row');
  // B's row: the address A's netd sends to (as peernetctl peers says), a
  // measured RTT once B answered, "verified" then.
  const bRow = async () => page.evaluate((nb) => {
    const tr = [...document.querySelectorAll('#peers-table tbody tr')].find((t) => t.cells[0].title === nb);
    return tr ? [...tr.cells].map((c) => c.textContent) : null;
  }, E.NODE_B);
  let cells = null, ctlB = null;
  for (let i = 0; i < 20; i++) {	// up to ~10 s for the first round trip
    ctlB = (ctlA('peers').peers || []).find((p) => p.node_id === E.NODE_B);
    cells = await bRow();
    if (cells && ctlB && ctlB.rtt_ms > 0 && /^\d+ ms$/.test(cells[2])) break;
    await page.waitForTimeout(500);
  }
  check('peers_address_rtt_secure', cells && ctlB && cells[1] === ctlB.address + ' ✓' && /^\d+ ms$/.test(cells[2]) && Number(cells[2].split(' ')[0]) > 0 &&
    cells[4] === 'no (v0)' && cells[3] === ctlB.user_agent && cells[5] === String(ctlB.height), JSON.stringify({ shown: cells, ctl: ctlB }));
  // Sorting: chain height ascending, then descending on a second click.
  const heights = () => page.$$eval('#peers-table tbody tr', (rs) => rs.map((r) => Number(r.cells[5].textContent)));
  await page.click('#peers-table th button[data-sort="rtt"]');
  await page.click('#peers-table th button[data-sort="blockchainheight"]');
  const up1 = await heights();
  await page.click('#peers-table th button[data-sort="blockchainheight"]');
  const down1 = await heights();
  const sorted = (a, d) => a.every((v, i) => i === 0 || (d > 0 ? a[i - 1] <= v : a[i - 1] >= v));
  check('peers_sortable_click', up1.length >= 1 && sorted(up1, 1) && sorted(down1, -1), JSON.stringify({ up1, down1 }));
  await shot(page, '03-peers');

  // ---- my files -------------------------------------------------------------
  await page.click('nav a[href="#files"]');
  const listed = await page.waitForFunction((x) => [...document.querySelectorAll('#file-list .name')].map((e) => e.textContent).includes(x), XSS, { timeout: 10000 }).then(() => true, () => false);
  const names = await page.$$eval('#file-list .name', (es) => es.map((e) => e.textContent));
  check('my_files_lists_ctl_added', listed && names.includes('browserhello.txt'), JSON.stringify(names));
  check('my_files_xss_name_as_text', (await page.$$('#file-list img')).length === 0 && !page.dialogs.some((d) => d.startsWith('alert')), 'an img element or a dialog appeared');
  // Upload through the page (a file A does not share yet), when apid has the route.
  const upSt = await routeStatus('POST', '/warehouse/create', '');
  if (NOROUTE(upSt)) {
    skip('upload_share', 'route not in this build: POST /warehouse/create answers ' + upSt);
  } else {
    // Dropped on the drop zone, as a user drags it from a file manager.
    const dt = await page.evaluateHandle(([name, b64]) => {
      const d = new DataTransfer();
      d.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'text/plain' }));
      return d;
    }, [path.basename(E.UPLOAD), fs.readFileSync(E.UPLOAD).toString('base64')]);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    await page.waitForFunction(() => !/Uploading/.test(document.getElementById('up-status').textContent), null, { timeout: 30000 }).catch(() => {});
    const up = await page.textContent('#up-status');
    const upName = path.basename(E.UPLOAD);
    const inList = await page.waitForFunction((x) => [...document.querySelectorAll('#file-list .name')].some((e) => e.textContent === x), upName, { timeout: 10000 }).then(() => true, () => false);
    const lsA = ctlA('ls');
    const inChain = JSON.stringify(lsA).includes(upName);
    check('upload_share', /Shared/.test(up) && inList && inChain, JSON.stringify({ up, inList, inChain }));
    uploaded = /Shared/.test(up) && inList;
  }
  // Rename and remove (a file only for this), answering the page's prompt and confirm.
  const fileRow = (n) => page.locator('#file-list li', { has: page.locator('.name', { hasText: n }) }).first();
  const renSt = await routeStatus('POST', '/blockchain/file/update', '{}');
  let ren = '';
  if (NOROUTE(renSt)) {
    skip('rename_file', 'route not in this build: POST /blockchain/file/update answers ' + renSt);
  } else {
    const list = async () => page.evaluate(async (k) => (await (await fetch('/blockchain/file/list', { headers: { 'x-api-key': k } })).json()).files || [], E.KEY);
    const before = (await list()).find((f) => f.name === 'browserremove.txt');
    page.answer = 'browserrenamed.txt';
    await fileRow('browserremove.txt').locator('button', { hasText: 'Rename' }).click();
    await page.waitForFunction(() => /Rename|Renamed/.test(document.getElementById('up-status').textContent), null, { timeout: 10000 }).catch(() => {});
    ren = await page.textContent('#up-status');
    const shown = await page.waitForFunction(() => [...document.querySelectorAll('#file-list .name')].some((e) => e.textContent === 'browserrenamed.txt'), null, { timeout: 10000 }).then(() => true, () => false);
    const after = (await list()).find((f) => f.name === 'browserrenamed.txt');
    check('rename_file', /Renamed/.test(ren) && shown && before && after && after.hash === before.hash && after.size === before.size,
      JSON.stringify({ ren, shown, before: before && before.hash, after: after && after.hash }));
  }
  const rmName = /Renamed/.test(ren) ? 'browserrenamed.txt' : 'browserremove.txt';
  page.answer = 'yes';
  await fileRow(rmName).locator('button', { hasText: 'Remove' }).click();
  const gone = await page.waitForFunction((n) => /Removed/.test(document.getElementById('up-status').textContent) && ![...document.querySelectorAll('#file-list .name')].some((e) => e.textContent === n), rmName, { timeout: 10000 }).then(() => true, () => false);
  check('remove_file', gone, await page.textContent('#up-status'));
  // Profile: name and picture through the form, read back by the API.
  const png = path.join(E.ART, 'pic.png');
  fs.writeFileSync(png, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'));
  await page.fill('#pf-name', 'Browser Test <b>bold</b>');
  await page.setInputFiles('#pf-pic', png);
  await page.click('#profile-form button');
  await page.waitForFunction(() => document.getElementById('pf-status').textContent !== '', null, { timeout: 10000 }).catch(() => {});
  const pf = await page.evaluate(async (k) => { const r = await fetch('/profile/list', { headers: { 'x-api-key': k } }); return r.status === 200 ? r.json() : { status: r.status }; }, E.KEY);
  const fields = (pf && pf.fields) || [];
  const nameOk = fields.some((f) => f.type === 0 && f.text === 'Browser Test <b>bold</b>');
  const picOk = fields.some((f) => f.type === 6 && f.blob);
  if ((await page.textContent('#pf-status')).includes('not available')) skip('profile_name_picture', 'POST /profile/write answers 501 on this node');
  else check('profile_name_picture', nameOk && picOk && await page.isVisible('#pf-img') && (await page.$$('#files b')).length === 0, JSON.stringify({ status: await page.textContent('#pf-status'), nameOk, picOk }));
  await shot(page, '04-my-files');

  // ---- keyboard --------------------------------------------------------------
  // Tab order: the screen links, then each screen's main controls, in order.
  await page.click('h1');
  const toSearch = await tabUntil(page, "a.getAttribute('href') === '#search'", 12);
  if (toSearch.ok) await page.keyboard.press('Enter');
  const searchShown = await page.waitForSelector('#search', { state: 'visible', timeout: 5000 }).then(() => true, () => false);
  check('keyboard_navigation', toSearch.ok && searchShown, 'the Search link was not reachable with Tab: ' + toSearch.seen.join(' '));
  const sTab = await tabUntil(page, "a.type === 'submit' && a.form && a.form.id === 'search-form'", 20);
  const want = ['q', 'f-type', 'f-format', 'f-min', 'f-max', 'f-from', 'f-to', 'f-sort'];
  check('keyboard_search_controls_in_order', sTab.ok && want.every((w, i) => sTab.seen.indexOf(w) >= 0 && (i === 0 || sTab.seen.indexOf(w) > sTab.seen.indexOf(want[i - 1]))), sTab.seen.join(' '));
  await page.click('h1');
  const toFiles = await tabUntil(page, "a.getAttribute('href') === '#files'", 12);
  if (toFiles.ok) await page.keyboard.press('Enter');
  await page.waitForSelector('#files', { state: 'visible', timeout: 5000 }).catch(() => {});
  const fTab = await tabUntil(page, "a.id === 'pf-name'", 40);
  check('keyboard_files_controls', toFiles.ok && fTab.ok && fTab.seen.includes('drop') && fTab.seen.some((x) => x === 'Rename') && fTab.seen.some((x) => x === 'Remove'), fTab.seen.join(' '));
  check('page_a_no_console_errors', realErrors(page).length === 0, JSON.stringify(realErrors(page)));
  await ctx.close();

  // ---- B: search A's files --------------------------------------------------
  const b = await newPage(browser);
  const pb = b.page;
  let wsB = '', framesB = 0;
  pb.on('websocket', (ws) => { wsB = ws.url(); ws.on('framereceived', () => framesB++); });
  await login(pb, E.URL_B, E.KEY);
  await pb.waitForSelector('#overview', { state: 'visible' });
  await pb.click('nav a[href="#search"]');
  async function search(term, want) {
    await pb.evaluate(() => { location.hash = '#search'; });
    await pb.fill('#q', term);
    await pb.click('#search-form button');
    return pb.waitForFunction((w) => [...document.querySelectorAll('#results .row .name')].some((e) => e.textContent === w), want, { timeout: 20000 }).then(() => true, () => false);
  }
  const found = await search('browserhello', 'browserhello.txt');
  check('search_on_b_finds_a_file', found, await pb.textContent('#s-status'));
  const sharer = found ? await pb.textContent('#results .row .meta') : '';
  check('search_result_shows_sharer', /shared by/.test(sharer), sharer);
  // With a key: the websocket carries it as k= (no header possible), and the results come over it.
  check('search_websocket_with_key', found && framesB >= 1 && /\/search\/result\/ws\?id=[0-9a-f-]+&k=/.test(wsB),
    JSON.stringify({ frames: framesB, url: wsB.replace(/k=[^&]*/, 'k=…') }));
  await shot(pb, '05-search');

  // XSS name on B
  const xssFound = await search('onerror', XSS);
  const xss = await pb.evaluate(() => ({ imgs: document.querySelectorAll('#results img, #results script').length }));
  check('xss_name_shown_as_text_on_b', xssFound && xss.imgs === 0 && !pb.dialogs.some((d) => d.startsWith('alert')), JSON.stringify({ xssFound, xss, dialogs: pb.dialogs }));

  // ---- player: a video only A has, played from the search result (/file/view?node=) -----
  if (!fs.existsSync(path.join(E.SRC, 'browserremote.webm'))) {
    skip('play_from_search_remote', 'ffmpeg (with libvpx) is not installed: no test video');
  } else if (!(await search('browserremote', 'browserremote.webm'))) {
    fail('play_from_search_remote', 'not found by search: ' + await pb.textContent('#s-status'));
  } else {
    const row = pb.locator('#results .row', { has: pb.locator('.name', { hasText: 'browserremote.webm' }) }).first();
    await row.locator('button', { hasText: 'Play' }).click();
    await pb.waitForSelector('#player', { state: 'visible' });
    const r = await pb.evaluate(seekScript, 30000);
    info('remote video: ' + JSON.stringify(r));
    if (r.err && /route not in this build/.test(r.err)) skip('play_from_search_remote', r.err);
    else check('play_from_search_remote', !r.err && r.adv, JSON.stringify(r));
    await shot(pb, '07-player-remote');
  }

  // ---- download ---------------------------------------------------------------
  async function download(term, name) {
    if (!(await search(term, name))) return 'not found by search';
    const row = pb.locator('#results .row', { has: pb.locator('.name', { hasText: name }) }).first();
    await row.locator('button', { hasText: 'Download' }).click();
    const started = await pb.waitForFunction(() => location.hash === '#downloads' || /refused/.test(document.getElementById('s-status').textContent), null, { timeout: 10000 }).then(() => true, () => false);
    if (!started || !(await pb.evaluate(() => location.hash === '#downloads'))) return 'refused: ' + await pb.textContent('#s-status');
    const li = pb.locator('#dl-list li', { has: pb.locator('.name', { hasText: name }) }).first();
    const done = await li.locator('progress[value="100"]').waitFor({ timeout: 30000 }).then(() => true, () => false);
    if (!done) return 'progress stayed at ' + await li.locator('.meta').textContent().catch(() => '?');
    const fin = await li.locator('.meta', { hasText: 'finished' }).waitFor({ timeout: 30000 }).then(() => true, () => false);
    return fin ? '' : 'never finished: ' + await li.locator('.meta').textContent().catch(() => '?');
  }
  const why = await download('browserdata', 'browserdata.bin');
  if (why) fail('download_progress_100', why);
  else {
    pass('download_progress_100');
    const meta = await pb.locator('#dl-list li', { has: pb.locator('.name', { hasText: 'browserdata.bin' }) }).first().locator('.meta').textContent();
    check('download_shows_verified', /verified/.test(meta), meta);
    const got = path.join(E.FILES_B, 'browserdata.bin');
    check('download_hash_matches', fs.existsSync(got) && sha(got) === sha(path.join(E.SRC, 'browserdata.bin')), 'file in B\'s files dir differs or is missing');
  }
  await shot(pb, '06-downloads');

  // ---- player: a short video, seek to 80 % ------------------------------------
  if (!fs.existsSync(path.join(E.SRC, 'browserclip.webm'))) {
    skip('video_seek_80', 'ffmpeg (with libvpx) is not installed: no test video');
  } else {
    const w = await download('browserclip', 'browserclip.webm');
    if (w) fail('video_download', w);
    else {
      const li = pb.locator('#dl-list li', { has: pb.locator('.name', { hasText: 'browserclip.webm' }) }).first();
      await li.locator('button', { hasText: 'Play' }).click();
      await pb.waitForSelector('#player', { state: 'visible' });
      const r = await pb.evaluate(seekScript, 10000);
      info('video: ' + JSON.stringify(r));
      check('video_seek_80_advances', !r.err && r.adv, JSON.stringify(r));
    }
  }
  await shot(pb, '07-player');

  // ---- the file uploaded through A's page, searched and downloaded on B ----------
  if (!uploaded) skip('upload_then_download_on_b', 'no upload on A (see upload_share)');
  else {
    const n = path.basename(E.UPLOAD);
    const w = await download(n.replace(/\..*$/, ''), n);
    const got = path.join(E.FILES_B, n);
    check('upload_then_download_on_b', !w && fs.existsSync(got) && sha(got) === sha(E.UPLOAD), w || 'hash differs or file missing');
  }

  // the traffic chart, sampled in the background while B downloaded
  await pb.click('nav a[href="#overview"]');
  await pb.waitForTimeout(2500);
  await shot(pb, '10-overview-b-traffic');

  // ---- 360 px wide ------------------------------------------------------------
  await pb.setViewportSize({ width: 360, height: 740 });
  const wide = [];
  for (const s of ['overview', 'peers', 'files', 'search', 'downloads', 'player']) {
    await pb.evaluate((h) => { location.hash = '#' + h; }, s);
    await pb.waitForTimeout(400);
    const sw = await pb.evaluate(() => document.documentElement.scrollWidth);
    if (sw > 360) wide.push(s + ':' + sw);
    await shot(pb, '08-360px-' + s);
  }
  check('layout_360px_no_horizontal_scroll', wide.length === 0, wide.join(' '));
  check('page_b_no_console_errors', realErrors(pb).length === 0, JSON.stringify(realErrors(pb)));
  await b.ctx.close();

  // ---- C: a node without a key; search results over the websocket -----------
  if (!E.URL_C) skip('search_websocket_no_key', 'node C did not start');
  else {
    const n3 = await newPage(browser);
    const p3 = n3.page;
    let frames = 0, wsUrl = '';
    p3.on('websocket', (ws) => { wsUrl = ws.url(); ws.on('framereceived', () => frames++); });
    await p3.goto(E.URL_C + '/');
    const open = await p3.waitForSelector('#overview', { state: 'visible', timeout: 10000 }).then(() => true, () => false);
    check('no_key_node_opens_without_login', open && !(await p3.isVisible('#login')), 'the key was asked');
    await p3.click('nav a[href="#search"]');
    await p3.fill('#q', 'browserhello');
    await p3.click('#search-form button');
    const got = await p3.waitForFunction(() => [...document.querySelectorAll('#results .row .name')].some((e) => e.textContent === 'browserhello.txt'), null, { timeout: 20000 }).then(() => true, () => false);
    check('search_websocket_no_key', got && frames >= 1 && /\/search\/result\/ws\?id=/.test(wsUrl), JSON.stringify({ got, frames, wsUrl, status: await p3.textContent('#s-status') }));
    check('page_c_no_console_errors', realErrors(p3).length === 0, JSON.stringify(realErrors(p3)));
    await n3.ctx.close();
  }

  // ---- 1,000 results: rendering as they arrive, then scrolling ------------------
  // The results are made up by the test (measure.js: a route stands in for
  // /search and /search/result/ws): what is measured is the page's rendering,
  // not the network.  The frame rates are printed; bench/browser.sh holds
  // them to the goal (> 30 fps).  Asserted here: every result is listed, the
  // list is virtual (a bounded number of rows in the DOM), names stay text.
  const c = await newPage(browser);
  const pc = c.page;
  await login(pc, E.URL_A, E.KEY);
  await pc.waitForSelector('#overview', { state: 'visible' });
  const t = await thousand(pc, 1000);
  info(`1000 results: arrived one per websocket message in ${t.arrive.ms} ms at ${t.arrive.fps.toFixed(1)} fps (worst frame ${t.arrive.worst} ms); ` +
    `scrolling for 3 s: ${t.scroll.fps.toFixed(1)} fps, worst frame ${t.scroll.worst} ms, ${t.scroll.rows} rows in the DOM (goal > 30 fps; held by bench/browser.sh)`);
  check('thousand_results_listed', t.all, t.status);
  check('thousand_results_virtual_list', t.scroll.rows > 0 && t.scroll.rows < 100, t.scroll.rows + ' rows in the DOM');
  const imgs = await pc.evaluate(() => document.querySelectorAll('#results img, #results script').length);
  check('thousand_results_no_dialog', pc.dialogs.length === 0 && imgs === 0, JSON.stringify({ dialogs: pc.dialogs, imgs }));
  await shot(pc, '09-1000-results');
  await c.ctx.close();
}

main().then(() => process.exit(failed ? 1 : 0), (e) => { fail('run', e.stack || String(e)); process.exit(1); });
