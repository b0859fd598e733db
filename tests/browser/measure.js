// tests/browser/measure.js — the web interface's performance figures,
// measured in chromium; used by test.js (which prints them and asserts only
// what is not a timing) and by bench.js (BENCH lines, bench/browser.sh).
'use strict';
const crypto = require('crypto');

const XSS = '<img src=x onerror=alert(1)>';

// First load of URL/ with the HTTP cache off: bytes transferred, the
// 'interactive' mark app.js sets when the first screen is usable.  The
// browser's own start (renderer process, first connection) is left out by
// a warm-up load of the icon.  ready: a CSS selector the first screen shows.
async function firstLoad(ctx, page, url, ready) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  await page.goto(url + '/?f=icon.svg');
  bytes = 0;
  const resp = await page.goto(url + '/');
  await page.waitForSelector(ready, { state: 'visible' });
  await page.waitForTimeout(300);	// requests the first screen makes after the mark
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    const m = performance.getEntriesByName('interactive')[0];
    return { dcl: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd), tti: m ? Math.round(m.startTime) : -1 };
  });
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  await cdp.detach();
  return Object.assign({ bytes, resp }, nav);
}

function fakeResults(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ id: crypto.randomUUID(), hash: crypto.randomBytes(32).toString('base64'), type: i % 5, format: 10,
      size: 1000 + i * 777, folder: '', name: 'result number ' + i + ' ' + XSS, description: '',
      date: '2026-01-01T00:00:00Z', nodeid: crypto.randomBytes(32).toString('base64'), metadata: [], username: '' });
  }
  return out;
}

// Frames per second in the page (requestAnimationFrame) while the results
// list is scrolled from top to bottom in ms.
function fpsScript(ms) {
  return `new Promise((res) => {
    const box = document.getElementById('results');
    const max = box.scrollHeight - box.clientHeight;	/* the list is complete: read once */
    let frames = 0, worst = 0, last = performance.now();
    const t0 = last;
    (function step(now) {
      frames++;
      worst = Math.max(worst, now - last);
      last = now;
      box.scrollTop = ((now - t0) / ${ms}) * max;
      if (now - t0 < ${ms}) requestAnimationFrame(step);
      else res({ fps: frames / ((now - t0) / 1000), worst: Math.round(worst), rows: document.querySelectorAll('#results .row').length });
    })(t0);
  })`;
}

// 1,000 results made up here, pushed one per websocket message (as the
// reference does without limit=) by a route that stands in for
// /search/result/ws: what is measured is the page's rendering while they
// arrive, then while scrolling the whole list for 3 s.  page is signed in
// (the key in session storage); it is loaded again.
async function thousand(page, n) {
  const fake = fakeResults(n);
  let sent = 0;
  await page.route((u) => u.pathname === '/search', (r) => r.fulfill({ status: 200, contentType: 'application/json',
    body: JSON.stringify({ id: '11111111-1111-4111-8111-111111111111', status: 0 }) }));
  await page.routeWebSocket(/\/search\/result\/ws/, (ws) => {
    // Bounded: n messages, then the last one; 50 per macrotask so that the
    // page receives them while it renders.
    (function burst() {
      for (let k = 0; k < 50 && sent < fake.length; k++, sent++) ws.send(JSON.stringify({ status: 0, files: [fake[sent]], statistic: null }));
      if (sent < fake.length) setTimeout(burst, 5);
      else { ws.send(JSON.stringify({ status: 1, files: [], statistic: null })); ws.close(); }
    })();
  });
  // The websocket route works for pages loaded after it is set (an init script).
  await page.reload();
  await page.waitForSelector('#overview', { state: 'visible' });
  await page.evaluate(() => { location.hash = '#search'; });
  await page.fill('#q', 'many');
  // Frames while the results arrive: from the click to the status saying all came.
  const t0 = Date.now();
  const during = page.evaluate(`new Promise((res) => {
    let frames = 0, worst = 0, last = performance.now();
    const t0 = last;
    (function step(now) {
      frames++; worst = Math.max(worst, now - last); last = now;
      if (/^${n} results, search finished/.test(document.getElementById('s-status').textContent) || now - t0 > 20000)
        res({ fps: frames / Math.max(0.001, (now - t0) / 1000), worst: Math.round(worst), ms: Math.round(now - t0) });
      else requestAnimationFrame(step);
    })(t0);
  })`);
  await page.click('#search-form button');
  const arrive = await during;
  const all = await page.waitForFunction((k) => new RegExp('^' + k + ' results').test(document.getElementById('s-status').textContent), n, { timeout: 20000 }).then(() => true, () => false);
  const wall = Date.now() - t0;
  const scroll = await page.evaluate(fpsScript(3000));
  return { all, arrive, scroll, wall, status: await page.textContent('#s-status') };
}

module.exports = { firstLoad, thousand, XSS };
