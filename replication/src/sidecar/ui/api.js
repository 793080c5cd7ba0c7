// rocksdr web UI: the client of the sidecar's Vault-compatible API (/v1/...). Every call has a
// timeout (AbortController), so nothing in the UI waits forever; every failure becomes an ApiError
// whose `errors` are the API's own messages ({"errors": [...]}) or a sentence saying what went
// wrong on the way (timeout, sidecar unreachable, answer not JSON).
'use strict';

const Api = (() => {
  const DEFAULT_TIMEOUT_MS = 15000;
  const MAX_ERRORS_SHOWN = 10;

  class ApiError extends Error {
    constructor(method, path, status, errors) {
      super(errors.join('; '));
      this.method = method;
      this.path = path;
      this.status = status;   // HTTP status, or 0 when no answer came
      this.errors = errors;   // strings, as the API wrote them
    }
    title() {
      const where = `${this.method} /v1/${this.path}`;
      if (this.status === 0) return `${where}: no answer`;
      return `${where} failed (HTTP ${this.status}${statusWord(this.status)})`;
    }
  }

  function statusWord(status) {
    const words = { 400: ' bad request', 403: ' permission denied', 404: ' not found', 405: ' method not allowed',
      413: ' request too large', 429: ' too many requests', 500: ' internal error', 503: ' sealed or unavailable',
      504: ' timeout' };
    return words[status] || '';
  }

  // call(method, path, {body, token, timeoutMs}) -> {status, json}. Throws ApiError.
  async function call(method, path, opts = {}) {
    const timeoutMs = opts.timeoutMs || DEFAULT_TIMEOUT_MS;
    const headers = { 'Accept': 'application/json' };
    if (opts.token) headers['X-Vault-Token'] = opts.token;
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    let res, text;
    try {
      res = await fetch('/v1/' + path, { method, headers, body, signal: ctrl.signal, cache: 'no-store',
        credentials: 'omit', redirect: 'error' });
      text = await res.text();
    } catch (e) {
      if (e && e.name === 'AbortError') {
        throw new ApiError(method, path, 0, [`the sidecar did not answer within ${Math.round(timeoutMs / 1000)} s; ` +
          'check that it is running and reachable, then try again']);
      }
      throw new ApiError(method, path, 0, [`cannot reach the sidecar (${e && e.message ? e.message : e}); ` +
        'check that it is running and reachable, then try again']);
    } finally {
      clearTimeout(timer);
    }
    let json = null;
    if (text) {
      try { json = JSON.parse(text); } catch (e) { json = null; }
    }
    if (!res.ok) {
      let errors;
      if (json && Array.isArray(json.errors) && json.errors.length > 0) {
        errors = json.errors.slice(0, MAX_ERRORS_SHOWN).map(String);
      } else {
        errors = [text ? text.slice(0, 500) : (res.statusText || 'no details were given')];
      }
      throw new ApiError(method, path, res.status, errors);
    }
    if (text && json === null) {
      throw new ApiError(method, path, res.status, ['the answer is not JSON: ' + text.slice(0, 200)]);
    }
    return { status: res.status, json };
  }

  return {
    ApiError,
    get: (path, opts) => call('GET', path, opts),
    post: (path, body, opts = {}) => call('POST', path, Object.assign({}, opts, { body: body || {} })),
    del: (path, opts) => call('DELETE', path, opts),
  };
})();
