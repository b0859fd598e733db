// tests/browser/test.js — peernet-apid's web interface in headless chromium
// (playwright-core).  Run by tests/integration/browser.sh, which starts the
// two nodes and passes: URL_A, URL_B (apid of nodes A and B), KEY, NODE_A
// (A's node ID, hex), ART (screenshot folder), CHROMIUM, SRC (the files A
// shares), FILES_B (B's api_files_dir, where downloads land).
// Prints PASS:/FAIL:/SKIP: lines; every wait is bounded.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const E = process.env;
const XSS = '<img src=x onerror=alert(1)>';
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

async function login(page, url, key) {
  await page.goto(url + '/');
  await page.waitForSelector('#key', { state: 'visible' });
  await page.fill('#key', key);
  await page.click('#login-form button');
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

async function run(browser) {
  // ---- first load: bytes, time to interactive, CSP header -----------------
  const { ctx, page } = await newPage(browser);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  // The browser's own start (renderer process, first connection) is left out:
  // a warm-up load of the icon first; the HTTP cache is off for the measure.
  await page.goto(E.URL_A + '/?f=icon.svg');
  bytes = 0;
  const t0 = Date.now();
  const resp = await page.goto(E.URL_A + '/');
  await page.waitForSelector('#key', { state: 'visible' });
  const wall = Date.now() - t0;
  await page.waitForTimeout(300);
  // 'interactive' is marked by app.js when the first screen (here the key form) is usable.
  const nav = await page.evaluate(() => { const n = performance.getEntriesByType('navigation')[0]; const m = performance.getEntriesByName('interactive')[0]; return { dcl: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd), tti: m ? Math.round(m.startTime) : -1 }; });
  const tti = nav.tti;
  info(`first load: ${bytes} bytes transferred, interactive (key form usable) ${tti} ms after navigation start, DOMContentLoaded ${nav.dcl} ms, load ${nav.load} ms (${wall} ms as seen by the test driver, with its polling)`);
  check('first_load_under_300KB', bytes > 0 && bytes <= 300 * 1024, bytes + ' bytes');
  check('interactive_under_1s', tti >= 0 && tti <= 1000, tti + ' ms');
  const csp = resp.headers()['content-security-policy'] || '';
  check('csp_header_strict', /default-src 'self'/.test(csp) && /script-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), csp);
  check('content_type_html', /^text\/html/.test(resp.headers()['content-type'] || ''), resp.headers()['content-type']);
  const nosniff = (resp.headers()['x-content-type-options'] || '') === 'nosniff';
  check('nosniff_header', nosniff, 'missing');
  await cdp.detach();

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
  skip('overview_nat_state', 'the web API has no route giving the NAT state and port mapping yet (shown as not available)');
  await shot(page, '02-overview');

  // ---- peers -------------------------------------------------------------------
  await page.click('nav a[href="#peers"]');
  const rows = await page.waitForFunction(() => document.querySelectorAll('#peers-table tbody tr').length >= 1, null, { timeout: 10000 }).then(() => true, () => false);
  check('peers_table_lists_b', rows, 'no row');
  await page.click('#peers-table th button[data-sort="useragent"]');
  pass('peers_sortable_click');
  skip('peers_address_rtt_secure', '/status/peers gives no address, RTT nor secure flag (the columns say so)');
  await shot(page, '03-peers');

  // ---- my files -------------------------------------------------------------
  await page.click('nav a[href="#files"]');
  const listed = await page.waitForFunction((x) => [...document.querySelectorAll('#file-list .name')].map((e) => e.textContent).includes(x), XSS, { timeout: 10000 }).then(() => true, () => false);
  const names = await page.$$eval('#file-list .name', (es) => es.map((e) => e.textContent));
  check('my_files_lists_ctl_added', listed && names.includes('browserhello.txt'), JSON.stringify(names));
  check('my_files_xss_name_as_text', (await page.$$('#file-list img')).length === 0 && !page.dialogs.some((d) => d.startsWith('alert')), 'an img element or a dialog appeared');
  // Upload through the page.
  const upFile = path.join(E.SRC, 'browserhello.txt');
  await page.setInputFiles('#upload', upFile);
  await page.waitForFunction(() => !/Uploading/.test(document.getElementById('up-status').textContent), null, { timeout: 20000 }).catch(() => {});
  const up = await page.textContent('#up-status');
  if (/not available/.test(up)) skip('upload_share', 'POST /warehouse/create answers 501 on this node ("' + up + '")');
  else check('upload_share', /Shared/.test(up), up);
  // Rename and remove (a file only for this), answering the page's prompt and confirm.
  const fileRow = (n) => page.locator('#file-list li', { has: page.locator('.name', { hasText: n }) }).first();
  page.answer = 'browserrenamed.txt';
  await fileRow('browserremove.txt').locator('button', { hasText: 'Rename' }).click();
  await page.waitForFunction(() => /Rename|Renamed/.test(document.getElementById('up-status').textContent), null, { timeout: 10000 }).catch(() => {});
  const ren = await page.textContent('#up-status');
  if (/not available/.test(ren)) skip('rename_file', 'POST /blockchain/file/update answers 501 on this node ("' + ren + '")');
  else check('rename_file', /Renamed/.test(ren), ren);
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
  let reached = false;
  await page.click('h1');
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('href') === '#search');
  }
  if (reached) await page.keyboard.press('Enter');
  check('keyboard_navigation', reached && await page.isVisible('#search'), 'the Search link was not reachable with Tab');
  check('page_a_no_console_errors', realErrors(page).length === 0, JSON.stringify(realErrors(page)));
  await ctx.close();

  // ---- B: search A's files --------------------------------------------------
  const b = await newPage(browser);
  const pb = b.page;
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
  skip('search_websocket_with_key', 'a browser cannot send x-api-key on a WebSocket and /search/result/ws takes no k=: with a key the page polls /search/result (results still appear as they arrive)');
  await shot(pb, '05-search');

  // XSS name on B
  const xssFound = await search('onerror', XSS);
  const xss = await pb.evaluate(() => ({ imgs: document.querySelectorAll('#results img, #results script').length }));
  check('xss_name_shown_as_text_on_b', xssFound && xss.imgs === 0 && !pb.dialogs.some((d) => d.startsWith('alert')), JSON.stringify({ xssFound, xss, dialogs: pb.dialogs }));

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
      const r = await pb.evaluate(async () => {
        const v = document.getElementById('video');
        const until = (f, ms) => new Promise((res) => { const t0 = Date.now(); (function tick() { if (f()) res(true); else if (Date.now() - t0 > ms) res(false); else setTimeout(tick, 50); })(); });
        if (!(await until(() => v.readyState >= 1 && isFinite(v.duration) && v.duration > 0, 10000))) return { err: 'no metadata: ' + (v.error ? v.error.code : 'none') + ' ' + document.getElementById('pl-note').textContent };
        v.muted = true;
        const target = v.duration * 0.8;
        v.currentTime = target;
        await until(() => !v.seeking, 5000);
        await v.play().catch(() => {});
        const adv = await until(() => v.currentTime > target + 0.2, 8000);
        return { duration: v.duration, target, now: v.currentTime, adv, buffered: v.buffered.length };
      });
      info('video: ' + JSON.stringify(r));
      check('video_seek_80_advances', !r.err && r.adv, JSON.stringify(r));
    }
  }
  await shot(pb, '07-player');
  skip('play_from_search_remote', '/file/view of a file only another peer has answers 501 (remote streaming not yet): the player plays files in the node\'s warehouse, e.g. a download');

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
    if (s === 'search' || s === 'overview') await shot(pb, '08-360px-' + s);
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

  // ---- 1,000 results: scrolling frame rate ------------------------------------
  // The results are made up by the test (page.route answers /search and
  // /search/result): what is measured is the page's rendering, not the network.
  const c = await newPage(browser);
  const pc = c.page;
  const fake = [];
  for (let i = 0; i < 1000; i++) {
    fake.push({ id: crypto.randomUUID(), hash: crypto.randomBytes(32).toString('base64'), type: i % 5, format: 10, size: 1000 + i * 777, folder: '', name: 'result number ' + i + ' ' + XSS, description: '', date: '2026-01-01T00:00:00Z', nodeid: crypto.randomBytes(32).toString('base64'), metadata: [], username: '' });
  }
  let served = 0;
  await pc.route((u) => u.pathname === '/search', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ id: '11111111-1111-4111-8111-111111111111', status: 0 }) }));
  await pc.route((u) => u.pathname === '/search/result', (r) => {
    const part = fake.slice(served, served + 250);
    served += part.length;
    r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ status: served >= fake.length ? 1 : 0, files: part, statistic: null }) });
  });
  await login(pc, E.URL_A, E.KEY);
  await pc.waitForSelector('#overview', { state: 'visible' });
  await pc.click('nav a[href="#search"]');
  await pc.fill('#q', 'many');
  await pc.click('#search-form button');
  const all = await pc.waitForFunction(() => /^1000 results/.test(document.getElementById('s-status').textContent), null, { timeout: 15000 }).then(() => true, () => false);
  check('thousand_results_listed', all, await pc.textContent('#s-status'));
  const fps = await pc.evaluate(() => new Promise((res) => {
    const box = document.getElementById('results');
    const max = box.scrollHeight - box.clientHeight;
    let frames = 0, worst = 0, last = performance.now();
    const t0 = last;
    (function step(now) {
      frames++;
      worst = Math.max(worst, now - last);
      last = now;
      box.scrollTop = ((now - t0) / 3000) * max;
      if (now - t0 < 3000) requestAnimationFrame(step);
      else res({ fps: frames / ((now - t0) / 1000), worst: Math.round(worst), rows: document.querySelectorAll('#results .row').length });
    })(t0);
  }));
  info(`1000 results: ${fps.fps.toFixed(1)} fps while scrolling for 3 s, worst frame ${fps.worst} ms, ${fps.rows} rows in the DOM`);
  check('thousand_results_scroll_over_30fps', fps.fps > 30, fps.fps.toFixed(1) + ' fps');
  check('thousand_results_no_dialog', pc.dialogs.length === 0, JSON.stringify(pc.dialogs));
  await shot(pc, '09-1000-results');
  await c.ctx.close();
}

main().then(() => process.exit(failed ? 1 : 0), (e) => { fail('run', e.stack || String(e)); process.exit(1); });
