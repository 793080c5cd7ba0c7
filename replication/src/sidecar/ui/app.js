// rocksdr web UI: screens, routing (#/<screen>), the status poller and the actions. Talks only to
// this sidecar's API through Api (api.js); draws the lag chart with LagChart (lag_chart.js).
//
// State kept in the browser: the sign-in token and the ids of activation tokens issued from this
// tab (sessionStorage: gone when the tab closes); the OTP of an operation-token attempt and the
// decoded operation token (memory only: gone on reload).
'use strict';

(() => {
  const POLL_MS = 2000;
  const POLL_TIMEOUT_MS = 5000;
  const LONG_TIMEOUT_MS = 60000;  // enable-secondary / update-primary call the primary, then bootstrap
  const TOKEN_KEY = 'rocksdr.token';
  const ISSUED_KEY = 'rocksdr.issued';
  const MAX_ISSUED = 50;
  const DR = 'sys/replication/dr/';
  const GEN = DR + 'secondary/generate-operation-token/';

  const $ = (id) => document.getElementById(id);
  const el = (tag, props = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    e.append(...children.filter((c) => c !== null && c !== undefined));
    return e;
  };

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    status: null,        // data of sys/replication/dr/status
    seal: null,          // sys/seal-status
    pollError: null,
    pollTimer: null,
    pollPromise: null,
    pollQueued: null,
    issued: loadIssued(),  // id -> {expires: ms, accessor}
    attempt: { otp: '', nonce: '', progress: 0, required: 0, started: false },
    view: '',
  };
  const chart = new LagChart($('lag-chart'), $('lag-legend'));

  // ---------------------------------------------------------------- alerts

  function clearAlerts() { $('alerts').replaceChildren(); }

  function addAlert(kind, title, lines) {
    const close = el('button', { class: 'alert-close', type: 'button', 'aria-label': 'Dismiss', text: '×' });
    const box = el('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status',
      dataset: { testid: `alert-${kind}` } }, close, el('p', { class: 'alert-title', text: title }));
    if (lines && lines.length) box.append(el('ul', {}, ...lines.map((l) => el('li', { text: l }))));
    close.addEventListener('click', () => box.remove());
    $('alerts').append(box);
    box.scrollIntoView({ block: 'nearest' });
    return box;
  }

  function showError(err) {
    if (err instanceof Api.ApiError) return addAlert('error', err.title(), err.errors);
    return addAlert('error', 'Something went wrong in the page', [String(err && err.message ? err.message : err)]);
  }

  function showResult(json, okTitle) {
    const warnings = json && Array.isArray(json.warnings) ? json.warnings : [];
    if (warnings.length) addAlert('warning', `${okTitle}. The sidecar returned these warnings:`, warnings);
    else addAlert('ok', okTitle, []);
  }

  // ---------------------------------------------------------------- helpers

  // Runs fn with the button disabled and a spinner; always restores it (every call has a timeout).
  async function busy(button, fn) {
    if (button.disabled) return undefined;
    const saved = Array.from(button.childNodes);
    button.disabled = true;
    button.replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Working…');
    try {
      return await fn();
    } finally {
      button.replaceChildren(...saved);
      button.disabled = false;
    }
  }

  function confirmAction(title, text, okLabel) {
    const dialog = $('confirm');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.returnValue = 'cancel';
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  async function copyText(text, note) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      const ta = el('textarea', {});
      ta.value = text;
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand('copy');
      ta.remove();
      if (!ok) {
        addAlert('error', 'Copy failed', ['the browser refused clipboard access; select the text and copy it by hand']);
        return;
      }
    }
    note.hidden = false;
    setTimeout(() => { note.hidden = true; }, 2500);
  }

  function parseTime(text) {
    if (!text || typeof text !== 'string') return NaN;
    // Keep milliseconds only: RFC 3339 with nanoseconds is not parsed everywhere.
    return Date.parse(text.replace(/(\.\d{3})\d+/, '$1'));
  }

  function ago(text) {
    const t = parseTime(text);
    if (isNaN(t)) return '—';
    const s = Math.round((Date.now() - t) / 1000);
    if (s < 0) return 'just now';
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    return new Date(t).toLocaleString();
  }

  function inWords(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? `${h}h` : '') + (m ? `${m}m` : '') + (s || (!h && !m) ? `${s}s` : '');
  }

  function expiresText(expiresMs) {
    const left = (expiresMs - Date.now()) / 1000;
    const at = new Date(expiresMs).toLocaleString();
    return left > 0 ? `${at} (in ${inWords(left)})` : `${at} (expired)`;
  }

  function loadIssued() {
    try {
      const v = JSON.parse(sessionStorage.getItem(ISSUED_KEY) || '{}');
      return v && typeof v === 'object' ? v : {};
    } catch (e) { return {}; }
  }

  function saveIssued() {
    const ids = Object.keys(state.issued);
    for (const id of ids.slice(0, Math.max(0, ids.length - MAX_ISSUED))) delete state.issued[id];
    sessionStorage.setItem(ISSUED_KEY, JSON.stringify(state.issued));
  }

  function formValue(id) { return $(id).value.trim(); }

  function setProgress(bar, done, total) {
    const pct = total > 0 ? Math.min(100, Math.max(0, (100 * done) / total)) : 0;
    bar.querySelector('.progress-fill').style.width = `${pct}%`;
    bar.setAttribute('aria-valuenow', String(Math.round(pct)));
    bar.dataset.progress = `${done}/${total}`;
  }

  function mode() { return state.status ? state.status.mode : ''; }

  // ---------------------------------------------------------------- routing

  const VIEWS = ['login', 'overview', 'enable-primary', 'enable-secondary', 'secondaries', 'demote',
    'operation-token', 'promote', 'update-primary'];

  function route() {
    let name = location.hash.replace(/^#\/?/, '') || 'overview';
    if (!VIEWS.includes(name)) name = 'overview';
    if (!state.token) name = 'login';
    else if (name === 'login') name = 'overview';
    const changed = name !== state.view;
    state.view = name;
    for (const v of VIEWS) $(`view-${v}`).hidden = v !== name;
    for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.view === name);
    $('tabs').hidden = !state.token;
    $('signout').hidden = !state.token;
    if (changed) {
      clearAlerts();
      if (name === 'operation-token') loadAttempt();
      if (name === 'login') refreshLoginSeal();
      window.scrollTo(0, 0);
    }
    render();
  }

  // ---------------------------------------------------------------- polling

  function navigate(name) {
    location.hash = `#/${name}`;
    route();  // now, so that alerts added next survive the (later) hashchange event
  }

  // One poll at a time; a call during a poll waits for it and then polls again (so an action's
  // effect is shown), and concurrent calls share that one extra poll.
  function poll() {
    if (state.pollPromise) {
      if (!state.pollQueued) {
        state.pollQueued = state.pollPromise.then(() => { state.pollQueued = null; return poll(); });
      }
      return state.pollQueued;
    }
    state.pollPromise = pollOnce().finally(() => { state.pollPromise = null; });
    return state.pollPromise;
  }

  async function pollOnce() {
    clearTimeout(state.pollTimer);
    try {
      const [st, seal] = await Promise.allSettled([
        Api.get(DR + 'status', { timeoutMs: POLL_TIMEOUT_MS }),
        Api.get('sys/seal-status', { timeoutMs: POLL_TIMEOUT_MS }),
      ]);
      if (st.status === 'fulfilled') {
        const prevMode = mode();
        state.status = st.value.json && st.value.json.data ? st.value.json.data : null;
        state.pollError = null;
        if (prevMode && prevMode !== mode()) chart.reset();
        sampleLag();
      } else {
        state.pollError = st.reason;
      }
      if (seal.status === 'fulfilled') state.seal = seal.value.json;
    } finally {
      state.pollTimer = setTimeout(poll, POLL_MS);
    }
    render();
  }

  function sampleLag() {
    const d = state.status;
    if (!d) return;
    const values = {};
    if (d.mode === 'primary' && Array.isArray(d.secondaries)) {
      for (const s of d.secondaries) {
        if (s && typeof s.node_id === 'string' && typeof s.lag_sequences === 'number') values[s.node_id] = s.lag_sequences;
      }
    } else if (d.mode === 'secondary' && d.lag && typeof d.lag.lag_sequences === 'number') {
      values['behind primary'] = d.lag.lag_sequences;
    }
    chart.push(Date.now(), values);
  }

  // ---------------------------------------------------------------- rendering

  function render() {
    renderTopbar();
    if (state.view === 'overview') renderOverview();
    if (state.view === 'secondaries') renderSecondariesTab();
  }

  function renderTopbar() {
    const d = state.status;
    const pm = $('pill-mode');
    if (d) {
      pm.textContent = d.mode === 'disabled' ? 'DR disabled' : `DR ${d.mode} · ${d.state || ''}`;
      pm.className = 'pill ' + (d.mode === 'disabled' ? '' : (['running', 'stream-wals'].includes(d.state) ? 'pill-ok' : 'pill-warn'));
    } else {
      pm.textContent = 'status unknown';
      pm.className = 'pill';
    }
    const ps = $('pill-seal');
    if (state.seal) {
      ps.hidden = false;
      ps.textContent = !state.seal.initialized ? 'not initialized' : (state.seal.sealed ? 'sealed' : 'unsealed');
      // A DR secondary's sidecar stays sealed by design (sys/health answers 472, not 503): not a warning.
      const drSecondary = state.status && state.status.mode === 'secondary';
      ps.className = 'pill ' + ((state.seal.sealed && !drSecondary) || !state.seal.initialized ? 'pill-warn' : 'pill-ok');
    }
    const pc = $('pill-conn');
    pc.hidden = !state.pollError;
    if (state.pollError) pc.textContent = 'sidecar unreachable';
    pc.title = state.pollError ? state.pollError.errors.join('; ') : '';
    for (const a of document.querySelectorAll('#tabs a[data-modes]')) {
      a.hidden = !d || !a.dataset.modes.split(',').includes(d.mode);
    }
  }

  function fact(label, value, key, cls) {
    const dd = el('dd', { dataset: { testid: `fact-${key}` } });
    dd.textContent = value === undefined || value === null || value === '' ? '—' : String(value);
    if (cls) dd.className = cls;
    return el('div', {}, el('dt', { text: label }), dd);
  }

  function renderOverview() {
    const d = state.status;
    const facts = $('ov-facts');
    facts.replaceChildren();
    $('ov-disabled').hidden = !d || d.mode !== 'disabled';
    if (!d) {
      facts.append(fact('Status', state.pollError ? state.pollError.errors.join('; ') : 'loading…', 'status', 'bad'));
    } else {
      facts.append(fact('Mode', d.mode, 'mode'));
      if (d.mode !== 'disabled') {
        const healthy = ['running', 'stream-wals'].includes(d.state);
        facts.append(fact('State', d.state, 'state', healthy ? 'good' : 'bad'));
        facts.append(fact('Cluster ID', d.cluster_id, 'cluster-id'));
        facts.append(fact('Epoch', d.epoch, 'epoch'));
      }
      if (d.mode === 'primary') {
        facts.append(fact('Last WAL', d.last_wal, 'last-wal'));
        facts.append(fact('Primary cluster address', d.primary_cluster_addr, 'cluster-addr'));
        const secs = Array.isArray(d.secondaries) ? d.secondaries : [];
        const connected = secs.filter((s) => s.connection_status === 'connected').length;
        facts.append(fact('Secondaries', `${connected} connected of ${secs.length}`, 'secondaries'));
      } else if (d.mode === 'secondary') {
        const p = Array.isArray(d.primaries) && d.primaries.length ? d.primaries[0] : {};
        facts.append(fact('Last remote WAL', d.last_remote_wal, 'last-wal'));
        facts.append(fact('Connection', d.connection_state, 'connection',
          d.connection_state === 'connected' ? 'good' : 'bad'));
        facts.append(fact('Lag (WAL seq)', d.lag ? d.lag.lag_sequences : undefined, 'lag'));
        facts.append(fact('Secondary id', d.secondary_id, 'secondary-id'));
        facts.append(fact('Primary API', p.api_address, 'primary-api'));
        facts.append(fact('Last heartbeat', p.last_heartbeat ? ago(p.last_heartbeat) : undefined, 'heartbeat'));
      }
      if ('ack_mode' in d) facts.append(fact('Ack mode', d.ack_mode, 'ack-mode'));
      if ('sync_degraded' in d) {
        facts.append(fact('Sync degraded', d.sync_degraded ? 'yes' : 'no', 'sync-degraded', d.sync_degraded ? 'bad' : 'good'));
      }
      if (state.seal) {
        if (state.seal.sealed && d.mode === 'secondary') {
          facts.append(fact('Seal', 'sealed (normal for a DR secondary; promotion needs no unseal)', 'seal', 'good'));
        } else {
          facts.append(fact('Seal', state.seal.sealed ? 'sealed' : 'unsealed', 'seal', state.seal.sealed ? 'bad' : 'good'));
        }
      }
    }

    // Bootstrap progress.
    const b = d && d.bootstrap && typeof d.bootstrap === 'object' ? d.bootstrap : null;
    const booting = !!(b && (b.in_progress || b.active));
    $('ov-bootstrap').hidden = !booting;
    if (booting) {
      const total = Number(b.bytes_total) || 0, done = Number(b.bytes_done) || 0;
      setProgress($('ov-bootstrap-bar'), done, total);
      const mb = (n) => (n / 1048576).toFixed(1);
      $('ov-bootstrap-text').textContent = `${d.mode === 'primary' ? 'Sending' : 'Receiving'} a checkpoint: ` +
        `${mb(done)} of ${mb(total)} MiB, ${b.files_done || 0} of ${b.files_total || 0} files` +
        (b.reason ? ` (reason: ${b.reason})` : '');
    }

    // Secondaries (primary).
    const showSecs = !!d && d.mode === 'primary';
    $('ov-secondaries').hidden = !showSecs;
    if (showSecs) {
      const secs = Array.isArray(d.secondaries) ? d.secondaries : [];
      const body = $('ov-secondaries-table').tBodies[0];
      body.replaceChildren(...secs.map((s) => el('tr', { dataset: { secondary: s.node_id } },
        el('td', { 'data-label': 'Secondary', text: s.node_id }),
        el('td', { 'data-label': 'Connection', class: `status-${s.connection_status}`, text: s.connection_status }),
        el('td', { 'data-label': 'State', text: s.state || '—' }),
        el('td', { 'data-label': 'Lag (WAL seq)', text: s.lag_sequences ?? '—' }),
        el('td', { 'data-label': 'Lag (ms)', text: s.lag_ms ?? '—' }),
        el('td', { 'data-label': 'Acked seq', text: s.acked_sequence ?? '—' }),
        el('td', { 'data-label': 'Last heartbeat', title: s.last_heartbeat || '', text: ago(s.last_heartbeat) }))));
      $('ov-secondaries-empty').hidden = secs.length > 0;
    }
    chart.unit = 'WAL sequences';
    chart.draw();
  }

  // Rows are updated in place (keyed by id), so a Revoke button is never replaced under the
  // pointer by the next poll.
  function renderSecondariesTab() {
    const d = state.status;
    const known = new Map();
    if (d && d.mode === 'primary' && Array.isArray(d.secondaries)) for (const s of d.secondaries) known.set(s.node_id, s);
    const ids = Array.from(new Set([...known.keys(), ...Object.keys(state.issued)])).sort();
    const body = $('sec-table').tBodies[0];
    const rows = new Map(Array.from(body.rows).map((tr) => [tr.dataset.secondary, tr]));
    for (const [id, tr] of rows) if (!ids.includes(id)) tr.remove();
    ids.forEach((id, i) => {
      let tr = rows.get(id);
      if (!tr) {
        const revoke = el('button', { class: 'btn btn-small btn-danger', type: 'button', text: 'Revoke',
          dataset: { revoke: id } });
        revoke.addEventListener('click', () => revokeSecondary(id, revoke));
        tr = el('tr', { dataset: { secondary: id } },
          el('td', { 'data-label': 'Secondary', text: id }), el('td', { 'data-label': 'Status' }),
          el('td', { 'data-label': 'Lag (WAL seq)' }), el('td', { 'data-label': 'Last heartbeat' }),
          el('td', { 'data-label': 'Token expires' }), el('td', { 'data-label': '' }, revoke));
      }
      if (body.rows[i] !== tr) body.insertBefore(tr, body.rows[i] || null);
      const s = known.get(id);
      const issued = state.issued[id];
      let status, cls;
      if (s) { status = s.connection_status; cls = `status-${s.connection_status}`; }
      else if (issued && issued.expires > Date.now()) { status = 'token issued, not used yet'; cls = 'status-pending'; }
      else { status = 'token issued (expired or used)'; cls = 'status-pending'; }
      const setCell = (n, text, className) => {
        const td = tr.cells[n];
        if (td.textContent !== text) td.textContent = text;
        if (className !== undefined && td.className !== className) td.className = className;
      };
      setCell(1, status, cls);
      setCell(2, s ? String(s.lag_sequences ?? '—') : '—');
      setCell(3, s ? ago(s.last_heartbeat) : '—');
      setCell(4, issued ? new Date(issued.expires).toLocaleString() : '—');
    });
    $('sec-empty').hidden = ids.length > 0;
  }

  // ---------------------------------------------------------------- sign in

  async function refreshLoginSeal() {
    try {
      const r = await Api.get('sys/seal-status', { timeoutMs: POLL_TIMEOUT_MS });
      const s = r.json;
      $('login-seal').textContent = !s.initialized
        ? 'This sidecar is not initialized yet: run `rocksdr operator init` first.'
        : `This sidecar is ${s.sealed ? 'sealed' : 'unsealed'}` +
          (s.sealed ? ` (unseal progress ${s.progress} of ${s.t}).` : '.');
    } catch (e) {
      $('login-seal').textContent = e.errors ? e.errors.join('; ') : String(e);
    }
  }

  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('login-token').value.trim();
    if (!token) return;
    clearAlerts();
    busy(ev.submitter || $('login-form').querySelector('button'), async () => {
      try {
        await Api.get('auth/token/lookup-self', { token });
      } catch (e) {
        // A DR secondary (or a sealed node) cannot check tokens; its screens need none.
        const unverifiable = e instanceof Api.ApiError &&
          (e.status === 503 || e.errors.some((m) => /DR secondary mode/.test(m)));
        if (!unverifiable) { showError(e); return; }
        signIn(token);
        addAlert('warning', 'Signed in without checking the token', [
          `this node cannot check tokens now (${e.errors.join('; ')}).`,
          'The DR secondary screens (operation token, promote, update primary) need no token.']);
        return;
      }
      signIn(token);
    });
  });

  function signIn(token) {
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('login-token').value = '';
    location.hash = '#/overview';
    route();
  }

  $('signout').addEventListener('click', () => {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    state.attempt = { otp: '', nonce: '', progress: 0, required: 0, started: false };
    location.hash = '#/login';
    route();
  });

  // ---------------------------------------------------------------- primary

  $('enable-primary-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = $('enable-primary-form').querySelector('button[type=submit]');
    if (!(await confirmAction('Enable DR primary?', 'This cluster becomes the DR primary and starts streaming its ' +
      'write-ahead log to the secondaries you add.', 'Enable DR primary'))) return;
    clearAlerts();
    await busy(button, async () => {
      try {
        const body = {};
        const addr = formValue('ep-cluster-addr');
        if (addr) body.primary_cluster_addr = addr;
        const r = await Api.post(DR + 'primary/enable', body, { token: state.token });
        await poll();
        navigate('overview');
        showResult(r.json, 'This cluster is now the DR primary');
      } catch (e) { showError(e); }
    });
  });

  $('add-secondary-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = $('add-secondary-form').querySelector('button[type=submit]');
    const id = formValue('as-id');
    const ttl = formValue('as-ttl') || '30m';
    clearAlerts();
    await busy(button, async () => {
      try {
        const r = await Api.post(DR + 'primary/secondary-token', { id, ttl }, { token: state.token });
        const w = r.json && r.json.wrap_info;
        if (!w || !w.token) throw new Error('the answer holds no wrap_info.token');
        const created = parseTime(w.creation_time);
        const expires = (isNaN(created) ? Date.now() : created) + Number(w.ttl) * 1000;
        state.issued[id] = { expires, accessor: w.accessor };
        saveIssued();
        $('as-result').hidden = false;
        $('as-result-id').textContent = id;
        $('as-token').value = w.token;
        $('as-ttl-out').textContent = `${inWords(Number(w.ttl))} (${w.ttl} s)`;
        $('as-created').textContent = isNaN(created) ? w.creation_time : new Date(created).toLocaleString();
        $('as-expires').textContent = expiresText(expires);
        $('as-expires').dataset.expires = String(expires);
        $('as-accessor').textContent = w.accessor || '—';
        $('as-id').value = '';
        renderSecondariesTab();
      } catch (e) { showError(e); }
    });
  });

  $('as-copy').addEventListener('click', () => copyText($('as-token').value, $('as-copied')));

  async function revokeSecondary(id, button) {
    if (!(await confirmAction(`Revoke secondary "${id}"?`, 'It is disconnected at once, and an unused activation ' +
      'token for it stops working. It needs a new activation token to come back.', 'Revoke'))) return;
    clearAlerts();
    await busy(button, async () => {
      try {
        await Api.post(DR + 'primary/revoke-secondary', { id }, { token: state.token });
        delete state.issued[id];
        saveIssued();
        if ($('as-result-id').textContent === id) $('as-result').hidden = true;
        addAlert('ok', `Secondary "${id}" revoked`, []);
        await poll();
      } catch (e) { showError(e); }
    });
  }

  $('demote-btn').addEventListener('click', async () => {
    if (!(await confirmAction('Demote this primary?', 'It stops accepting writes and becomes a DR secondary with ' +
      'no primary. Its secondaries lose their primary until one of them is promoted.', 'Demote'))) return;
    clearAlerts();
    await busy($('demote-btn'), async () => {
      try {
        const r = await Api.post(DR + 'primary/demote', {}, { token: state.token });
        await poll();
        navigate('overview');
        showResult(r.json, 'This cluster was demoted to a DR secondary');
      } catch (e) { showError(e); }
    });
  });

  // ---------------------------------------------------------------- secondary

  $('enable-secondary-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = $('enable-secondary-form').querySelector('button[type=submit]');
    const token = formValue('es-token');
    if (!token) return;
    if (!(await confirmAction('Clear all data and enable DR secondary?', 'This will immediately clear all data on ' +
      'this cluster and replace it with the primary\'s. This cannot be undone.', 'Clear data and enable'))) return;
    clearAlerts();
    await busy(button, async () => {
      try {
        const body = { token };
        const addr = formValue('es-api-addr'), ca = formValue('es-ca-file');
        if (addr) body.primary_api_addr = addr;
        if (ca) body.ca_file = ca;
        const r = await Api.post(DR + 'secondary/enable', body, { token: state.token, timeoutMs: LONG_TIMEOUT_MS });
        $('es-token').value = '';
        chart.reset();
        await poll();
        navigate('overview');
        showResult(r.json, 'This cluster is now a DR secondary');
        addAlert('warning', 'This node is sealed now', ['it holds the primary\'s data, keys and tokens: ' +
          'sign-in tokens of this node no longer work here; the primary\'s do after a promotion.']);
      } catch (e) { showError(e); }
    });
  });

  // Operation token -------------------------------------------------------

  function renderAttempt() {
    const a = state.attempt;
    $('ot-start').hidden = a.started;
    $('ot-attempt').hidden = !a.started;
    $('ot-otp').textContent = a.otp || '(shown only when the attempt was started)';
    $('ot-nonce').textContent = a.nonce || '—';
    $('ot-otp-note').textContent = a.otp
      ? 'Keep the OTP: it decodes the operation token. It is shown only once.'
      : 'This attempt was started elsewhere; without its OTP the result cannot be decoded here. Cancel it and ' +
        'generate a new OTP if the OTP is lost.';
    setProgress($('ot-progress'), a.progress, a.required);
    $('ot-progress-text').textContent = `${a.progress} of ${a.required} unseal keys entered`;
    $('ot-key-label').textContent = `Unseal key ${Math.min(a.progress + 1, a.required || 1)} of ${a.required || '?'} ` +
      '(one of the PRIMARY cluster\'s unseal keys)';
  }

  function applyAttempt(j) {
    state.attempt.started = !!j.started;
    state.attempt.nonce = j.nonce || '';
    state.attempt.progress = Number(j.progress) || 0;
    state.attempt.required = Number(j.required) || 0;
    if (!j.started) state.attempt.otp = '';
  }

  async function loadAttempt() {
    try {
      const r = await Api.get(GEN + 'attempt');
      applyAttempt(r.json);
      renderAttempt();
    } catch (e) {
      showError(e);
    }
  }

  $('ot-generate').addEventListener('click', () => {
    clearAlerts();
    $('ot-done').hidden = true;
    busy($('ot-generate'), async () => {
      try {
        const r = await Api.post(GEN + 'attempt', {});
        applyAttempt(r.json);
        state.attempt.otp = r.json.otp || '';
        renderAttempt();
        $('ot-key').focus();
      } catch (e) { showError(e); }
    });
  });

  $('ot-key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('ot-key').value.trim();
    if (!key) return;
    clearAlerts();
    const before = state.attempt.progress;
    busy($('ot-key-form').querySelector('button[type=submit]'), async () => {
      try {
        const r = await Api.post(GEN + 'update', { key, nonce: state.attempt.nonce });
        $('ot-key').value = '';
        const j = r.json;
        if (j.complete && j.encoded_token) {
          showOperationToken(j.encoded_token);
          state.attempt.started = false;
          state.attempt.progress = 0;
          renderAttempt();
          return;
        }
        applyAttempt(j);
        renderAttempt();
      } catch (e) {
        $('ot-key').value = '';
        const box = showError(e);
        try {
          const r = await Api.get(GEN + 'attempt', { timeoutMs: POLL_TIMEOUT_MS });
          applyAttempt(r.json);
        } catch (e2) { /* the first error is the one to read */ }
        renderAttempt();
        if (state.attempt.started && state.attempt.progress < before) {
          box.append(el('p', { class: 'small', text: `Progress was reset to ${state.attempt.progress} of ` +
            `${state.attempt.required}: enter the primary's unseal keys again, starting with the first.` }));
        }
      }
    });
  });

  $('ot-cancel').addEventListener('click', async () => {
    if (!(await confirmAction('Cancel this attempt?', 'The keys entered so far are discarded.', 'Cancel attempt'))) return;
    clearAlerts();
    await busy($('ot-cancel'), async () => {
      try {
        await Api.del(GEN + 'attempt');
        state.attempt = { otp: '', nonce: '', progress: 0, required: 0, started: false };
        renderAttempt();
      } catch (e) { showError(e); }
    });
  });

  // encoded = base64 without padding of (otp XOR token): decode and XOR with the OTP.
  function decodeOperationToken(encoded, otp) {
    let b64 = encoded.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    const raw = atob(b64);
    if (raw.length !== otp.length) throw new Error(`the encoded token has ${raw.length} bytes but the OTP ${otp.length}`);
    let out = '';
    for (let i = 0; i < raw.length; i++) out += String.fromCharCode(raw.charCodeAt(i) ^ otp.charCodeAt(i));
    return out;
  }

  function showOperationToken(encoded) {
    const otp = state.attempt.otp;
    $('ot-done').hidden = false;
    $('ot-encoded').value = encoded;
    $('ot-cli').value = `rocksdr operator generate-root -dr-token -decode=${encoded} -otp=${otp || '<OTP>'}`;
    let decoded = '';
    if (otp) {
      try { decoded = decodeOperationToken(encoded, otp); } catch (e) { showError(e); }
    }
    $('ot-decoded').value = decoded || '(needs the OTP: use the CLI command above)';
    if (decoded) {
      $('pr-token').value = decoded;
      $('up-optoken').value = decoded;
      $('rb-optoken').value = decoded;
    }
    addAlert('ok', 'DR operation token generated', ['copy it now: it is not shown again']);
  }

  $('ot-cli-copy').addEventListener('click', () => copyText($('ot-cli').value, $('ot-cli-copied')));
  $('ot-decoded-copy').addEventListener('click', () => copyText($('ot-decoded').value, $('ot-cli-copied')));

  // Promote / update-primary ------------------------------------------------

  $('promote-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = $('promote-form').querySelector('button[type=submit]');
    const force = $('pr-force').checked;
    if (!(await confirmAction('Promote this secondary to DR primary?', 'It starts accepting writes as the primary of ' +
      'the cluster. Make sure the old primary is demoted or down' +
      (force ? '; FORCE is set: if the old primary is still up, the two clusters will diverge.' : '.'),
    'Promote'))) return;
    clearAlerts();
    await busy(button, async () => {
      try {
        const body = { dr_operation_token: formValue('pr-token') };
        const addr = formValue('pr-cluster-addr');
        if (addr) body.primary_cluster_addr = addr;
        if (force) body.force = true;
        const r = await Api.post(DR + 'secondary/promote', body, { timeoutMs: LONG_TIMEOUT_MS });
        $('pr-token').value = '';
        $('up-optoken').value = '';
        $('rb-optoken').value = '';
        chart.reset();
        await poll();
        navigate('overview');
        const d = r.json && r.json.data ? r.json.data : {};
        showResult(r.json, `Promoted to DR primary (epoch ${d.epoch ?? '?'}, ${d.promote_duration_ms ?? '?'} ms)`);
      } catch (e) { showError(e); }
    });
  });

  $('update-primary-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = $('update-primary-form').querySelector('button[type=submit]');
    const token = formValue('up-token');
    const text = token ? 'This secondary follows the primary that issued the activation token.'
      : 'The activation token is empty: this secondary forgets its primary and stops replicating.';
    if (!(await confirmAction('Update primary?', text, 'Update primary'))) return;
    clearAlerts();
    await busy(button, async () => {
      try {
        const body = { dr_operation_token: formValue('up-optoken'), token };
        const addr = formValue('up-api-addr'), ca = formValue('up-ca-file');
        if (addr) body.primary_api_addr = addr;
        if (ca) body.ca_file = ca;
        const r = await Api.post(DR + 'secondary/update-primary', body, { timeoutMs: LONG_TIMEOUT_MS });
        $('up-token').value = '';
        chart.reset();
        await poll();
        navigate('overview');
        showResult(r.json, token ? 'This secondary now follows the new primary' : 'This secondary forgot its primary');
      } catch (e) { showError(e); }
    });
  });

  $('rebootstrap-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = $('rebootstrap-form').querySelector('button[type=submit]');
    if (!(await confirmAction('Bootstrap this secondary again?', 'Its primary sends it a new copy of the data, ' +
      'which replaces what it holds once installed; until then it applies nothing new.', 'Bootstrap again'))) return;
    clearAlerts();
    await busy(button, async () => {
      try {
        const r = await Api.post(DR + 'secondary/request-bootstrap', { dr_operation_token: formValue('rb-optoken') });
        chart.reset();
        await poll();
        navigate('overview');
        showResult(r.json, 'Bootstrap requested');
      } catch (e) { showError(e); }
    });
  });

  // ---------------------------------------------------------------- start

  window.addEventListener('hashchange', route);
  window.addEventListener('resize', () => { if (state.view === 'overview') chart.draw(); });
  setInterval(() => {
    const exp = $('as-expires');
    if (exp.dataset.expires) exp.textContent = expiresText(Number(exp.dataset.expires));
  }, 1000);
  route();
  poll();
})();
