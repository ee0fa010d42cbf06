// The test page: Grafana's own FlameGraph component fed with window.STACKSTREAM_ANSWER (a
// SelectMergeStacktraces answer in proto3 JSON, written by GrafanaFlameGraphTest). Every bar the
// component draws on its canvas is recorded (rect, then the label drawn clipped to it), and the
// page publishes what it drew as JSON in <script id="drawn"> plus data-ready / data-errors on
// <body>, for chromium --dump-dom.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { FlameGraph, checkFields } from '@grafana/flamegraph';
import { createDataFrame, createTheme, FieldType } from '@grafana/data';
import { levelsToRows, unitOf } from './levels.js';

const errors = [];
window.addEventListener('error', (e) => errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));

// What the canvas draws: each bar is rect(x, y, w, h) and its label a fillText inside that path.
const bars = [];
let lastRect = null;
const proto = CanvasRenderingContext2D.prototype;
const rect = proto.rect;
proto.rect = function (x, y, w, h) {
  lastRect = { x, y, width: w, height: h };
  return rect.call(this, x, y, w, h);
};
const fillText = proto.fillText;
proto.fillText = function (text, x, y, maxWidth) {
  if (lastRect) {
    bars.push({ text: String(text), ...lastRect });
  }
  return fillText.call(this, text, x, y, maxWidth);
};

function publish(extra) {
  const out = document.getElementById('drawn');
  out.textContent = JSON.stringify({ bars, ...extra });
  if (errors.length > 0) {
    document.body.dataset.errors = errors.join(' | ');
  }
  document.body.dataset.ready = 'true';
}

try {
  const answer = window.STACKSTREAM_ANSWER;
  const rows = levelsToRows(answer.flamegraph);
  const unit = unitOf(window.STACKSTREAM_PROFILE_TYPE);
  const frame = createDataFrame({
    name: 'response',
    meta: { preferredVisualisationType: 'flamegraph' },
    fields: [
      { name: 'level', type: FieldType.number, values: rows.level },
      { name: 'value', type: FieldType.number, values: rows.value, config: { unit } },
      { name: 'self', type: FieldType.number, values: rows.self, config: { unit } },
      { name: 'label', type: FieldType.string, values: rows.label },
    ],
  });
  const wrong = checkFields(frame);
  const theme = createTheme({ colors: { mode: 'light' } });
  createRoot(document.getElementById('root')).render(
    <FlameGraph data={frame} getTheme={() => theme} showFlameGraphOnly={true} disableCollapsing={true} />
  );
  // The component draws in effects after its size is measured: publish once the canvas holds bars.
  const started = Date.now();
  const poll = () => {
    if (bars.length > 0 || Date.now() - started > 20000) {
      const canvas = document.querySelector('canvas');
      publish({ rows: rows.label.length, unit, wrongFields: wrong || null,
        canvasWidth: canvas ? canvas.width : 0, canvasTop: canvas ? canvas.getBoundingClientRect().top : 0 });
    } else {
      setTimeout(poll, 50);
    }
  };
  setTimeout(poll, 50);
} catch (e) {
  errors.push(String(e && e.stack ? e.stack : e));
  publish({});
}
