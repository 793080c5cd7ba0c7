// The web UI at a narrow width (360 px) against `rocksdr server -dev`, for the states a real run
// passes through too quickly to look at: the status answer is replaced in the browser (page.route)
// by a bootstrapping secondary with synchronous-replication fields, then by a primary with two
// secondaries; the page must show the bootstrap progress bar, ack_mode / sync_degraded, the
// secondaries as stacked rows, and never scroll sideways. Then, unmocked: a real API error shown
// as the API's `errors`, and a request that never gets an answer ends with a timeout message
// (fake clock) instead of spinning.
//
// Usage: node tests/ui/status_rendering_test.js --build-dir BUILD [--artifacts DIR]
'use strict';

const assert = require('node:assert/strict');
const { run, loadPlaywright } = require('./support');

const MiB = 1048576;

function envelope(data) {
  return { request_id: 'test', lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null,
    warnings: null, auth: null, ...data };
}

run('status_rendering_test', 120000, async (h, step) => {
  const playwright = loadPlaywright();
  let dev, page;
  const visible = (sel) => page.waitForSelector(sel, { state: 'visible' });
  const text = async (sel) => ((await page.textContent(sel)) || '').replace(/\s+/g, ' ').trim();
  const noSideways = async (name) => {
    const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(sw <= cw, `${name}: the page is ${sw} px wide in a ${cw} px viewport (scrolls sideways)`);
    await h.shot(page, name);
  };
  const mockStatus = async (data) => {
    await page.unroute('**/v1/sys/replication/dr/status').catch(() => {});
    await page.route('**/v1/sys/replication/dr/status', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(envelope(data)) }));
  };
  const waitFact = (key, want) => page.waitForFunction(([k, w]) => {
    const e = document.querySelector(`[data-testid="fact-${k}"]`);
    return e && e.textContent.trim() === w;
  }, [key, want], { polling: 200 });

  await step('start a dev sidecar and a 360 px wide browser; sign in', async () => {
    dev = await h.startDevSidecar();
    await h.launchBrowser(playwright);
    page = await h.newPage('narrow');
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${dev.addr}/ui/`);
    await visible('#view-login');
    await page.fill('#login-token', dev.rootToken);
    await page.click('#login-form button[type=submit]');
    await visible('#view-overview');
    await waitFact('mode', 'disabled');
    await noSideways('disabled');
  });

  await step('a bootstrapping secondary: progress bar, lag, ack_mode and sync_degraded', async () => {
    await mockStatus({
      mode: 'secondary', cluster_id: '7e74e7da-babf-4aa8-b638-3b5b51975ebe', epoch: 3, state: 'bootstrapping',
      connection_state: 'connected', last_remote_wal: 1234, secondary_id: 'dc2-replica-with-a-long-name',
      primaries: [{ api_address: 'https://primary.dc1.example.internal:8200', cluster_address: '10.0.0.5:8201',
        connection_status: 'connected', last_heartbeat: new Date().toISOString() }],
      lag: { lag_sequences: 17 }, ack_mode: 'sync', sync_degraded: true,
      bootstrap: { in_progress: true, active: true, bytes_done: 40 * MiB, bytes_total: 100 * MiB, files_done: 3,
        files_total: 7, reason: 'first start' },
      sync_progress: 40 * MiB, sync_total_keys: 100 * MiB,
    });
    await waitFact('state', 'bootstrapping');
    await visible('#ov-bootstrap');
    assert.equal(await page.getAttribute('#ov-bootstrap-bar', 'aria-valuenow'), '40');
    assert.match(await text('#ov-bootstrap-text'), /Receiving a checkpoint: 40\.0 of 100\.0 MiB, 3 of 7 files \(reason: first start\)/);
    await waitFact('ack-mode', 'sync');
    await waitFact('sync-degraded', 'yes');
    assert.equal(await page.getAttribute('[data-testid="fact-sync-degraded"]', 'class'), 'bad');
    await waitFact('lag', '17');
    assert.match(await text('[data-testid="pill-mode"]'), /DR secondary · bootstrapping/);
    // Only the secondary's screens are offered.
    assert.ok(await page.isVisible('#tabs a[data-view="operation-token"]'));
    assert.ok(!(await page.isVisible('#tabs a[data-view="secondaries"]')));
    await noSideways('bootstrapping-secondary');
  });

  await step('a primary with two secondaries: stacked rows with labels, lag chart legend', async () => {
    const hb = new Date(Date.now() - 1000).toISOString();
    await mockStatus({
      mode: 'primary', cluster_id: '7e74e7da-babf-4aa8-b638-3b5b51975ebe', epoch: 1, state: 'running', last_wal: 99881,
      last_dr_wal: 99881, primary_cluster_addr: '10.0.0.5:8201', known_secondaries: ['dc2', 'dc3'],
      ack_mode: 'async', sync_degraded: false,
      secondaries: [
        { node_id: 'dc2', connection_status: 'connected', state: 'streaming', lag_sequences: 12, lag_ms: 40,
          acked_sequence: 99869, last_heartbeat: hb },
        { node_id: 'dc3', connection_status: 'disconnected', state: 'disconnected', lag_sequences: 5000, lag_ms: 90000,
          acked_sequence: 94881, last_heartbeat: hb },
      ],
    });
    await waitFact('mode', 'primary');
    await page.waitForSelector('#ov-secondaries-table tr[data-secondary="dc3"]');
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('#ov-secondaries-table thead')).display), 'none');
    assert.match(await text('#ov-secondaries-table tr[data-secondary="dc3"] td.status-disconnected'), /disconnected/);
    await page.waitForFunction(() => /dc3: 5000/.test(document.getElementById('lag-legend').textContent));
    await waitFact('sync-degraded', 'no');
    await noSideways('primary-two-secondaries');
  });

  await step('a real API error is shown as the API\'s errors (operation token on a non-secondary)', async () => {
    await page.unroute('**/v1/sys/replication/dr/status');
    await page.goto(`${dev.addr}/ui/#/operation-token`);
    await visible('#view-operation-token');
    const err = (await page.locator('[data-testid="alert-error"]').last().textContent()).replace(/\s+/g, ' ');
    assert.match(err, /GET \/v1\/sys\/replication\/dr\/secondary\/generate-operation-token\/attempt failed \(HTTP 400 bad request\)/);
    assert.match(err, /this cluster is not a DR secondary \(mode: disabled\)/);
    await noSideways('api-error');
  });

  await step('a request that never gets an answer ends with a timeout message, not a spinner', async () => {
    await page.clock.install();
    await page.goto(`${dev.addr}/ui/?fake-clock=1#/enable-primary`);  // a full load, under the fake clock
    await visible('#view-enable-primary');
    await page.route('**/v1/sys/replication/dr/primary/enable', () => { /* never answered */ });
    await page.click('#enable-primary-form button[type=submit]');
    await visible('#confirm[open]');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => document.querySelector('#enable-primary-form button[type=submit]').disabled);
    await page.clock.runFor(16000);
    await page.waitForFunction(() => !document.querySelector('#enable-primary-form button[type=submit]').disabled);
    const err = (await page.locator('[data-testid="alert-error"]').last().textContent()).replace(/\s+/g, ' ');
    assert.match(err, /POST \/v1\/sys\/replication\/dr\/primary\/enable: no answer/);
    assert.match(err, /did not answer within 15 s/);
    await noSideways('timeout');
  });
});
