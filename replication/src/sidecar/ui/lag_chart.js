// rocksdr web UI: the live replication-lag chart, drawn on a <canvas> (no chart library).
// One line per series (a secondary on a primary; the link to the primary on a secondary), the last
// WINDOW_MS of samples, y from 0 to a rounded maximum, x labelled in seconds before now.
// Bounded: at most MAX_SAMPLES samples and MAX_SERIES series are kept.
'use strict';

class LagChart {
  constructor(canvas, legend) {
    this.canvas = canvas;
    this.legend = legend;
    this.samples = [];  // {t: ms, values: {series: number}}
    this.colors = ['#1f5fbf', '#d9822b', '#1b7f3b', '#8e44ad', '#b3261e', '#16a2b8', '#6c757d', '#c2185b'];
    this.seriesColor = new Map();
    this.unit = 'WAL sequences';
  }

  static get WINDOW_MS() { return 120000; }
  static get MAX_SAMPLES() { return 600; }
  static get MAX_SERIES() { return 16; }

  // values: {seriesName: lag number}; series absent from a sample leave a gap.
  push(t, values) {
    const clean = {};
    for (const [k, v] of Object.entries(values)) {
      if (typeof v !== 'number' || !isFinite(v)) continue;
      if (!this.seriesColor.has(k)) {
        if (this.seriesColor.size >= LagChart.MAX_SERIES) continue;
        this.seriesColor.set(k, this.colors[this.seriesColor.size % this.colors.length]);
      }
      clean[k] = Math.max(0, v);
    }
    this.samples.push({ t, values: clean });
    const cutoff = t - LagChart.WINDOW_MS;
    while (this.samples.length > LagChart.MAX_SAMPLES || (this.samples.length && this.samples[0].t < cutoff)) {
      this.samples.shift();
    }
  }

  reset() {
    this.samples = [];
    this.seriesColor.clear();
  }

  latest() {
    return this.samples.length ? this.samples[this.samples.length - 1].values : {};
  }

  draw() {
    const canvas = this.canvas;
    const cssW = canvas.clientWidth, cssH = canvas.clientHeight;
    if (cssW === 0 || cssH === 0) return;  // not visible
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.font = '11px system-ui, sans-serif';

    let max = 0;
    for (const s of this.samples) for (const v of Object.values(s.values)) max = Math.max(max, v);
    const top = LagChart.niceCeiling(max);
    const left = 8 + ctx.measureText(String(top)).width + 6, right = 10, upper = 10, bottom = 22;
    const w = Math.max(10, cssW - left - right), h = Math.max(10, cssH - upper - bottom);
    const now = this.samples.length ? this.samples[this.samples.length - 1].t : Date.now();
    const x = (t) => left + w * (1 - (now - t) / LagChart.WINDOW_MS);
    const y = (v) => upper + h * (1 - v / top);

    // Grid and labels.
    ctx.strokeStyle = '#e3e7ed';
    ctx.fillStyle = '#5d6676';
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let i = 0; i <= 4; i++) {
      const v = (top * i) / 4;
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(left, yy); ctx.lineTo(left + w, yy); ctx.stroke();
      ctx.fillText(LagChart.formatNumber(v), left - 6, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const step = w < 320 ? 60000 : 30000;
    for (let ago = 0; ago <= LagChart.WINDOW_MS; ago += step) {
      const xx = x(now - ago);
      ctx.fillText(ago === 0 ? 'now' : `-${ago / 1000}s`, Math.min(Math.max(xx, left + 12), left + w - 12), upper + h + 6);
    }

    // Lines.
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    for (const [name, color] of this.seriesColor) {
      ctx.strokeStyle = color;
      ctx.beginPath();
      let drawing = false, points = 0;
      for (const s of this.samples) {
        if (!(name in s.values)) { drawing = false; continue; }
        const px = x(s.t), py = y(s.values[name]);
        if (drawing) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        drawing = true;
        points++;
      }
      ctx.stroke();
      if (points === 1) {  // a single sample: show it as a dot
        const s = this.samples.find((q) => name in q.values);
        ctx.fillStyle = color;
        ctx.beginPath(); ctx.arc(x(s.t), y(s.values[name]), 3, 0, 2 * Math.PI); ctx.fill();
      }
    }
    if (this.seriesColor.size === 0) {
      ctx.fillStyle = '#5d6676';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('No lag data yet: it appears once a secondary streams', left + w / 2, upper + h / 2);
    }
    this.drawLegend();
  }

  drawLegend() {
    if (!this.legend) return;
    const latest = this.latest();
    this.legend.replaceChildren();
    for (const [name, color] of this.seriesColor) {
      const span = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = color;
      span.append(swatch, `${name}: ${name in latest ? LagChart.formatNumber(latest[name]) : '—'}`);
      this.legend.append(span);
    }
    if (this.seriesColor.size) this.legend.append(`(lag in ${this.unit}; sampled every poll)`);
  }

  static niceCeiling(v) {
    if (v <= 4) return 4;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  static formatNumber(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + 'M';
    if (v >= 1e4) return (v / 1e3).toFixed(0) + 'k';
    return Number.isInteger(v) ? String(v) : v.toFixed(1);
  }
}
