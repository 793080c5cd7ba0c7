// The guide's three DR steps through the web UI alone, in headless Chromium, against two real
// sites on loopback (rocksdr_node serve + rocksdr server each; see support.js):
//
//   sign in (a wrong token first: the API's error is shown) -> Step 1: enable the DR primary,
//   Secondaries tab: add a secondary, generate its activation token, copy it (TTL and expiry shown);
//   add and revoke a spare one (confirmation; cancel first) -> Step 2: on the secondary site enable
//   DR secondary with the token (the "clear all data" warning and confirmation), wait for
//   stream-wals; the primary's overview shows the secondary connected and its lag -> Step 3:
//   generate an OTP, enter unseal keys one at a time (a malformed key, then a wrong key: the
//   secondary's own, which aborts and resets progress), then three of the PRIMARY's keys; the CLI
//   decode command shown is run and must give the token the page decoded; promote is refused while
//   the primary is connected; demote the primary; promote the secondary; then the old primary
//   follows the new one (operation token on it, activation token from the new primary,
//   update-primary).
// Every screen is screenshotted (build/ui-artifacts/NN-name.png), and again at 360 px wide
// (NN-name-narrow.png) where the page must not scroll sideways.
//
// Usage: node tests/ui/dr_walkthrough_test.js --build-dir BUILD [--artifacts DIR]
'use strict';

const assert = require('node:assert/strict');
const { run, api, waitFor, loadPlaywright, runCli } = require('./support');

const NARROW = { width: 360, height: 740 };
const WIDE = { width: 1100, height: 800 };

run('dr_walkthrough_test', 240000, async (h, step) => {
  const playwright = loadPlaywright();
  let P, S, pk, sk, pageP, pageS, activation, decoded;
  let shotNo = 0;
  const shot = async (page, name) => h.shot(page, `${String(++shotNo).padStart(2, '0')}-${name}`);

  // ---- page helpers
  const visible = (page, sel, timeout) => page.waitForSelector(sel, { state: 'visible', timeout });
  const text = async (page, sel) => ((await page.textContent(sel)) || '').replace(/\s+/g, ' ').trim();
  const tab = async (page, view) => {
    await page.click(`#tabs a[data-view="${view}"]`);
    await visible(page, `#view-${view}`);
  };
  const waitFact = (page, key, want, timeout = 20000) => page.waitForFunction(([k, w]) => {
    const e = document.querySelector(`[data-testid="fact-${k}"]`);
    return e && (w instanceof RegExp ? w.test(e.textContent) : e.textContent.trim() === w);
  }, [key, want], { timeout, polling: 200 });
  const alertText = async (page, kind) => {
    await visible(page, `[data-testid="alert-${kind}"]`);
    return (await page.locator(`[data-testid="alert-${kind}"]`).last().textContent()).replace(/\s+/g, ' ');
  };
  const confirmDialog = async (page, mustSay, name) => {
    await visible(page, '#confirm[open]');
    const said = (await text(page, '#confirm')).replace(/\s+/g, ' ');
    assert.match(said, mustSay);
    if (name) await shot(page, name);
    await page.click('#confirm-ok');
    await page.waitForSelector('#confirm[open]', { state: 'detached' }).catch(() => {});
  };
  // The same screen at 360 px: no sideways scrolling, then a screenshot.
  const narrow = async (page, name) => {
    await page.setViewportSize(NARROW);
    await page.waitForTimeout(150);
    const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(sw <= cw, `${name}: the page is ${sw} px wide in a ${cw} px viewport (scrolls sideways)`);
    await h.shot(page, `${String(shotNo).padStart(2, '0')}-${name}-narrow`);
    await page.setViewportSize(WIDE);
  };
  const login = async (page, addr, token) => {
    await page.goto(`${addr}/ui/`);
    await visible(page, '#view-login');
    await page.fill('#login-token', token);
    await page.click('#login-form button[type=submit]');
    await visible(page, '#view-overview');
  };
  const submitKey = async (page, key) => {
    await page.fill('#ot-key', key);
    await page.click('#ot-key-form button[type=submit]');
    await page.waitForFunction(() => !document.querySelector('#ot-key-form button[type=submit]').disabled);
  };
  const progressText = (page) => text(page, '[data-testid="ot-progress-text"]');

  await step('start two sites (application + plugin + sidecar each) and init/unseal them', async () => {
    [P, S] = await Promise.all([h.startSite('primary'), h.startSite('secondary')]);
    [pk, sk] = await Promise.all([h.initUnseal(P), h.initUnseal(S)]);
    await api(P.addr, 'POST', 'secret/demo/before', { value: 'written-before-enable' }, pk.rootToken);
    await h.launchBrowser(playwright);
    await h.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    pageP = await h.newPage('primary');
    pageS = await h.newPage('secondary');
  });

  await step('sign in: a wrong token shows the API error, the root token signs in', async () => {
    await pageP.goto(`${P.addr}/ui`);  // redirected to /ui/
    await visible(pageP, '#view-login');
    assert.match(await text(pageP, '#login-seal'), /unsealed/);
    await shot(pageP, 'sign-in');
    await narrow(pageP, 'sign-in');
    await pageP.fill('#login-token', 'rdr.not-a-real-token-000000000');
    await pageP.click('#login-form button[type=submit]');
    const err = await alertText(pageP, 'error');
    assert.match(err, /auth\/token\/lookup-self failed \(HTTP 403/);
    assert.match(err, /permission denied/);
    await shot(pageP, 'sign-in-wrong-token');
    await pageP.fill('#login-token', pk.rootToken);
    await pageP.click('#login-form button[type=submit]');
    await visible(pageP, '#view-overview');
    await waitFact(pageP, 'mode', 'disabled');
    await visible(pageP, '#ov-disabled');
    await shot(pageP, 'overview-dr-disabled');
    await narrow(pageP, 'overview-dr-disabled');
  });

  await step('Step 1: enable the DR primary (confirmation, warning shown)', async () => {
    await tab(pageP, 'enable-primary');
    await shot(pageP, 'enable-primary');
    await pageP.click('#enable-primary-form button[type=submit]');
    await confirmDialog(pageP, /Enable DR primary\?/, 'enable-primary-confirm');
    await waitFact(pageP, 'mode', 'primary');
    await waitFact(pageP, 'state', 'running');
    assert.match(await alertText(pageP, 'warning'), /enabled as a primary for replication/);
    assert.match(await text(pageP, '[data-testid="fact-cluster-id"]'), /^[0-9a-f-]{36}$/);
    assert.equal(await text(pageP, '[data-testid="fact-epoch"]'), '1');
    await shot(pageP, 'overview-primary');
  });

  await step('Step 1: Secondaries tab: add "secondary", generate its token, copy it; TTL and expiry shown', async () => {
    await tab(pageP, 'secondaries');
    await pageP.fill('#as-id', 'secondary');
    await pageP.fill('#as-ttl', '30m');
    await pageP.click('#add-secondary-form button[type=submit]');
    await visible(pageP, '#as-result');
    activation = await pageP.inputValue('#as-token');
    assert.match(activation, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, 'a compact JWS');
    assert.equal(await text(pageP, '#as-ttl-out'), '30m (1800 s)');
    assert.match(await text(pageP, '#as-expires'), /\(in (29m\d+s|30m)\)/);
    assert.match(await text(pageP, '#as-accessor'), /^[0-9a-f-]{36}$/);
    await pageP.click('#as-copy');
    await visible(pageP, '#as-copied');
    assert.equal(await pageP.evaluate(() => navigator.clipboard.readText()), activation, 'clipboard holds the token');
    assert.match(await text(pageP, '#sec-table tr[data-secondary="secondary"]'), /token issued, not used yet/);
    await shot(pageP, 'secondaries-token');
    await narrow(pageP, 'secondaries-token');
  });

  await step('Secondaries tab: revoke a spare secondary (cancel first, then confirm)', async () => {
    await pageP.fill('#as-id', 'spare');
    await pageP.fill('#as-ttl', '10m');
    await pageP.click('#add-secondary-form button[type=submit]');
    await pageP.waitForSelector('#sec-table tr[data-secondary="spare"]');
    await pageP.click('button[data-revoke="spare"]');
    await visible(pageP, '#confirm[open]');
    assert.match(await text(pageP, '#confirm'), /Revoke secondary "spare"\?/);
    await pageP.click('#confirm-cancel');
    assert.ok(await pageP.isVisible('#sec-table tr[data-secondary="spare"]'), 'cancel keeps the secondary');
    await pageP.click('button[data-revoke="spare"]');
    await confirmDialog(pageP, /needs a new activation token/, 'revoke-confirm');
    assert.match(await alertText(pageP, 'ok'), /Secondary "spare" revoked/);
    await pageP.waitForSelector('#sec-table tr[data-secondary="spare"]', { state: 'detached' });
  });

  await step('Step 2: on the secondary site, enable DR secondary with the token (wipe warning + confirmation)', async () => {
    await login(pageS, S.addr, sk.rootToken);
    await waitFact(pageS, 'mode', 'disabled');
    await tab(pageS, 'enable-secondary');
    assert.match(await text(pageS, '[data-testid="wipe-warning"]'), /This will immediately clear all data/);
    await pageS.fill('#es-token', activation);
    await shot(pageS, 'enable-secondary');
    await narrow(pageS, 'enable-secondary');
    await pageS.click('#enable-secondary-form button[type=submit]');
    await confirmDialog(pageS, /This will immediately clear all data/, 'enable-secondary-confirm');
    await waitFact(pageS, 'mode', 'secondary', 60000);
    await waitFact(pageS, 'state', 'stream-wals', 60000);
    await waitFact(pageS, 'connection', 'connected');
    await waitFact(pageS, 'secondary-id', 'secondary');
    const notes = (await text(pageS, '#alerts')).replace(/\s+/g, ' ');
    assert.match(notes, /This cluster is now a DR secondary/);
    assert.match(notes, /This node is sealed now/);
    assert.equal(await text(pageS, '[data-testid="pill-seal"]'), 'sealed');
    // Sealed is a DR secondary's normal state (sys/health 472): shown as such, not as a fault.
    assert.match(await pageS.getAttribute('[data-testid="pill-seal"]', 'class'), /pill-ok/);
    assert.match(await text(pageS, '[data-testid="fact-seal"]'), /normal for a DR secondary/);
    assert.equal(await pageS.getAttribute('[data-testid="fact-seal"]', 'class'), 'good');
    assert.equal((await fetch(S.addr + '/v1/sys/health')).status, 472);
    await shot(pageS, 'overview-secondary');
    await narrow(pageS, 'overview-secondary');
  });

  await step('the primary\'s overview: the secondary connected, lag and heartbeat, the live lag chart', async () => {
    for (let i = 0; i < 20; i++) {
      await api(P.addr, 'POST', `secret/demo/k${i}`, { value: `v${i}` }, pk.rootToken);
    }
    await tab(pageP, 'overview');
    await pageP.waitForSelector('#ov-secondaries-table tr[data-secondary="secondary"] td.status-connected',
      { timeout: 20000 });
    const row = (await pageP.innerText('#ov-secondaries-table tr[data-secondary="secondary"]')).replace(/\s+/g, ' ');
    assert.match(row, /^secondary connected streaming \d+ \d+ \d+ (\d+ s ago|just now)$/);
    await pageP.waitForFunction(() => /secondary: \d+/.test(document.getElementById('lag-legend').textContent));
    // The chart drew a line: some pixels carry the first series' colour (#1f5fbf).
    const coloured = await pageP.evaluate(() => {
      const c = document.getElementById('lag-chart');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] === 0x1f && d[i + 1] === 0x5f && d[i + 2] === 0xbf) n++;
      return n;
    });
    assert.ok(coloured > 0, 'the lag chart has no line');
    assert.match(await text(pageP, '[data-testid="fact-secondaries"]'), /1 connected of 1/);
    await shot(pageP, 'overview-primary-streaming');
    await narrow(pageP, 'overview-primary-streaming');
  });

  await step('Step 3: generate an OTP; a malformed key and a wrong key (the secondary\'s own) show the error and reset', async () => {
    await tab(pageS, 'operation-token');
    await visible(pageS, '#ot-generate');
    await pageS.click('#ot-generate');
    await visible(pageS, '#ot-attempt');
    assert.match(await text(pageS, '#ot-otp'), /^[0-9A-Za-z]{28}$/);
    assert.equal(await progressText(pageS), '0 of 3 unseal keys entered');
    await shot(pageS, 'operation-token-otp');
    await submitKey(pageS, 'not a key!');
    assert.match(await alertText(pageS, 'error'), /valid hex or base64/);
    assert.equal(await progressText(pageS), '0 of 3 unseal keys entered');
    await submitKey(pageS, pk.keys[0]);
    assert.equal(await progressText(pageS), '1 of 3 unseal keys entered');
    assert.equal(await pageS.getAttribute('#ot-progress', 'aria-valuenow'), '33');
    await submitKey(pageS, pk.keys[1]);
    assert.equal(await progressText(pageS), '2 of 3 unseal keys entered');
    await submitKey(pageS, sk.keys[0]);  // this secondary's own key: the classic mistake
    const err = await alertText(pageS, 'error');
    assert.match(err, /aborted/);
    assert.match(err, /PRIMARY cluster's unseal keys/);
    assert.match(err, /Progress was reset to 0 of 3/);
    assert.equal(await progressText(pageS), '0 of 3 unseal keys entered');
    assert.equal(await pageS.getAttribute('#ot-progress', 'aria-valuenow'), '0');
    await shot(pageS, 'operation-token-wrong-key');
    await narrow(pageS, 'operation-token-wrong-key');
  });

  await step('Step 3: three of the primary\'s unseal keys, one at a time -> operation token; the CLI command decodes it', async () => {
    const otp = await text(pageS, '#ot-otp');
    for (let i = 0; i < 3; i++) {
      await submitKey(pageS, pk.keys[i]);
      if (i < 2) assert.equal(await progressText(pageS), `${i + 1} of 3 unseal keys entered`);
    }
    await visible(pageS, '#ot-done');
    const cli = await pageS.inputValue('#ot-cli');
    const m = /^rocksdr operator generate-root -dr-token -decode=(\S+) -otp=(\S+)$/.exec(cli);
    assert.ok(m, `CLI command: ${cli}`);
    assert.equal(m[2], otp);
    decoded = await pageS.inputValue('#ot-decoded');
    assert.match(decoded, /^rdr\.[0-9A-Za-z]{24}$/);
    const fromCli = runCli(h.opts, ['operator', 'generate-root', '-dr-token', `-decode=${m[1]}`, `-otp=${m[2]}`]);
    assert.equal(fromCli, decoded, 'the CLI decodes the shown command to the token the page decoded');
    await pageS.click('#ot-cli-copy');
    assert.equal(await pageS.evaluate(() => navigator.clipboard.readText()), cli);
    await shot(pageS, 'operation-token-done');
    await narrow(pageS, 'operation-token-done');
  });

  await step('promote is refused while the primary is still connected (the API\'s reason is shown)', async () => {
    await tab(pageS, 'promote');
    assert.equal(await pageS.inputValue('#pr-token'), decoded, 'the decoded token is filled in');
    await shot(pageS, 'promote');
    await pageS.click('#promote-form button[type=submit]');
    await confirmDialog(pageS, /Promote this secondary to DR primary\?/, 'promote-confirm');
    const err = await alertText(pageS, 'error');
    assert.match(err, /secondary\/promote failed \(HTTP 400/);
    assert.match(err, /still connected to its primary/);
    await shot(pageS, 'promote-refused');
    await narrow(pageS, 'promote-refused');
  });

  await step('bootstrap the secondary again on request (operation token; back to stream-wals)', async () => {
    await tab(pageS, 'update-primary');
    assert.equal(await pageS.inputValue('#rb-optoken'), decoded, 'the decoded token is filled in');
    const bootstraps = async () => (await api(S.addr, 'GET', 'sys/replication/dr/status')).data.bootstrap.bootstraps;
    const before = await bootstraps();
    await pageS.click('#rebootstrap-form button[type=submit]');
    await confirmDialog(pageS, /Bootstrap this secondary again\?/, 'rebootstrap-confirm');
    assert.match(await alertText(pageS, 'warning'), /Bootstrap requested.*bootstrapped again from its primary/);
    await waitFor('a new bootstrap of the secondary', async () => (await bootstraps()) === before + 1, 60000, 300);
    await waitFact(pageS, 'state', 'stream-wals', 60000);
    await waitFact(pageS, 'connection', 'connected', 30000);
  });

  await step('demote the primary (confirmation)', async () => {
    await tab(pageP, 'demote');
    await shot(pageP, 'demote');
    await pageP.click('#demote-btn');
    await confirmDialog(pageP, /Demote this primary\?/, 'demote-confirm');
    await waitFact(pageP, 'mode', 'secondary');
    assert.match(await alertText(pageP, 'warning'), /demoted/i);
    await shot(pageP, 'overview-demoted');
  });

  await step('Step 3: promote the secondary once it has lost its primary', async () => {
    await tab(pageS, 'overview');
    await waitFact(pageS, 'connection', /^(?!connected$)/, 30000);
    await tab(pageS, 'promote');
    await pageS.click('#promote-form button[type=submit]');
    await confirmDialog(pageS, /Promote/);
    await waitFact(pageS, 'mode', 'primary', 30000);
    await waitFact(pageS, 'epoch', '2');
    assert.match(await alertText(pageS, 'warning'), /Promoted to DR primary \(epoch 2, \d+ ms\)/);
    await waitFact(pageS, 'state', 'running');
    await shot(pageS, 'overview-promoted');
    await narrow(pageS, 'overview-promoted');
    // The promoted site serves the primary's data with the primary's root token.
    await waitFor('the promoted site to serve secret/', async () =>
      (await api(S.addr, 'GET', 'secret/demo/k19', null, pk.rootToken)).data.value === 'v19', 30000, 300);
  });

  await step('update-primary: the old primary follows the promoted one (operation token + new activation token)', async () => {
    // On the new primary (signed in again with the primary's root token: its tokens replicated).
    await pageS.click('#signout');
    await visible(pageS, '#view-login');
    await pageS.fill('#login-token', pk.rootToken);
    await pageS.click('#login-form button[type=submit]');
    await visible(pageS, '#view-overview');
    await tab(pageS, 'secondaries');
    await pageS.fill('#as-id', 'old-primary');
    await pageS.click('#add-secondary-form button[type=submit]');
    await visible(pageS, '#as-result');
    const token2 = await pageS.inputValue('#as-token');
    // On the old primary: an operation token from its (the primary's) unseal keys.
    await tab(pageP, 'operation-token');
    await pageP.click('#ot-generate');
    await visible(pageP, '#ot-attempt');
    for (const k of pk.keys.slice(2, 5)) await submitKey(pageP, k);
    await visible(pageP, '#ot-done');
    await tab(pageP, 'update-primary');
    assert.match(await pageP.inputValue('#up-optoken'), /^rdr\./);
    await pageP.fill('#up-token', token2);
    await shot(pageP, 'update-primary');
    await narrow(pageP, 'update-primary');
    await pageP.click('#update-primary-form button[type=submit]');
    await confirmDialog(pageP, /follows the primary that issued the activation token/);
    assert.match(await alertText(pageP, 'warning'), /now follows the new primary/);
    await waitFact(pageP, 'primary-api', S.addr, 30000);
    await waitFact(pageP, 'state', /stream-wals|bootstrapping/, 60000);
    await shot(pageP, 'overview-old-primary-follows');
  });
});
