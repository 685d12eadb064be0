/*
 * report_html.c — `drover status --format html`: one self-contained page (inline CSS and JS,
 * no fetches: a Content-Security-Policy of default-src 'none' says so to the browser too) that
 * renders the fleet from one JSON blob built here. The page's JS builds every element from
 * that blob through textContent/setAttribute, so data never becomes markup.
 */
#include "drover/report.h"

#include <string.h>
#include <time.h>

/* Page URL parameters (documented in docs/html.md): filter-env, filter-state, filter-tag
 * preselect the filters; sort=KEY or sort=-KEY (descending) with KEY one of id, env, state,
 * applied, pending; open=ID (repeatable) expands a tenant's details. */

static const char PAGE_HEAD[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'\">\n"
    "<meta name=\"generator\" content=\"drover\">\n"
    "<title>drover status</title>\n"
    "<style>\n"
    ":root{--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;"
    "--current:#1a7f37;--behind:#9a6700;--drifted:#8250df;--dirty:#cf222e;--locked:#0969da;"
    "--unreachable:#57606a;--applied:#1a7f37;--pending:#f2c744;--unknown:#8250df;"
    "--failed:#cf222e}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",sans-serif;"
    "color:var(--fg);background:var(--bg)}\n"
    "header{padding:16px 24px;border-bottom:1px solid var(--line);background:var(--soft)}\n"
    "h1{margin:0 0 4px;font-size:22px}\n"
    "h2{font-size:17px;margin:24px 0 8px}\n"
    "h3{margin:0;font-size:15px}\n"
    "main{padding:0 24px 32px}\n"
    ".meta{margin:0;color:var(--muted)}\n"
    ".totals{list-style:none;display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 0;padding:0}\n"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;"
    "font-weight:600;font-size:12px;white-space:nowrap}\n"
    ".st-current{background:var(--current)}.st-behind{background:var(--behind)}"
    ".st-drifted{background:var(--drifted)}.st-dirty{background:var(--dirty)}"
    ".st-locked{background:var(--locked)}.st-unreachable{background:var(--unreachable)}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:12px}\n"
    ".card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:220px}\n"
    ".card .total{margin:0 0 6px;color:var(--muted)}\n"
    ".card dl{display:grid;grid-template-columns:repeat(3,auto);gap:4px;margin:0}\n"
    ".count{border-radius:6px;padding:2px 8px;color:#fff}\n"
    ".count dt{font-size:11px}.count dd{margin:0;font-size:18px;font-weight:700}\n"
    ".zero{background:var(--soft);color:var(--muted)}\n"
    ".filters{display:flex;flex-wrap:wrap;gap:16px;align-items:center;margin:0 0 8px}\n"
    ".filters label{font-weight:600;margin-right:4px}\n"
    "select{font:inherit;padding:2px 4px}\n"
    ".showing{margin:0;color:var(--muted)}\n"
    ".legend{list-style:none;display:flex;flex-wrap:wrap;gap:14px;padding:0;margin:0 0 8px}\n"
    ".legend li{display:flex;align-items:center;gap:4px}\n"
    ".scroll{overflow:auto;max-width:100%;border:1px solid var(--line);border-radius:6px}\n"
    "table{border-collapse:collapse}\n"
    "th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;"
    "vertical-align:bottom}\n"
    "thead th{position:sticky;top:0;background:var(--soft);z-index:1}\n"
    "th.mig{padding:4px 1px;font-weight:400;font-size:11px}\n"
    "th.mig span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;"
    "display:inline-block;max-height:170px;overflow:hidden;text-overflow:ellipsis}\n"
    "caption{text-align:left;white-space:nowrap;padding:4px 6px}\n"
    "th.mig.extra{color:var(--unknown);font-weight:600}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "button.sort{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;"
    "color:inherit}\n"
    "th[aria-sort=ascending] button.sort::after{content:\" \\25B2\"}\n"
    "th[aria-sort=descending] button.sort::after{content:\" \\25BC\"}\n"
    "button.more{font:inherit;border:1px solid var(--line);background:var(--bg);"
    "border-radius:4px;width:22px;padding:0;margin-right:6px;cursor:pointer}\n"
    ".cell,.swatch{width:20px;min-width:20px;height:20px;padding:0;text-align:center;"
    "vertical-align:middle;font-size:12px;font-weight:700;border:1px solid #fff}\n"
    ".swatch{display:inline-block;line-height:18px;border-color:var(--line)}\n"
    "[data-state=applied].cell,.swatch.applied{background:var(--applied);color:#fff}\n"
    "[data-state=pending].cell,.swatch.pending{background:var(--pending);color:#3d2c00}\n"
    "[data-state=unknown].cell,.swatch.unknown{background:var(--unknown);color:#fff}\n"
    "[data-state=failed].cell,.swatch.failed{background:var(--failed);color:#fff}\n"
    "[data-state=absent].cell,.swatch.absent{background:var(--soft)}\n"
    "[data-state=unread].cell,.swatch.unread{background:repeating-linear-gradient(45deg,"
    "#d0d7de 0 3px,#f6f8fa 3px 6px)}\n"
    "tfoot td,tfoot th{font-size:11px;color:var(--muted);text-align:center}\n"
    "tr.details td{background:var(--soft);padding:8px 12px 12px 36px}\n"
    /* width 0, min-width 100%: a long error wraps inside the matrix's width instead of
     * widening every column. */
    ".details dl{width:0;min-width:100%;display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}\n"
    ".details dt{font-weight:600}.details dd{margin:0}\n"
    ".details pre{margin:0;white-space:pre-wrap;font-size:12px}\n"
    ".added{color:#116329}.missing{color:#a40e26}\n"
    ".bar{display:inline-block;height:10px;background:var(--locked);border-radius:2px}\n"
    "code{font-size:12px}\n"
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<header>\n"
    "<h1>drover status</h1>\n"
    "<p class=\"meta\">Generated <time id=\"generated\"></time> &middot; "
    "<span id=\"fleet-size\"></span> &middot; <span id=\"migration-count\"></span></p>\n"
    "<ul class=\"totals\" id=\"totals\" aria-label=\"tenants by state\"></ul>\n"
    "</header>\n"
    "<main>\n"
    "<section aria-labelledby=\"h-envs\">\n"
    "<h2 id=\"h-envs\">Environments</h2>\n"
    "<div class=\"cards\" id=\"cards\"></div>\n"
    "</section>\n"
    "<section aria-labelledby=\"h-matrix\">\n"
    "<h2 id=\"h-matrix\">Tenants &times; migrations</h2>\n"
    "<form class=\"filters\" id=\"filters\" role=\"search\" aria-label=\"filter tenants\">\n"
    "<div><label for=\"filter-env\">Environment</label>"
    "<select id=\"filter-env\"><option value=\"\">all</option></select></div>\n"
    "<div><label for=\"filter-state\">State</label>"
    "<select id=\"filter-state\"><option value=\"\">all</option></select></div>\n"
    "<div><label for=\"filter-tag\">Tag</label>"
    "<select id=\"filter-tag\"><option value=\"\">all</option></select></div>\n"
    "<p class=\"showing\" id=\"showing\" aria-live=\"polite\"></p>\n"
    "</form>\n"
    "<ul class=\"legend\" id=\"legend\" aria-label=\"legend\">\n"
    "<li><span class=\"swatch applied\">&#x2713;</span> applied</li>\n"
    "<li><span class=\"swatch pending\">&middot;</span> pending</li>\n"
    "<li><span class=\"swatch failed\">&#x2717;</span> failed (named by the tenant's error or "
    "dirty mark)</li>\n"
    "<li><span class=\"swatch unknown\">?</span> unknown row (in SequelizeMeta, no file; extra "
    "columns at the end)</li>\n"
    "<li><span class=\"swatch absent\"></span> row absent</li>\n"
    "<li><span class=\"swatch unread\"></span> not read (tenant unreachable)</li>\n"
    "</ul>\n"
    "<div class=\"scroll\" role=\"region\" aria-labelledby=\"h-matrix\" tabindex=\"0\">\n"
    "<table id=\"matrix\">\n"
    "<caption class=\"meta\">One row per tenant; select a column heading to sort, "
    "&#x25B8; to show a tenant's details.</caption>\n"
    "<thead><tr id=\"matrix-head\"></tr></thead>\n"
    "<tfoot><tr id=\"matrix-foot\"></tr></tfoot>\n"
    "</table>\n"
    "</div>\n"
    "</section>\n"
    "<section aria-labelledby=\"h-skew\">\n"
    "<h2 id=\"h-skew\">Version skew</h2>\n"
    "<table id=\"skew\"><thead><tr><th scope=\"col\">Last applied migration</th>"
    "<th scope=\"col\">Tenants</th><th scope=\"col\"><span class=\"sr\">share</span></th></tr></thead>"
    "<tbody></tbody></table>\n"
    "</section>\n"
    "<section aria-labelledby=\"h-gaps\">\n"
    "<h2 id=\"h-gaps\">Gaps</h2>\n"
    "<p class=\"meta\">Tenants that lack a migration sorting before one they have "
    "(out-of-order history).</p>\n"
    "<ul id=\"gaps\"></ul>\n"
    "</section>\n"
    "<noscript><p>This report is drawn by JavaScript; its data is the JSON in the "
    "drover-data element of this file.</p></noscript>\n"
    "</main>\n"
    "<script type=\"application/json\" id=\"drover-data\">";

/* The page script. Every string from the data goes through textContent or setAttribute.
 * No line comments: the page must contain no "//" at all (the test's no-URL check). */
static const char PAGE_SCRIPT[] =
    "</script>\n"
    "<script>\n"
    "(function () {\n"
    "'use strict';\n"
    "var d = JSON.parse(document.getElementById('drover-data').textContent);\n"
    "var SORT_KEYS = ['id', 'env', 'state', 'applied', 'pending'];\n"
    "var LABELS = {id: 'Tenant', env: 'Env', state: 'State', applied: 'Applied', "
    "pending: 'Pending'};\n"
    "var MARKS = {applied: '\\u2713', pending: '\\u00b7', failed: '\\u2717', unknown: '?', "
    "absent: '', unread: ''};\n"
    "var sortKey = null, sortDesc = false;\n"
    "function $(id) { return document.getElementById(id); }\n"
    "function el(tag, cls, text) {\n"
    "  var e = document.createElement(tag);\n"
    "  if (cls) e.className = cls;\n"
    "  if (text !== undefined && text !== null) e.textContent = String(text);\n"
    "  return e;\n"
    "}\n"
    "function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }\n"
    "function rank(list) { var r = {}; list.forEach(function (v, i) { r[v] = i; }); "
    "return r; }\n"
    "var stateRank = rank(d.states);\n"
    "var envRank = rank(d.environments.map(function (e) { return e.name; }));\n"
    "var extra = [], seen = {};\n"
    "d.tenants.forEach(function (t) {\n"
    "  t.unknown.forEach(function (u) { if (!seen[u]) { seen[u] = true; extra.push(u); } });\n"
    "});\n"
    "extra.sort();\n"
    "var columns = d.migrations.map(function (m) { return {name: m, extra: false}; })\n"
    "  .concat(extra.map(function (u) { return {name: u, extra: true}; }));\n"
    "function cellState(t, c) {\n"
    "  if (c.extra) return t.unknown.indexOf(c.name) >= 0 ? 'unknown'\n"
    "    : t.state === 'unreachable' ? 'unread' : 'absent';\n"
    "  if ((t.error && t.error.migration === c.name) || t.dirty_migration === c.name) "
    "return 'failed';\n"
    "  if (t.applied.indexOf(c.name) >= 0) return 'applied';\n"
    "  if (t.pending.indexOf(c.name) >= 0) return 'pending';\n"
    "  return 'unread';\n"
    "}\n"
    "function header() {\n"
    "  var g = $('generated');\n"
    "  g.textContent = d.generated_at;\n"
    "  g.setAttribute('datetime', d.generated_at);\n"
    "  $('fleet-size').textContent = plural(d.summary.tenants, 'tenant');\n"
    "  $('migration-count').textContent = plural(d.migrations.length, 'migration');\n"
    "  d.states.forEach(function (s) {\n"
    "    var li = el('li');\n"
    "    li.appendChild(el('span', 'badge ' + (d.summary[s] ? 'st-' + s : 'zero'), "
    "d.summary[s] + ' ' + s));\n"
    "    li.setAttribute('data-state', s);\n"
    "    $('totals').appendChild(li);\n"
    "  });\n"
    "}\n"
    "function cards() {\n"
    "  d.environments.forEach(function (env) {\n"
    "    var card = el('section', 'card');\n"
    "    card.setAttribute('data-env', env.name);\n"
    "    card.setAttribute('aria-label', 'environment ' + env.name);\n"
    "    card.appendChild(el('h3', null, env.name));\n"
    "    card.appendChild(el('p', 'total', plural(env.tenants, 'tenant')));\n"
    "    var dl = el('dl');\n"
    "    d.states.forEach(function (s) {\n"
    "      var n = env.by_state[s];\n"
    "      var div = el('div', 'count ' + (n ? 'st-' + s : 'zero'));\n"
    "      div.setAttribute('data-env', env.name);\n"
    "      div.setAttribute('data-state', s);\n"
    "      div.appendChild(el('dt', null, s));\n"
    "      div.appendChild(el('dd', null, n));\n"
    "      dl.appendChild(div);\n"
    "    });\n"
    "    card.appendChild(dl);\n"
    "    $('cards').appendChild(card);\n"
    "  });\n"
    "}\n"
    "function options(id, values) {\n"
    "  values.forEach(function (v) { var o = el('option', null, v); o.value = v; "
    "$(id).appendChild(o); });\n"
    "  $(id).addEventListener('change', apply);\n"
    "}\n"
    "function filters() {\n"
    "  var tags = [], has = {};\n"
    "  d.tenants.forEach(function (t) { t.tags.forEach(function (g) {\n"
    "    if (!has[g]) { has[g] = true; tags.push(g); } }); });\n"
    "  options('filter-env', d.environments.map(function (e) { return e.name; }));\n"
    "  options('filter-state', d.states);\n"
    "  options('filter-tag', tags.sort());\n"
    "}\n"
    "function headRow() {\n"
    "  var tr = $('matrix-head');\n"
    "  SORT_KEYS.forEach(function (k) {\n"
    "    var th = el('th');\n"
    "    th.scope = 'col';\n"
    "    th.setAttribute('data-sort', k);\n"
    "    th.setAttribute('aria-sort', 'none');\n"
    "    var b = el('button', 'sort', LABELS[k]);\n"
    "    b.type = 'button';\n"
    "    b.addEventListener('click', function () {\n"
    "      sortDesc = sortKey === k ? !sortDesc : false;\n"
    "      sortKey = k;\n"
    "      apply();\n"
    "    });\n"
    "    th.appendChild(b);\n"
    "    tr.appendChild(th);\n"
    "  });\n"
    "  columns.forEach(function (c) {\n"
    "    var th = el('th', c.extra ? 'mig extra' : 'mig');\n"
    "    th.scope = 'col';\n"
    "    th.title = c.extra ? 'unknown row: ' + c.name : c.name;\n"
    "    th.appendChild(el('span', null, c.name));\n"
    "    tr.appendChild(th);\n"
    "  });\n"
    "}\n"
    "function footRow() {\n"
    "  var tr = $('matrix-foot');\n"
    "  var th = el('th', null, 'applied on');\n"
    "  th.scope = 'row';\n"
    "  th.colSpan = SORT_KEYS.length;\n"
    "  tr.appendChild(th);\n"
    "  d.coverage.forEach(function (c) {\n"
    "    var td = el('td', 'coverage', c.applied + '/' + c.known);\n"
    "    td.title = c.migration + ': applied on ' + c.applied + ' of ' + c.known + "
    "' readable tenants';\n"
    "    tr.appendChild(td);\n"
    "  });\n"
    "  extra.forEach(function (u) {\n"
    "    var n = d.tenants.filter(function (t) { return t.unknown.indexOf(u) >= 0; }).length;\n"
    "    var td = el('td', 'coverage', n);\n"
    "    td.title = u + ': a row on ' + plural(n, 'tenant') + ' with no file';\n"
    "    tr.appendChild(td);\n"
    "  });\n"
    "}\n"
    "function item(dl, label, value) {\n"
    "  dl.appendChild(el('dt', null, label));\n"
    "  var dd = el('dd');\n"
    "  if (typeof value === 'object') dd.appendChild(value); else dd.textContent = value;\n"
    "  dl.appendChild(dd);\n"
    "}\n"
    "function lines(list, cls, prefix) {\n"
    "  var pre = el('pre', cls);\n"
    "  pre.textContent = list.map(function (l) { return prefix + l; }).join('\\n');\n"
    "  return pre;\n"
    "}\n"
    "function details(t) {\n"
    "  var dl = el('dl');\n"
    "  item(dl, 'database', t.dialect + ' ' + t.url);\n"
    "  if (t.tags.length) item(dl, 'tags', t.tags.join(', '));\n"
    "  if (t.error) {\n"
    "    item(dl, 'error', t.error.message);\n"
    "    if (t.error.statement) item(dl, 'statement', lines([t.error.statement], null, ''));\n"
    "    if (t.error.hint) item(dl, 'hint', t.error.hint);\n"
    "  }\n"
    "  if (t.dirty_migration) item(dl, 'dirty', t.dirty_migration + ' may be half-applied');\n"
    "  if (t.lock_holder) item(dl, 'locked by', t.lock_holder);\n"
    "  if (t.unknown.length) item(dl, 'unknown rows', lines(t.unknown, null, ''));\n"
    "  t.renamed.forEach(function (r) { item(dl, 'renamed', r.row + ' \\u2192 ' + r.file); });\n"
    "  if (t.gap) item(dl, 'gap', 'lacks ' + t.gap_missing.join(', '));\n"
    "  if (t.schema_drift) item(dl, 'schema drift', 'fingerprint ' + t.fingerprint + "
    "' differs from the majority');\n"
    "  if (t.drift_added.length) item(dl, 'schema: extra', lines(t.drift_added, 'added', "
    "'+ '));\n"
    "  if (t.drift_missing.length) item(dl, 'schema: missing', lines(t.drift_missing, "
    "'missing', '- '));\n"
    "  if (t.last_run) item(dl, 'last run', '#' + t.last_run.id + ' ' + t.last_run.outcome + "
    "' at ' + t.last_run.at);\n"
    "  return dl;\n"
    "}\n"
    "function toggle(more, dr, open) {\n"
    "  dr.hidden = !open;\n"
    "  more.setAttribute('aria-expanded', String(open));\n"
    "  more.textContent = open ? '\\u25BE' : '\\u25B8';\n"
    "}\n"
    "function tenantGroup(t, i) {\n"
    "  var tb = el('tbody', 'tenant');\n"
    "  tb.setAttribute('data-id', t.id);\n"
    "  tb.setAttribute('data-env', t.env);\n"
    "  tb.setAttribute('data-state', t.state);\n"
    "  var tr = el('tr', 'row');\n"
    "  var th = el('th');\n"
    "  th.scope = 'row';\n"
    "  var more = el('button', 'more', '\\u25B8');\n"
    "  more.type = 'button';\n"
    "  more.id = 'more-' + i;\n"
    "  more.setAttribute('aria-expanded', 'false');\n"
    "  more.setAttribute('aria-controls', 'details-' + i);\n"
    "  more.setAttribute('aria-label', 'details of ' + t.id);\n"
    "  th.appendChild(more);\n"
    "  th.appendChild(el('span', 'id', t.id));\n"
    "  tr.appendChild(th);\n"
    "  tr.appendChild(el('td', null, t.env));\n"
    "  var st = el('td');\n"
    "  st.appendChild(el('span', 'badge st-' + t.state, t.state));\n"
    "  tr.appendChild(st);\n"
    "  tr.appendChild(el('td', 'num', t.applied.length));\n"
    "  tr.appendChild(el('td', 'num', t.pending.length));\n"
    "  columns.forEach(function (c) {\n"
    "    var s = cellState(t, c);\n"
    "    var td = el('td', 'cell', MARKS[s]);\n"
    "    td.setAttribute('data-state', s);\n"
    "    td.title = t.id + ' \\u00b7 ' + c.name + ': ' + s;\n"
    "    tr.appendChild(td);\n"
    "  });\n"
    "  tb.appendChild(tr);\n"
    "  var dr = el('tr', 'details');\n"
    "  dr.id = 'details-' + i;\n"
    "  dr.hidden = true;\n"
    "  var td = el('td');\n"
    "  td.colSpan = SORT_KEYS.length + columns.length;\n"
    "  td.appendChild(details(t));\n"
    "  dr.appendChild(td);\n"
    "  tb.appendChild(dr);\n"
    "  more.addEventListener('click', function () { toggle(more, dr, dr.hidden); });\n"
    "  return {t: t, i: i, tb: tb, more: more, dr: dr};\n"
    "}\n"
    "var groups = [];\n"
    "function sortValue(t) {\n"
    "  switch (sortKey) {\n"
    "  case 'env': return envRank[t.env];\n"
    "  case 'state': return stateRank[t.state];\n"
    "  case 'applied': return t.applied.length;\n"
    "  case 'pending': return t.pending.length;\n"
    "  default: return t.id;\n"
    "  }\n"
    "}\n"
    "function compare(a, b) {\n"
    "  var x = sortValue(a.t), y = sortValue(b.t);\n"
    "  var r = x < y ? -1 : x > y ? 1 : 0;\n"
    "  return (sortDesc ? -r : r) || a.i - b.i;\n"
    "}\n"
    "function apply() {\n"
    "  var env = $('filter-env').value, state = $('filter-state').value;\n"
    "  var tag = $('filter-tag').value;\n"
    "  var table = $('matrix'), foot = table.tFoot, shown = 0;\n"
    "  var order = groups.slice();\n"
    "  if (sortKey) order.sort(compare);\n"
    "  order.forEach(function (g) {\n"
    "    var t = g.t;\n"
    "    var ok = (!env || t.env === env) && (!state || t.state === state) &&\n"
    "      (!tag || t.tags.indexOf(tag) >= 0);\n"
    "    g.tb.hidden = !ok;\n"
    "    if (ok) shown++;\n"
    "    table.insertBefore(g.tb, foot);\n"
    "  });\n"
    "  Array.prototype.forEach.call(table.tHead.querySelectorAll('th[data-sort]'), "
    "function (th) {\n"
    "    var k = th.getAttribute('data-sort');\n"
    "    th.setAttribute('aria-sort', k !== sortKey ? 'none' : sortDesc ? 'descending' "
    ": 'ascending');\n"
    "  });\n"
    "  $('showing').textContent = 'showing ' + shown + ' of ' + plural(groups.length, "
    "'tenant');\n"
    "}\n"
    "function skew() {\n"
    "  var body = $('skew').tBodies[0], max = 1;\n"
    "  d.heads.forEach(function (h) { if (h.tenants > max) max = h.tenants; });\n"
    "  d.heads.forEach(function (h) {\n"
    "    var tr = el('tr');\n"
    "    var th = el('th', null, h.head === null ? '(none applied)' : h.head);\n"
    "    th.scope = 'row';\n"
    "    tr.appendChild(th);\n"
    "    tr.appendChild(el('td', 'num', h.tenants));\n"
    "    var bar = el('span', 'bar');\n"
    "    bar.style.width = Math.round(200 * h.tenants / max) + 'px';\n"
    "    var td = el('td');\n"
    "    td.appendChild(bar);\n"
    "    tr.appendChild(td);\n"
    "    body.appendChild(tr);\n"
    "  });\n"
    "}\n"
    "function gaps() {\n"
    "  var list = $('gaps');\n"
    "  d.tenants.forEach(function (t) {\n"
    "    if (!t.gap) return;\n"
    "    var li = el('li');\n"
    "    li.setAttribute('data-id', t.id);\n"
    "    li.appendChild(el('code', null, t.id));\n"
    "    li.appendChild(document.createTextNode(' (' + t.env + ') lacks ' + "
    "t.gap_missing.join(', ')));\n"
    "    list.appendChild(li);\n"
    "  });\n"
    "  if (!list.children.length) list.appendChild(el('li', 'none', 'none'));\n"
    "}\n"
    "function fromUrl() {\n"
    "  var q = new URLSearchParams(location.search);\n"
    "  ['env', 'state', 'tag'].forEach(function (k) {\n"
    "    var v = q.get('filter-' + k);\n"
    "    if (v !== null) $('filter-' + k).value = v;\n"
    "  });\n"
    "  var open = q.getAll('open');\n"
    "  groups.forEach(function (g) {\n"
    "    if (open.indexOf(g.t.id) >= 0) toggle(g.more, g.dr, true);\n"
    "  });\n"
    "  var s = q.get('sort');\n"
    "  if (s) {\n"
    "    var desc = s.charAt(0) === '-';\n"
    "    if (desc) s = s.slice(1);\n"
    "    if (SORT_KEYS.indexOf(s) >= 0) { sortKey = s; sortDesc = desc; }\n"
    "  }\n"
    "}\n"
    "header();\n"
    "cards();\n"
    "filters();\n"
    "headRow();\n"
    "footRow();\n"
    "groups = d.tenants.map(tenantGroup);\n"
    "skew();\n"
    "gaps();\n"
    "fromUrl();\n"
    "apply();\n"
    "})();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

static json_t *string_list(const StrList *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->items[i]));
    return a;
}

static json_t *nullable_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* iso_time renders Unix time t as UTC, e.g. 2024-05-01T12:00:00Z. */
static char *iso_time(double t)
{
    time_t secs = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return xstrdup("unknown");
    return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static json_t *by_state_json(const size_t *by_state)
{
    json_t *o = json_object();
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        json_object_set_new(o, exec_state_name((ExecState)s),
                            json_integer((json_int_t)by_state[s]));
    return o;
}

/* gap_missing lists the pending migrations that sort before the tenant's last applied one:
 * what makes its history out of order. */
static json_t *gap_missing(const ExecResult *r)
{
    json_t *a = json_array();
    const char *head = r->have.n ? r->have.items[r->have.n - 1] : NULL;
    for (size_t i = 0; head && i < r->pending.n; i++)
        if (strcmp(r->pending.items[i], head) < 0)
            json_array_append_new(a, json_string(r->pending.items[i]));
    return a;
}

static json_t *last_run_json(const ExecResult *r)
{
    if (!r->last_run_id)
        return json_null();
    char *at = iso_time(r->last_run_at);
    json_t *o = json_pack("{s:I,s:o,s:s}", "id", (json_int_t)r->last_run_id, "outcome",
                          nullable_string(r->last_run_outcome), "at", at);
    free(at);
    return o;
}

/* add_tenant_fields adds what the page shows beyond the status JSON's tenant object. */
static void add_tenant_fields(json_t *t, const ExecResult *r)
{
    json_t *tags = json_array();
    for (size_t i = 0; i < r->tenant->ntags; i++)
        json_array_append_new(tags, json_string(r->tenant->tags[i]));
    json_object_set_new(t, "tags", tags);
    json_object_set_new(t, "gap", json_boolean(r->gap));
    json_object_set_new(t, "gap_missing", gap_missing(r));
    json_object_set_new(t, "lock_holder", nullable_string(r->lock_holder));
    json_object_set_new(t, "schema_drift", json_boolean(r->schema_drift));
    json_object_set_new(t, "fingerprint", nullable_string(r->fingerprint));
    json_object_set_new(t, "drift_added", string_list(&r->drift_added));
    json_object_set_new(t, "drift_missing", string_list(&r->drift_missing));
    json_object_set_new(t, "last_run", last_run_json(r));
}

static json_t *environments_json(const FleetView *v)
{
    json_t *a = json_array();
    for (size_t e = 0; e < v->nenvs; e++)
        json_array_append_new(a, json_pack("{s:s,s:I,s:o}", "name", v->envs[e].name, "tenants",
                                           (json_int_t)v->envs[e].tenants, "by_state",
                                           by_state_json(v->envs[e].by_state)));
    return a;
}

static json_t *coverage_json(const FleetView *v)
{
    json_t *a = json_array();
    for (size_t m = 0; m < v->nmigrations; m++)
        json_array_append_new(a, json_pack("{s:s,s:I,s:I}", "migration", v->migrations[m].name,
                                           "applied", (json_int_t)v->migrations[m].applied,
                                           "known", (json_int_t)v->migrations[m].known));
    return a;
}

static json_t *heads_json(const FleetView *v)
{
    json_t *a = json_array();
    for (size_t h = 0; h < v->nheads; h++)
        json_array_append_new(a, json_pack("{s:o,s:I}", "head", nullable_string(v->heads[h].head),
                                           "tenants", (json_int_t)v->heads[h].tenants));
    return a;
}

static json_t *states_json(void)
{
    json_t *a = json_array();
    for (int s = 0; s < EXEC_STATE_COUNT; s++)
        json_array_append_new(a, json_string(exec_state_name((ExecState)s)));
    return a;
}

/* page_data is the status JSON (so the page shows the same numbers as every other format)
 * plus the fleet views and the per-tenant fields only the page shows. */
static json_t *page_data(const ReportInput *in, const FleetView *view)
{
    ReportInput with_view = *in;
    with_view.view = view;
    json_t *data = report_status_json(&with_view);
    json_t *tenants = json_object_get(data, "tenants");
    for (size_t i = 0; i < in->n; i++)
        add_tenant_fields(json_array_get(tenants, i), &in->res[i]);
    char *at = iso_time(in->generated_at);
    json_object_set_new(data, "generated_at", json_string(at));
    free(at);
    json_object_set_new(data, "states", states_json());
    json_object_set_new(data, "environments", environments_json(view));
    json_object_set_new(data, "coverage", coverage_json(view));
    json_object_set_new(data, "heads", heads_json(view));
    return data;
}

/* write_script_json writes the JSON with every '<' as \u003c: the blob can then neither
 * close its script element ("</script") nor open an HTML comment ("<!--"), whatever a
 * tenant's rows or errors contain. '<' only ever occurs inside JSON strings, where the
 * escape means the same character. */
static bool write_script_json(FILE *out, const json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return false;
    const char *p = text;
    for (const char *lt; (lt = strchr(p, '<')); p = lt + 1) {
        fwrite(p, 1, (size_t)(lt - p), out);
        fputs("\\u003c", out);
    }
    fputs(p, out);
    free(text);
    return true;
}

bool report_status_html(FILE *out, const ReportInput *in)
{
    FleetView own;
    const FleetView *view = in->view;
    if (!view) {
        fleetview_build(in->inv, in->set, in->res, in->n, &own);
        view = &own;
    }
    json_t *data = page_data(in, view);
    fputs(PAGE_HEAD, out);
    bool ok = write_script_json(out, data);
    fputs(PAGE_SCRIPT, out);
    json_decref(data);
    if (view == &own)
        fleetview_free(&own);
    return ok && !ferror(out);
}
