/* page.js — draws drover's HTML status report from the JSON in #drover-data (report_html.c
 * writes it; docs/html.md describes it). Every string from the data goes through textContent
 * or setAttribute, never markup. No line comments and no double slash anywhere: the page's own
 * code must name no URL (the test's check).
 *
 * The matrix leads with what needs a person: tenants that are not current come first, in
 * groups by state (worst first) and environment, each group under a heading row. In a large
 * fleet (d.fold), current tenants whose rows are identical are folded into one line per
 * environment and row; their own rows are only built when the line is opened. Columns: one for the migrations applied
 * on every readable tenant (d.prefix of them), then one per migration where tenants differ,
 * then one per unknown row; each tenant's cells come as one character per column. */
(function () {
'use strict';
var d = JSON.parse(document.getElementById('drover-data').textContent);
var SORT_KEYS = ['id', 'env', 'state', 'applied', 'pending'];
var LABELS = {id: 'Tenant', env: 'Env', state: 'State', applied: 'Applied', pending: 'Pending'};
var MARKS = {applied: '\u2713', pending: '\u00b7', failed: '\u2717', unknown: '?', absent: '',
  unread: ''};
var CELL = {A: 'applied', P: 'pending', F: 'failed', U: 'unknown', '-': 'absent', '.': 'unread'};
var ATTENTION = ['dirty', 'unreachable', 'locked', 'drifted', 'behind', 'current'];
var sortKey = null, sortDesc = false;
function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
function rank(list) { var r = {}; list.forEach(function (v, i) { r[v] = i; }); return r; }
var stateRank = rank(d.states);
var attentionRank = rank(ATTENTION);
var envRank = rank(d.environments.map(function (e) { return e.name; }));
var columns = (d.prefix > 0 ? [{name: plural(d.prefix, 'migration') + ' applied everywhere',
  label: d.prefix + ' everywhere', prefix: true}] : []).concat(d.columns);
var width = SORT_KEYS.length + columns.length;
function cellState(t, k) { return CELL[t.cells.charAt(k)]; }
function header() {
  var g = $('generated');
  g.textContent = d.generated_at;
  g.setAttribute('datetime', d.generated_at);
  $('fleet-size').textContent = plural(d.summary.tenants, 'tenant');
  $('migration-count').textContent = plural(d.migrations.length, 'migration');
  d.states.forEach(function (s) {
    var li = el('li');
    li.appendChild(el('span', 'badge ' + (d.summary[s] ? 'st-' + s : 'zero'),
      d.summary[s] + ' ' + s));
    li.setAttribute('data-state', s);
    $('totals').appendChild(li);
  });
}
function cards() {
  d.environments.forEach(function (env) {
    var card = el('section', 'card');
    card.setAttribute('data-env', env.name);
    card.setAttribute('aria-label', 'environment ' + env.name);
    card.appendChild(el('h3', null, env.name));
    card.appendChild(el('p', 'total', plural(env.tenants, 'tenant')));
    var dl = el('dl');
    d.states.forEach(function (s) {
      var n = env.by_state[s];
      var div = el('div', 'count ' + (n ? 'st-' + s : 'zero'));
      div.setAttribute('data-env', env.name);
      div.setAttribute('data-state', s);
      div.appendChild(el('dt', null, s));
      div.appendChild(el('dd', null, n));
      dl.appendChild(div);
    });
    card.appendChild(dl);
    $('cards').appendChild(card);
  });
}
function options(id, values) {
  values.forEach(function (v) { var o = el('option', null, v); o.value = v; $(id).appendChild(o); });
  $(id).addEventListener('change', apply);
}
function filters() {
  var tags = [], has = {};
  d.tenants.forEach(function (t) { t.tags.forEach(function (g) {
    if (!has[g]) { has[g] = true; tags.push(g); } }); });
  options('filter-env', d.environments.map(function (e) { return e.name; }));
  options('filter-state', d.states);
  options('filter-tag', tags.sort());
}
function headRow() {
  var tr = $('matrix-head');
  SORT_KEYS.forEach(function (k) {
    var th = el('th');
    th.scope = 'col';
    th.setAttribute('data-sort', k);
    th.setAttribute('aria-sort', 'none');
    var b = el('button', 'sort', LABELS[k]);
    b.type = 'button';
    b.addEventListener('click', function () {
      sortDesc = sortKey === k ? !sortDesc : false;
      sortKey = k;
      apply();
    });
    th.appendChild(b);
    tr.appendChild(th);
  });
  columns.forEach(function (c) {
    var th = el('th', c.prefix ? 'mig prefix' : c.extra ? 'mig extra' : 'mig');
    th.scope = 'col';
    th.title = c.prefix ? c.name + ': ' + d.migrations[0] + ' to ' + d.migrations[d.prefix - 1]
      : c.extra ? 'unknown row: ' + c.name : c.name;
    th.appendChild(el('span', null, c.label || c.name));
    tr.appendChild(th);
  });
}
function footRow() {
  var tr = $('matrix-foot');
  var th = el('th', null, 'applied on');
  th.scope = 'row';
  th.colSpan = SORT_KEYS.length;
  tr.appendChild(th);
  columns.forEach(function (c, k) {
    var n = 0, known = 0;
    d.tenants.forEach(function (t) {
      var s = cellState(t, k);
      if (s !== 'unread') known++;
      if (s === 'applied' || s === 'unknown') n++;
    });
    var td = el('td', 'coverage', c.extra ? n : n + '/' + known);
    td.title = c.extra ? c.name + ': a row on ' + plural(n, 'tenant') + ' with no file'
      : c.name + ': applied on ' + n + ' of ' + known + ' readable tenants';
    tr.appendChild(td);
  });
}
function item(dl, label, value) {
  dl.appendChild(el('dt', null, label));
  var dd = el('dd');
  if (typeof value === 'object') dd.appendChild(value); else dd.textContent = value;
  dl.appendChild(dd);
}
function lines(list, cls, prefix) {
  var pre = el('pre', cls);
  pre.textContent = list.map(function (l) { return prefix + l; }).join('\n');
  return pre;
}
function pendingNames(t) {
  var names = [];
  columns.forEach(function (c, k) {
    var s = cellState(t, k);
    if (!c.extra && !c.prefix && (s === 'pending' || s === 'failed')) names.push(c.name);
  });
  return names;
}
function details(t) {
  var dl = el('dl');
  item(dl, 'database', t.dialect + ' ' + t.url);
  if (t.tags.length) item(dl, 'tags', t.tags.join(', '));
  if (t.error) {
    item(dl, 'error', t.error.message);
    if (t.error.statement) item(dl, 'statement', lines([t.error.statement], null, ''));
    if (t.error.hint) item(dl, 'hint', t.error.hint);
  }
  if (t.dirty_migration) item(dl, 'dirty', t.dirty_migration + ' may be half-applied');
  if (t.lock_holder) item(dl, 'locked by', t.lock_holder);
  if (t.pending_count) item(dl, 'pending', lines(pendingNames(t), null, ''));
  if (t.unknown.length) item(dl, 'unknown rows', lines(t.unknown, null, ''));
  t.renamed.forEach(function (r) { item(dl, 'renamed', r.row + ' \u2192 ' + r.file); });
  if (t.gap) item(dl, 'gap', 'lacks ' + t.gap_missing.join(', '));
  if (t.schema_drift) item(dl, 'schema drift', 'fingerprint ' + t.fingerprint +
    ' differs from the majority');
  if (t.drift_added.length) item(dl, 'schema: extra', lines(t.drift_added, 'added', '+ '));
  if (t.drift_missing.length) item(dl, 'schema: missing', lines(t.drift_missing, 'missing', '- '));
  if (t.last_run) item(dl, 'last run', '#' + t.last_run.id + ' ' + t.last_run.outcome + ' at ' +
    t.last_run.at);
  return dl;
}
function toggle(more, dr, open) {
  dr.hidden = !open;
  more.setAttribute('aria-expanded', String(open));
  more.textContent = open ? '\u25BE' : '\u25B8';
}
function moreButton(id, controls, label) {
  var more = el('button', 'more', '\u25B8');
  more.type = 'button';
  more.id = id;
  more.setAttribute('aria-expanded', 'false');
  more.setAttribute('aria-controls', controls);
  more.setAttribute('aria-label', label);
  return more;
}
function cells(tr, t, id) {
  columns.forEach(function (c, k) {
    var s = cellState(t, k);
    var td = el('td', 'cell', MARKS[s]);
    td.setAttribute('data-state', s);
    td.title = id + ' \u00b7 ' + c.name + ': ' + s;
    tr.appendChild(td);
  });
}
function summaryCells(tr, env, state, applied, pending) {
  tr.appendChild(el('td', null, env));
  var st = el('td');
  st.appendChild(el('span', 'badge st-' + state, state));
  tr.appendChild(st);
  tr.appendChild(el('td', 'num', applied));
  tr.appendChild(el('td', 'num', pending));
}
function tenantGroup(t, i) {
  var tb = el('tbody', 'tenant');
  tb.setAttribute('data-id', t.id);
  tb.setAttribute('data-env', t.env);
  tb.setAttribute('data-state', t.state);
  var tr = el('tr', 'row');
  var th = el('th');
  th.scope = 'row';
  var more = moreButton('more-' + i, 'details-' + i, 'details of ' + t.id);
  th.appendChild(more);
  th.appendChild(el('span', 'id', t.id));
  tr.appendChild(th);
  summaryCells(tr, t.env, t.state, t.applied_count, t.pending_count);
  cells(tr, t, t.id);
  tb.appendChild(tr);
  var dr = el('tr', 'details');
  dr.id = 'details-' + i;
  dr.hidden = true;
  var td = el('td');
  td.colSpan = width;
  td.appendChild(details(t));
  dr.appendChild(td);
  tb.appendChild(dr);
  more.addEventListener('click', function () { toggle(more, dr, dr.hidden); });
  return {t: t, i: i, tb: tb, more: more, dr: dr};
}
function sortValue(t) {
  switch (sortKey) {
  case 'env': return envRank[t.env];
  case 'state': return stateRank[t.state];
  case 'applied': return t.applied_count;
  case 'pending': return t.pending_count;
  default: return t.id;
  }
}
function byAttention(a, b) {
  return attentionRank[a.t.state] - attentionRank[b.t.state] ||
    envRank[a.t.env] - envRank[b.t.env] || a.i - b.i;
}
function compare(a, b) {
  var x = sortValue(a.t), y = sortValue(b.t);
  var r = x < y ? -1 : x > y ? 1 : 0;
  return (sortDesc ? -r : r) || a.i - b.i;
}
var FOLD_MIN = 2;
var rows = [], folds = [], groupHeads = {};
function foldKey(t) {
  return d.fold && t.state === 'current' && !t.error && !t.dirty_migration && !t.lock_holder &&
    !t.schema_drift && !t.gap && !t.unknown.length && !t.renamed.length
    ? t.env + '\u0000' + t.cells : null;
}
function makeFold(f, n) {
  var tb = el('tbody', 'fold');
  tb.setAttribute('data-env', f.t.env);
  tb.setAttribute('data-state', f.t.state);
  tb.setAttribute('data-count', String(f.members.length));
  var tr = el('tr', 'row');
  var th = el('th');
  th.scope = 'row';
  var more = moreButton('fold-' + n, 'fold-' + n, 'list the ' + f.members.length +
    ' tenants of this line');
  th.appendChild(more);
  var label = el('span', 'count');
  th.appendChild(label);
  tr.appendChild(th);
  summaryCells(tr, f.t.env, f.t.state, f.t.applied_count, f.t.pending_count);
  cells(tr, f.t, plural(f.members.length, 'tenant'));
  tb.appendChild(tr);
  f.tb = tb;
  f.label = label;
  f.open = false;
  more.addEventListener('click', function () {
    f.open = !f.open;
    more.setAttribute('aria-expanded', String(f.open));
    more.textContent = f.open ? '\u25BE' : '\u25B8';
    if (f.open && !f.built) {
      f.built = f.members.map(function (g) { return tenantGroup(g.t, g.i); });
    }
    apply();
  });
}
function build() {
  var byKey = {}, order = [];
  d.tenants.forEach(function (t, i) {
    var k = foldKey(t), g = {t: t, i: i};
    if (k === null) { rows.push(tenantGroup(t, i)); return; }
    if (!byKey[k]) { byKey[k] = {t: t, i: i, members: []}; order.push(byKey[k]); }
    byKey[k].members.push(g);
  });
  order.forEach(function (f) {
    if (f.members.length < FOLD_MIN) {
      rows.push(tenantGroup(f.t, f.i));
      return;
    }
    makeFold(f, folds.length);
    folds.push(f);
  });
}
function groupHead(state, env) {
  var key = state + '\u0000' + env;
  if (!groupHeads[key]) {
    var tb = el('tbody', 'group');
    tb.setAttribute('data-env', env);
    tb.setAttribute('data-state', state);
    var tr = el('tr');
    var th = el('th');
    th.scope = 'rowgroup';
    th.colSpan = width;
    th.appendChild(el('span', 'badge st-' + state, state));
    th.appendChild(el('span', 'group-label'));
    tr.appendChild(th);
    tb.appendChild(tr);
    groupHeads[key] = {tb: tb, label: th.lastChild};
  }
  return groupHeads[key];
}
function matches(t, env, state, tag) {
  return (!env || t.env === env) && (!state || t.state === state) &&
    (!tag || t.tags.indexOf(tag) >= 0);
}
function apply() {
  var env = $('filter-env').value, state = $('filter-state').value;
  var tag = $('filter-tag').value;
  var table = $('matrix'), foot = table.tFoot, shown = 0;
  Object.keys(groupHeads).forEach(function (k) { groupHeads[k].tb.hidden = true; });
  var order = rows.slice();
  order.sort(sortKey ? compare : byAttention);
  var counts = {};
  order.forEach(function (g) {
    var t = g.t, ok = matches(t, env, state, tag);
    g.tb.hidden = !ok;
    if (ok) {
      shown++;
      if (!sortKey) {
        var key = t.state + '\u0000' + t.env;
        counts[key] = (counts[key] || 0) + 1;
        if (counts[key] === 1) {
          var h = groupHead(t.state, t.env);
          h.tb.hidden = false;
          table.insertBefore(h.tb, foot);
        }
      }
    }
    table.insertBefore(g.tb, foot);
  });
  Object.keys(counts).forEach(function (k) {
    var parts = k.split('\u0000');
    groupHeads[k].label.textContent = ' ' + parts[1] + ' \u00b7 ' + plural(counts[k], 'tenant');
  });
  folds.forEach(function (f) {
    var n = 0;
    f.members.forEach(function (g) { if (matches(g.t, env, state, tag)) n++; });
    f.tb.hidden = n === 0;
    f.label.textContent = plural(n, f.t.state + ' tenant') + ', identical rows';
    table.insertBefore(f.tb, foot);
    shown += n;
    (f.built || []).forEach(function (g) {
      g.tb.hidden = !f.open || !matches(g.t, env, state, tag);
      table.insertBefore(g.tb, foot);
    });
  });
  Array.prototype.forEach.call(table.tHead.querySelectorAll('th[data-sort]'), function (th) {
    var k = th.getAttribute('data-sort');
    th.setAttribute('aria-sort', k !== sortKey ? 'none' : sortDesc ? 'descending' : 'ascending');
  });
  $('showing').textContent = 'showing ' + shown + ' of ' + plural(d.tenants.length, 'tenant');
}
function skew() {
  var body = $('skew').tBodies[0], max = 1;
  d.heads.forEach(function (h) { if (h.tenants > max) max = h.tenants; });
  d.heads.forEach(function (h) {
    var tr = el('tr');
    var th = el('th', null, h.head === null ? '(none applied)' : h.head);
    th.scope = 'row';
    tr.appendChild(th);
    tr.appendChild(el('td', 'num', h.tenants));
    var bar = el('span', 'bar');
    bar.style.width = Math.round(200 * h.tenants / max) + 'px';
    var td = el('td');
    td.appendChild(bar);
    tr.appendChild(td);
    body.appendChild(tr);
  });
}
function gaps() {
  var list = $('gaps');
  d.tenants.forEach(function (t) {
    if (!t.gap) return;
    var li = el('li');
    li.setAttribute('data-id', t.id);
    li.appendChild(el('code', null, t.id));
    li.appendChild(document.createTextNode(' (' + t.env + ') lacks ' + t.gap_missing.join(', ')));
    list.appendChild(li);
  });
  if (!list.children.length) list.appendChild(el('li', 'none', 'none'));
}
function fromUrl() {
  var q = new URLSearchParams(location.search);
  ['env', 'state', 'tag'].forEach(function (k) {
    var v = q.get('filter-' + k);
    if (v !== null) $('filter-' + k).value = v;
  });
  var open = q.getAll('open');
  rows.forEach(function (g) {
    if (open.indexOf(g.t.id) >= 0) toggle(g.more, g.dr, true);
  });
  var s = q.get('sort');
  if (s) {
    var desc = s.charAt(0) === '-';
    if (desc) s = s.slice(1);
    if (SORT_KEYS.indexOf(s) >= 0) { sortKey = s; sortDesc = desc; }
  }
}
header();
cards();
filters();
headRow();
footRow();
build();
skew();
gaps();
fromUrl();
apply();
})();
