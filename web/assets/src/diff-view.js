/*
 * The visual diff of two versions of a diagram: two NavigatedViewers side by side (before left,
 * after right) moving together, elements coloured (added green, removed red, changed amber,
 * moved blue), and a list of the changes; clicking one selects it in both viewers.
 *
 * bpmn-js-differ finds added / removed / moved elements; what changed inside an element is
 * compared here, property by property, including our extensions (form, due days, role, scope,
 * operator and parameters, script, condition, timer, message variable) which the differ does not
 * look into.
 *
 *   renderDiff(container, beforeXml, afterXml, {labels: {before, after}, translate})
 *     -> Promise<{added: [id], removed: [id], changed: {id: [{key, before, after}]}, layout: [id]}>
 */
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { diff } from 'bpmn-js-differ';
import { is } from 'bpmn-js/lib/util/ModelUtil';

import spiffModdle from './spiff-properties/spiffworkflow.json';
import { restoreUnresolvedRefs } from './spiff-properties/unresolved-refs.mjs';

export var FONT_FAMILY = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", Arial, sans-serif';

function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

function newViewer(container) {
  var viewer = new NavigatedViewer({
    container: container,
    moddleExtensions: { spiffworkflow: spiffModdle },
    textRenderer: { defaultStyle: { fontFamily: FONT_FAMILY }, externalStyle: { fontFamily: FONT_FAMILY } }
  });
  viewer.on('import.parse.complete', function(event) {
    if (event.definitions) { restoreUnresolvedRefs(viewer.get('moddle'), event.warnings); }
  });
  return viewer;
}

/* ------------------------------------------------------------ what an element says */

function bodyOf(expression) {
  return expression && expression.get ? (expression.get('body') || '') : '';
}

/* A flat {key: text} of everything about an element a process owner cares about. */
export function detailsOf(bo) {
  var out = {};
  function put(key, value) {
    if (value !== undefined && value !== null && value !== '') { out[key] = String(value); }
  }
  put('name', bo.get('name'));
  (bo.get('documentation') || []).forEach(function(d, i) { put(i ? 'documentation' + i : 'documentation', d.get('text')); });
  if (is(bo, 'bpmn:ScriptTask')) { put('script', bo.get('script')); }
  if (is(bo, 'bpmn:SequenceFlow')) {
    put('condition', bodyOf(bo.get('conditionExpression')));
    put('source', bo.get('sourceRef') && bo.get('sourceRef').id);
    put('target', bo.get('targetRef') && bo.get('targetRef').id);
  }
  if (is(bo, 'bpmn:CallActivity')) { put('calledElement', bo.get('calledElement')); }
  if (bo.$descriptor && bo.$descriptor.propertiesByName['default'] && bo.get('default')) {
    put('default', bo.get('default').id);
  }
  (bo.$descriptor && bo.$descriptor.propertiesByName.eventDefinitions ? bo.get('eventDefinitions') || [] : [])
    .forEach(function(def) {
      if (is(def, 'bpmn:TimerEventDefinition')) {
        ['timeDate', 'timeDuration', 'timeCycle'].forEach(function(type) { put('timer.' + type, bodyOf(def.get(type))); });
      }
      if (is(def, 'bpmn:MessageEventDefinition')) {
        put('message', def.get('messageRef') && (def.get('messageRef').get('name') || def.get('messageRef').id));
        extension(def).forEach(function(v) {
          if (is(v, 'spiffworkflow:MessageVariable')) { put('messageVariable', v.get('value')); }
        });
      }
    });
  extension(bo).forEach(function(v) {
    if (is(v, 'spiffworkflow:Properties')) {
      (v.get('properties') || []).forEach(function(p) { put('property.' + p.get('name'), p.get('value')); });
    } else if (is(v, 'spiffworkflow:ServiceTaskOperator')) {
      put('operator', v.get('id'));
      put('resultVariable', v.get('resultVariable'));
      var list = v.get('parameterList');
      (list ? list.get('parameters') || [] : []).forEach(function(p) { put('parameter.' + p.get('id'), p.get('value')); });
    }
  });
  return out;
}

function extension(bo) {
  var ext = bo.get && bo.$descriptor && bo.$descriptor.propertiesByName.extensionElements ? bo.get('extensionElements') : null;
  return ext ? ext.get('values') || [] : [];
}

function collect(definitions) {
  var byId = {};
  var seen = new Set();
  function visit(element) {
    if (!element || typeof element !== 'object' || seen.has(element) || !element.$descriptor) { return; }
    seen.add(element);
    if (element.id && isAnyTracked(element)) { byId[element.id] = element; }
    element.$descriptor.properties.forEach(function(p) {
      if (p.isReference || p.isAttr || p.isVirtual) { return; }
      var value = element.get(p.name);
      if (Array.isArray(value)) { value.forEach(visit); } else if (value && typeof value === 'object') { visit(value); }
    });
  }
  visit(definitions);
  return byId;
}

function isAnyTracked(element) {
  return ['bpmn:FlowElement', 'bpmn:Lane', 'bpmn:Participant', 'bpmn:MessageFlow', 'bpmn:Process']
    .some(function(type) { return is(element, type); });
}

/* The changes from `before` to `after` (two bpmn:Definitions). */
export function compare(before, after) {
  var result = diff(before, after);
  var a = collect(before);
  var b = collect(after);
  var changed = {};
  Object.keys(b).forEach(function(id) {
    if (!a[id]) { return; }
    var da = detailsOf(a[id]);
    var db = detailsOf(b[id]);
    var keys = Object.keys(Object.assign({}, da, db)).sort();
    var list = keys.filter(function(k) { return da[k] !== db[k]; }).map(function(k) {
      return { key: k, before: da[k] === undefined ? null : da[k], after: db[k] === undefined ? null : db[k] };
    });
    if (a[id].$type !== b[id].$type) {
      list.unshift({ key: 'type', before: a[id].$type, after: b[id].$type });
    }
    if (list.length) { changed[id] = list; }
  });
  // anything else the differ saw (e.g. a multi-instance collection)
  Object.keys(result._changed).forEach(function(id) {
    if (!changed[id] && a[id] && b[id]) { changed[id] = [{ key: 'other', before: null, after: null }]; }
  });
  var added = Object.keys(result._added).filter(function(id) { return b[id] && !a[id]; });
  var removed = Object.keys(result._removed).filter(function(id) { return a[id] && !b[id]; });
  Object.keys(b).forEach(function(id) { if (!a[id] && added.indexOf(id) < 0) { added.push(id); } });
  Object.keys(a).forEach(function(id) { if (!b[id] && removed.indexOf(id) < 0) { removed.push(id); } });
  var layout = Object.keys(result._layoutChanged).filter(function(id) {
    return !changed[id] && added.indexOf(id) < 0 && removed.indexOf(id) < 0 && a[id] && b[id];
  });
  return { added: added, removed: removed, changed: changed, layout: layout, before: a, after: b };
}

/* ------------------------------------------------------------ the view */

var KEY_LABELS = {
  name: 'Name', documentation: 'Documentation', script: 'Script', condition: 'Condition', source: 'Source',
  target: 'Target', calledElement: 'Called process (id)', 'default': 'Default flow', message: 'Message',
  messageVariable: 'Message variable', operator: 'Service (operator)', resultVariable: 'Result variable',
  type: 'Type', other: 'Other properties',
  'timer.timeDate': 'Timer expression', 'timer.timeDuration': 'Timer expression', 'timer.timeCycle': 'Timer expression',
  'property.role': 'Role', 'property.roleExpression': 'Role expression', 'property.scope': 'Scope expression',
  'property.formJsonSchemaFilename': 'Form (JSON Schema)', 'property.formUiSchemaFilename': 'UI hints file (optional)',
  'property.dueInWorkingDays': 'Due in working days', 'property.dueInDays': 'Due in calendar days (old)',
  'property.schedule': 'Schedule', 'property.scheduleCatchUpDays': 'Catch-up days'
};

export function keyLabel(key, translate) {
  if (KEY_LABELS[key]) { return translate(KEY_LABELS[key]); }
  if (key.indexOf('parameter.') === 0) { return translate('Parameter {name}', { name: key.slice(10) }); }
  if (key.indexOf('property.') === 0) { return translate('Property {name}', { name: key.slice(9) }); }
  return key;
}

function displayName(bo) {
  if (!bo) { return ''; }
  if (bo.get('name')) { return bo.get('name'); }
  if (is(bo, 'bpmn:SequenceFlow') && bo.get('sourceRef') && bo.get('targetRef')) {
    var source = bo.get('sourceRef');
    var target = bo.get('targetRef');
    return (source.get('name') || source.id) + ' → ' + (target.get('name') || target.id);
  }
  return '';
}

function typeLabel(bo, translate) {
  var type = (bo.$type || '').replace(/^bpmn:/, '');
  var words = type.replace(/([a-z])([A-Z])/g, '$1 $2');
  var label = words.charAt(0) + words.slice(1).toLowerCase();
  var translated = translate(label);
  return translated !== label ? translated : type;
}

function syncViewboxes(left, right) {
  var busy = false;
  function follow(from, to) {
    from.on('canvas.viewbox.changed', function(event) {
      if (busy) { return; }
      busy = true;
      try { to.get('canvas').viewbox(event.viewbox); } finally { busy = false; }
    });
  }
  follow(left, right);
  follow(right, left);
}

function mark(viewer, ids, marker) {
  var registry = viewer.get('elementRegistry');
  var canvas = viewer.get('canvas');
  ids.forEach(function(id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
}

export function renderDiff(container, beforeXml, afterXml, options) {
  options = options || {};
  var translate = options.translate || function(s, r) {
    return String(s).replace(/{([^}]+)}/g, function(_, k) { return r && k in r ? r[k] : '{' + k + '}'; });
  };
  var labels = options.labels || {};
  container.textContent = '';
  container.classList.add('gf-diff');
  container.setAttribute('data-diff-ready', '0');

  var legend = el('ul', 'gf-diff-legend');
  [['added', 'Added'], ['removed', 'Removed'], ['changed', 'Changed'], ['layout', 'Moved']].forEach(function(pair) {
    var item = el('li', 'gf-diff-legend-' + pair[0]);
    item.appendChild(el('span', 'gf-diff-swatch'));
    item.appendChild(document.createTextNode(translate(pair[1])));
    legend.appendChild(item);
  });
  var panes = el('div', 'gf-diff-panes');
  var left = el('section', 'gf-diff-pane gf-diff-before');
  var right = el('section', 'gf-diff-pane gf-diff-after');
  left.appendChild(el('h3', 'gf-diff-title', labels.before || translate('Before')));
  right.appendChild(el('h3', 'gf-diff-title', labels.after || translate('After')));
  var leftCanvas = el('div', 'gf-diff-canvas');
  var rightCanvas = el('div', 'gf-diff-canvas');
  left.appendChild(leftCanvas);
  right.appendChild(rightCanvas);
  panes.appendChild(left);
  panes.appendChild(right);
  var list = el('div', 'gf-diff-changes');
  container.appendChild(legend);
  container.appendChild(panes);
  container.appendChild(list);

  var before = newViewer(leftCanvas);
  var after = newViewer(rightCanvas);

  return Promise.all([before.importXML(beforeXml), after.importXML(afterXml)]).then(function() {
    var changes = compare(before.getDefinitions(), after.getDefinitions());
    mark(before, changes.removed, 'diff-removed');
    mark(before, Object.keys(changes.changed), 'diff-changed');
    mark(after, changes.added, 'diff-added');
    mark(after, Object.keys(changes.changed), 'diff-changed');
    mark(after, changes.layout, 'diff-layout');
    mark(before, changes.layout, 'diff-layout');
    after.get('canvas').zoom('fit-viewport', 'auto');
    before.get('canvas').viewbox(after.get('canvas').viewbox());
    syncViewboxes(before, after);
    renderList(list, changes, before, after, translate);
    container.setAttribute('data-diff-ready', '1');
    container.setAttribute('data-diff-count', String(changes.added.length + changes.removed.length
      + Object.keys(changes.changed).length + changes.layout.length));
    container.greenflowDiff = { before: before, after: after, changes: changes };
    return changes;
  }).catch(function(err) {
    container.setAttribute('data-diff-error', '1');
    var p = el('p', 'gf-diff-error', translate('The diff could not be shown') + ': ' + (err && err.message || err));
    p.setAttribute('role', 'alert');
    container.insertBefore(p, container.firstChild);
    throw err;
  });
}

function renderList(list, changes, before, after, translate) {
  list.textContent = '';
  var rows = [];
  changes.added.forEach(function(id) { rows.push({ id: id, kind: 'added', bo: changes.after[id] }); });
  changes.removed.forEach(function(id) { rows.push({ id: id, kind: 'removed', bo: changes.before[id] }); });
  Object.keys(changes.changed).forEach(function(id) {
    rows.push({ id: id, kind: 'changed', bo: changes.after[id], details: changes.changed[id] });
  });
  changes.layout.forEach(function(id) { rows.push({ id: id, kind: 'layout', bo: changes.after[id] }); });
  if (!rows.length) {
    list.appendChild(el('p', 'gf-diff-none', translate('No changes to the diagram')));
    return;
  }
  var table = el('table', 'gf-diff-table');
  var head = el('tr');
  ['Change', 'Element', 'Type', 'Details'].forEach(function(h) { head.appendChild(el('th', null, translate(h))); });
  var thead = el('thead');
  thead.appendChild(head);
  table.appendChild(thead);
  var tbody = el('tbody');
  var KIND = { added: 'Added', removed: 'Removed', changed: 'Changed', layout: 'Moved' };
  rows.forEach(function(row) {
    var tr = el('tr', 'gf-diff-row gf-diff-row-' + row.kind);
    tr.setAttribute('data-element-id', row.id);
    tr.setAttribute('data-change', row.kind);
    tr.tabIndex = 0;
    var kind = el('td', 'gf-diff-kind');
    kind.appendChild(el('span', 'gf-diff-badge gf-diff-badge-' + row.kind, translate(KIND[row.kind])));
    tr.appendChild(kind);
    var name = el('td', 'gf-diff-element');
    name.appendChild(el('span', 'gf-diff-name', displayName(row.bo) || row.id));
    name.appendChild(el('code', 'gf-diff-id', row.id));
    tr.appendChild(name);
    tr.appendChild(el('td', 'gf-diff-type', row.bo ? typeLabel(row.bo, translate) : ''));
    var details = el('td', 'gf-diff-details');
    if (row.kind === 'added' && row.bo) { // what the new element says
      var said = detailsOf(row.bo);
      row.details = Object.keys(said).filter(function(k) {
        return ['name', 'source', 'target', 'documentation'].indexOf(k) < 0;
      }).map(function(k) { return { key: k, before: null, after: said[k], added: true }; });
    }
    (row.details || []).forEach(function(d) {
      var line = el('div', 'gf-diff-detail');
      line.appendChild(el('span', 'gf-diff-key', keyLabel(d.key, translate) + '：'));
      if (d.added) {
        line.appendChild(el('ins', null, d.after));
      } else if (d.key !== 'other') {
        line.appendChild(el('del', null, d.before === null ? '—' : d.before));
        line.appendChild(document.createTextNode(' → '));
        line.appendChild(el('ins', null, d.after === null ? '—' : d.after));
      }
      details.appendChild(line);
    });
    tr.appendChild(details);
    function reveal() {
      [before, after].forEach(function(viewer) {
        var registry = viewer.get('elementRegistry');
        var element = registry.get(row.id);
        var canvas = viewer.get('canvas');
        registry.forEach(function(e) { canvas.removeMarker(e, 'diff-focus'); });
        if (element) {
          canvas.addMarker(element, 'diff-focus');
          canvas.scrollToElement(element);
        }
      });
      Array.prototype.forEach.call(tbody.querySelectorAll('.gf-diff-row'), function(r) { r.classList.toggle('selected', r === tr); });
    }
    tr.addEventListener('click', reveal);
    tr.addEventListener('keydown', function(e) { if (e.key === 'Enter') { reveal(); } });
    tbody.appendChild(tr);
  });
  table.appendChild(tbody);
  list.appendChild(table);
}

/* ------------------------------------------------------------ forms: a line diff of JSON text */

export function lineDiff(beforeText, afterText) {
  var a = beforeText ? beforeText.split('\n') : [];
  var b = afterText ? afterText.split('\n') : [];
  var n = a.length;
  var m = b.length;
  if (n * m > 4000000) { // too big for LCS: show both whole
    return a.map(function(l) { return { op: '-', text: l }; }).concat(b.map(function(l) { return { op: '+', text: l }; }));
  }
  var lcs = [];
  for (var i = 0; i <= n; i += 1) { lcs.push(new Int32Array(m + 1)); }
  for (i = n - 1; i >= 0; i -= 1) {
    for (var j = m - 1; j >= 0; j -= 1) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  var out = [];
  i = 0;
  j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push({ op: ' ', text: a[i] }); i += 1; j += 1; } else if (lcs[i + 1][j] >= lcs[i][j + 1]) { out.push({ op: '-', text: a[i] }); i += 1; } else { out.push({ op: '+', text: b[j] }); j += 1; }
  }
  while (i < n) { out.push({ op: '-', text: a[i] }); i += 1; }
  while (j < m) { out.push({ op: '+', text: b[j] }); j += 1; }
  return out;
}

function pretty(value) {
  if (value === null || value === undefined) { return ''; }
  if (typeof value === 'string') {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; }
  }
  return JSON.stringify(value, null, 2);
}

/*
 * The changed forms: [{name, change: "added"|"removed"|"changed", before, after}] as a list of
 * <details> with a line diff each (unchanged stretches folded to 3 lines of context).
 */
export function renderFormChanges(container, forms, translate) {
  container.textContent = '';
  if (!forms || !forms.length) {
    container.appendChild(el('p', 'gf-diff-none', translate('No form changed')));
    return;
  }
  var CHANGE = { added: 'Added', removed: 'Removed', changed: 'Changed' };
  forms.forEach(function(form) {
    var box = el('details', 'gf-form-change gf-form-change-' + (form.change || 'changed'));
    box.open = true;
    box.setAttribute('data-form', form.name);
    var summary = el('summary');
    summary.appendChild(el('span', 'gf-diff-badge gf-diff-badge-' + (form.change || 'changed'),
      translate(CHANGE[form.change] || 'Changed')));
    summary.appendChild(el('code', null, form.name));
    box.appendChild(summary);
    var pre = el('pre', 'gf-line-diff');
    var lines = lineDiff(pretty(form.before), pretty(form.after));
    var CONTEXT = 3;
    var keep = lines.map(function(l, i) {
      if (l.op !== ' ') { return true; }
      for (var k = Math.max(0, i - CONTEXT); k <= Math.min(lines.length - 1, i + CONTEXT); k += 1) {
        if (lines[k].op !== ' ') { return true; }
      }
      return false;
    });
    var skipped = false;
    lines.forEach(function(l, i) {
      if (!keep[i]) {
        if (!skipped) { pre.appendChild(el('span', 'gf-line gf-line-skip', '…')); }
        skipped = true;
        return;
      }
      skipped = false;
      var cls = l.op === '+' ? 'gf-line gf-line-add' : l.op === '-' ? 'gf-line gf-line-del' : 'gf-line';
      pre.appendChild(el('span', cls, l.op + ' ' + l.text));
    });
    box.appendChild(pre);
    container.appendChild(box);
  });
}
