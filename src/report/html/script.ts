/**
 * The page's only script, inline. It reads the calls' decoded bodies from the JSON block the
 * page carries and shows one in the side panel on click; it never fetches anything.
 */
export const SCRIPT = `
(function () {
  'use strict';
  var details = JSON.parse(document.getElementById('critap-details').textContent);
  var panel = document.getElementById('details');
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function block(title, value) {
    if (value === undefined) return;
    panel.appendChild(el('h4', title));
    panel.appendChild(el('pre', JSON.stringify(value, null, 2)));
  }
  function open(id) {
    var d = details[id];
    if (!d) return;
    panel.replaceChildren();
    var close = el('button', 'close');
    close.addEventListener('click', function () { panel.hidden = true; });
    panel.appendChild(close);
    panel.appendChild(el('h3', d.method.replace(/^.*\\//, '')));
    var status = d.status.code === 0 ? 'OK' : d.status.codeName + (d.status.message ? ': ' + d.status.message : '');
    panel.appendChild(el('div', d.start + ' · ' + d.durationMs + ' ms · ' + status + ' · ' + d.client, 'meta'));
    panel.setAttribute('data-call', String(id));
    var ids = {};
    Object.keys(d.ids || {}).forEach(function (k) { if (d.ids[k]) ids[k] = d.ids[k]; });
    if (Object.keys(ids).length) block('ids', ids);
    if (d.traceparent) block('traceparent', d.traceparent);
    if (d.redacted) block('redacted by the recorder', d.redacted);
    if (d.truncated) panel.appendChild(el('p', 'Bodies not captured: larger than the capture limit.', 'note'));
    block('request', d.request);
    block('response', d.response);
    block('messages', d.messages);
    if (d.status.details) block('status details', d.status.details);
    panel.hidden = false;
    document.querySelectorAll('.selected').forEach(function (x) { x.classList.remove('selected'); });
    document.querySelectorAll('[data-call="' + id + '"]').forEach(function (x) { x.classList.add('selected'); });
  }
  document.addEventListener('click', function (ev) {
    var t = ev.target.closest ? ev.target.closest('.opens[data-call]') : null;
    if (t) open(t.getAttribute('data-call'));
  });
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') panel.hidden = true; });
  // The timeline's scale: shared by every pod, or each lane from its pod's first call to its last.
  var scale = document.getElementById('lane-scale');
  var svg = document.querySelector('svg.timeline');
  if (scale && svg) scale.addEventListener('change', function () {
    var labelW = +svg.getAttribute('data-label-w'), plotW = +svg.getAttribute('data-plot-w');
    svg.classList.toggle('per-pod', scale.checked);
    svg.querySelectorAll('.lane').forEach(function (lane) {
      var from = scale.checked ? +lane.getAttribute('data-from') : +svg.getAttribute('data-from');
      var to = scale.checked ? +lane.getAttribute('data-to') : +svg.getAttribute('data-to');
      var span = Math.max(to - from, 0.001);
      function x(ms) { return labelW + ((ms - from) / span) * plotW; }
      lane.querySelectorAll('rect.bar').forEach(function (r) {
        var at = +r.getAttribute('data-at'), dur = +r.getAttribute('data-dur');
        r.setAttribute('x', x(at).toFixed(1));
        r.setAttribute('width', Math.max(2, x(at + dur) - x(at)).toFixed(1));
      });
      lane.querySelectorAll('line.ready').forEach(function (l) {
        var at = +l.getAttribute('data-at'), dur = +l.getAttribute('data-dur');
        l.setAttribute('x1', x(at).toFixed(1));
        l.setAttribute('x2', x(at + dur).toFixed(1));
      });
      lane.querySelectorAll('text.ready-label').forEach(function (t) {
        t.setAttribute('x', Math.min(x(+t.getAttribute('data-at')) + 4, labelW + plotW - 90).toFixed(1));
      });
    });
  });
  var pick = document.getElementById('seq-pod');
  if (pick) pick.addEventListener('change', function () {
    document.querySelectorAll('.seq').forEach(function (s) { s.hidden = s.getAttribute('data-pod') !== pick.value; });
  });
})();
`;
