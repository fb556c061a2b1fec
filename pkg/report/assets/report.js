// nfr-report's page script: filter, sort and open alerts. It only reads the
// page's data attributes and sets textContent, hidden and classes; it never
// builds markup from data.
(function () {
  'use strict';
  var body = document.getElementById('alert-rows');
  if (!body) { return; }
  var rows = Array.prototype.slice.call(body.querySelectorAll('tr.a'));
  var q = document.getElementById('f-q');
  var sev = document.getElementById('f-sev');
  var threat = document.getElementById('f-threat');
  var shown = document.getElementById('n-shown');
  var none = document.getElementById('no-match');

  function detail(r) { return document.getElementById('detail-' + r.id.slice(6)); }

  function apply() {
    var terms = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var min = +sev.value, t = threat.value, n = 0;
    rows.forEach(function (r) {
      var ok = +r.dataset.sev >= min && (!t || r.dataset.threats.indexOf(' ' + t + ' ') >= 0);
      for (var i = 0; ok && i < terms.length; i++) {
        ok = r.dataset.search.indexOf(terms[i]) >= 0;
      }
      r.hidden = !ok;
      detail(r).hidden = !ok || !r.classList.contains('open');
      if (ok) { n++; }
    });
    shown.textContent = String(n);
    none.hidden = n > 0;
  }

  function toggle(r) {
    var open = r.classList.toggle('open');
    r.setAttribute('aria-expanded', open ? 'true' : 'false');
    detail(r).hidden = !open;
  }

  body.addEventListener('click', function (e) {
    if (window.getSelection && String(window.getSelection()).length > 0) { return; }
    var r = e.target.closest('tr.a');
    if (r) { toggle(r); }
  });
  body.addEventListener('keydown', function (e) {
    if ((e.key === 'Enter' || e.key === ' ') && e.target.matches('tr.a')) {
      e.preventDefault();
      toggle(e.target);
    }
  });

  var heads = Array.prototype.slice.call(document.querySelectorAll('#alert-table th button[data-key]'));
  heads.forEach(function (b) {
    b.addEventListener('click', function () {
      var th = b.parentNode, key = b.dataset.key, num = b.dataset.num === '1';
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      heads.forEach(function (o) { o.parentNode.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      rows.sort(function (x, y) {
        var a = x.dataset[key], c = y.dataset[key], d;
        if (num) { d = (+a) - (+c); } else { d = a < c ? -1 : a > c ? 1 : 0; }
        if (d === 0) { d = (+x.dataset.ts) - (+y.dataset.ts); }
        return d * dir;
      });
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) { frag.appendChild(r); frag.appendChild(detail(r)); });
      body.appendChild(frag);
    });
  });

  function jump() { document.getElementById('alerts').scrollIntoView({ behavior: 'smooth' }); }
  document.addEventListener('click', function (e) {
    var p = e.target.closest('.pick, .sevpick');
    if (!p) { return; }
    if (p.dataset.threat !== undefined) { threat.value = p.dataset.threat; }
    if (p.dataset.q !== undefined) { q.value = p.dataset.q; }
    if (p.dataset.sev !== undefined) { sev.value = p.dataset.sev; }
    apply();
    jump();
  });

  q.addEventListener('input', apply);
  sev.addEventListener('change', apply);
  threat.addEventListener('change', apply);
  document.getElementById('f-reset').addEventListener('click', function () {
    q.value = ''; sev.value = '0'; threat.value = '';
    apply();
  });
  document.getElementById('filters').addEventListener('submit', function (e) { e.preventDefault(); });
  apply();
})();
