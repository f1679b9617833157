/*
 * The process owners' modeler page (templates/modeler/edit.html), on top of the bundle
 * static/vendor/modeler/modeler.js (global GreenflowModeler, built from web/assets/src by
 * scripts/setup_assets.sh). JSON contract with the server: docs/modeler.md.
 *
 *   load      GET meta + GET draft -> bpmn-js Modeler with our properties panel and bpmnlint
 *   edit      every change marks the page unsaved; the draft is saved AUTOSAVE_MS after the last
 *             change (PUT draft with row_version; a 409 stops autosave and says why), Ctrl+S saves
 *   problems  bpmnlint live + the server's validation (file, element, line); a click selects the
 *             element (or opens the form)
 *   forms     a JSON editor per form of the draft, with the preview the server renders with the
 *             officials' form code (POST form-preview)
 *   diff      saves, then GET diff -> two viewers side by side, coloured, and the changed forms
 *   deploy    saves, asks for a change note, POST deploy; 409 base_changed -> review the diff, then
 *             confirm with confirm_base; 422 -> the problems, the first element selected
 *
 * State for tests on #modeler: data-ready="1", data-dirty="0|1", data-saving="1",
 * data-row-version, data-lint-count, data-validated="1"; node.greenflowModeler = {modeler, …}.
 */
(function () {
  'use strict';

  var root = document.getElementById('modeler');
  if (!root) { return; }
  var M = window.GreenflowModeler;
  var AUTOSAVE_MS = parseInt(root.getAttribute('data-autosave-ms') || '3000', 10);
  var PREVIEW_MS = 500;
  var FORM_NAME = /^[A-Za-z0-9_-]+\.schema\.json$/;
  var FIELD_KEY = /^[A-Za-z][A-Za-z0-9_]*$/;

  var messagesNode = root.querySelector('.modeler-messages');
  function msg(key, values) {
    var text = messagesNode.getAttribute('data-m-' + key) || key;
    return text.replace(/{([^}]+)}/g, function (_, k) { return values && k in values ? values[k] : '{' + k + '}'; });
  }
  function $(selector, scope) { return (scope || root).querySelector(selector); }
  function $$(selector, scope) { return Array.prototype.slice.call((scope || root).querySelectorAll(selector)); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function url(name) { return root.getAttribute('data-url-' + name); }

  var lang = root.getAttribute('data-lang') || 'zh';
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var state = {
    key: root.getAttribute('data-process'),
    latest: parseInt(root.getAttribute('data-latest-version'), 10) || null,
    base: parseInt(root.getAttribute('data-base-version'), 10) || null,
    rowVersion: null,
    bpmnPath: null,
    meta: {},
    forms: {},
    savedForms: '{}',
    changeSeq: 0,
    savedSeq: 0,
    saving: null,
    autosaveTimer: null,
    conflict: false,
    lint: [],
    server: [],
    imported: [],
    currentForm: null,
    editor: null,
    previewTimer: null,
    previewSeq: 0,
    confirmBase: null,
    modeler: null
  };
  var translate = M ? M.translate(lang) : function (s) { return s; };

  /* ------------------------------------------------------------------ server */

  function api(method, target, body) {
    var headers = { Accept: 'application/json' };
    if (method !== 'GET') { headers['X-CSRFToken'] = csrf; }
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    return window.fetch(target, {
      method: method, credentials: 'same-origin', headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      var type = response.headers.get('Content-Type') || '';
      var parse = type.indexOf('json') >= 0 ? response.json() : response.text().then(function (t) { return { message: t }; });
      return parse.catch(function () { return {}; }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data || {} };
      });
    }, function () {
      return { status: 0, ok: false, data: { error: 'network', message: msg('network') } };
    });
  }

  /* ------------------------------------------------------------------ status line and alerts */

  function setState(text, kind) {
    var node = $('.modeler-state');
    node.textContent = text || '';
    node.className = 'modeler-state' + (kind ? ' ' + kind : '');
  }

  /* Shows a transient status ("正在校验…"); the function returned puts the one before back,
     unless something (a save) has said something newer meanwhile. */
  function transientState(text) {
    var node = $('.modeler-state');
    var before = node.textContent;
    var kind = node.className.replace('modeler-state', '').trim();
    setState(text, 'saving');
    return function () {
      if (node.textContent === text) { setState(before, kind); }
      refreshDirty();
    };
  }

  function isDirty() {
    return state.changeSeq !== state.savedSeq;
  }

  function refreshDirty() {
    var dirty = isDirty();
    root.setAttribute('data-dirty', dirty ? '1' : '0');
    document.title = (dirty ? '● ' : '') + document.title.replace(/^● /, '');
    if (state.saving) {
      setState(msg('saving'), 'saving');
    } else if (state.conflict) {
      setState(msg('conflict'), 'error');
    } else if (dirty) {
      setState(msg('unsaved'), 'unsaved');
    }
  }

  function alertBox(text, options) {
    options = options || {};
    var box = $('.modeler-alert');
    $('.modeler-alert-text', box).textContent = text;
    box.classList.toggle('error', !options.success);
    box.classList.toggle('success', !!options.success);
    $('[data-action="reload-draft"]', box).hidden = !options.reload;
    box.hidden = false;
  }

  function clearAlert() {
    $('.modeler-alert').hidden = true;
  }

  function timeText(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) { d = new Date(); }
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  /* Fits the diagram into the canvas, right of the palette. */
  function fit() {
    var canvas = state.modeler.get('canvas');
    var container = $('.modeler-canvas');
    canvas.resized();
    canvas.zoom('fit-viewport');
    var inner = canvas.viewbox().inner;
    var width = container.clientWidth;
    var height = container.clientHeight;
    var left = 140;
    var pad = 30;
    if (!inner || !inner.width || !inner.height || width <= left + pad || height <= 2 * pad) { return; }
    var scale = Math.min((width - left - pad) / inner.width, (height - 2 * pad) / inner.height, 1);
    canvas.viewbox({
      x: inner.x - left / scale,
      y: inner.y - (height / scale - inner.height) / 2,
      width: width / scale,
      height: height / scale
    });
  }

  /* ------------------------------------------------------------------ load */

  function fail(text) {
    var canvas = $('.modeler-canvas');
    var p = el('p', 'modeler-load-error error', text);
    p.setAttribute('role', 'alert');
    canvas.textContent = '';
    canvas.appendChild(p);
    root.setAttribute('data-ready', '0');
    root.setAttribute('data-error', '1');
  }

  function start() {
    var fallback = $('.modeler-fallback');
    if (fallback) { fallback.hidden = true; }
    if (!M || typeof M.createModeler !== 'function') {
      fail(msg('missing'));
      return;
    }
    setState(msg('loading'), 'saving');
    $('[data-testid="lint-config"]').textContent = msg('lint-config', { source: M.lintConfigSource });
    Promise.all([api('GET', url('meta')), api('GET', url('draft'))]).then(function (results) {
      var meta = results[0];
      var draft = results[1];
      if (!meta.ok) { throw new Error(meta.data.message || 'HTTP ' + meta.status); }
      if (!draft.ok) { throw new Error(draft.data.message || 'HTTP ' + draft.status); }
      state.meta = meta.data;
      state.meta.draftForms = [];
      build();
      return load(draft.data);
    }).catch(function (err) {
      fail(msg('load-error') + ': ' + (err && err.message || err));
    });
  }

  function build() {
    var modeler = state.modeler = M.createModeler({
      container: $('.modeler-canvas'),
      propertiesParent: $('.modeler-properties'),
      meta: state.meta,
      lang: lang
    });
    modeler.on('commandStack.changed', function (event) {
      if (event && event.trigger === 'clear') { return; }
      changed();
    });
    modeler.on('linting.completed', function (event) { onLint(event.issues || {}); });
    modeler.on('greenflow.form.edit', function (event) { openForm(event.filename, true); });
    modeler.on('greenflow.form.create', function (event) { openNewFormDialog(event.element); });
    root.greenflowModeler = { modeler: modeler, state: state, save: save, validate: validate, selectElement: selectElement };
  }

  function load(data) {
    state.rowVersion = data.row_version === undefined ? null : data.row_version;
    state.base = data.base_version || state.base;
    state.latest = data.latest_version || state.latest;
    state.bpmnPath = data.bpmn_path || null;
    state.forms = data.forms || {};
    state.savedForms = JSON.stringify(state.forms);
    state.meta.draftForms = Object.keys(state.forms);
    root.setAttribute('data-row-version', state.rowVersion === null ? '' : String(state.rowVersion));
    root.setAttribute('data-latest-version', String(state.latest || ''));
    root.setAttribute('data-base-version', String(state.base || ''));
    return state.modeler.importXML(data.xml).then(function (result) {
      state.imported = (result.warnings || []).filter(function (w) { return !M.isRestorable(w); }).map(function (w) {
        return { source: 'import', severity: 'warning', message: w.message,
                 element_id: w.element && w.element.id || null, file: state.bpmnPath };
      });
      state.changeSeq = 0;
      state.savedSeq = 0;
      state.server = [];
      fit();
      fillFormSelect();
      if (state.currentForm && !state.forms[state.currentForm]) { state.currentForm = null; }
      showForm(state.currentForm || Object.keys(state.forms).sort()[0] || null);
      renderProblems();
      setState(state.rowVersion === null ? msg('no-draft', { n: state.base || state.latest })
        : msg('saved', { time: timeText(data.updated_at) }), 'saved');
      refreshDirty();
      root.setAttribute('data-ready', '1');
    });
  }

  function reloadDraft() {
    clearAlert();
    state.conflict = false;
    return api('GET', url('draft')).then(function (response) {
      if (!response.ok) { throw new Error(response.data.message || 'HTTP ' + response.status); }
      state.modeler.get('eventBus').fire('propertiesPanel.providersChanged');
      return load(response.data);
    }).catch(function (err) { alertBox(msg('load-error') + ': ' + (err && err.message || err)); });
  }

  /* ------------------------------------------------------------------ changes and saving */

  function changed() {
    state.changeSeq += 1;
    refreshDirty();
    window.clearTimeout(state.autosaveTimer);
    if (!state.conflict) {
      state.autosaveTimer = window.setTimeout(function () { save(); }, AUTOSAVE_MS);
    }
  }

  function save() {
    window.clearTimeout(state.autosaveTimer);
    if (state.conflict) { return Promise.reject(new Error(msg('conflict'))); }
    if (state.saving) { // one at a time; save again afterwards if something changed meanwhile
      return state.saving.then(function () { return isDirty() ? save() : null; });
    }
    if (!isDirty()) { return Promise.resolve(null); } // nothing new (and no draft needed yet)
    var seq = state.changeSeq;
    root.setAttribute('data-saving', '1');
    state.saving = state.modeler.saveXML({ format: true }).then(function (result) {
      refreshDirty();
      return api('PUT', url('draft'), { xml: result.xml, forms: state.forms, row_version: state.rowVersion });
    }).then(function (response) {
      if (response.ok) {
        state.rowVersion = response.data.row_version;
        state.savedSeq = seq;
        state.savedForms = JSON.stringify(state.forms);
        root.setAttribute('data-row-version', String(state.rowVersion));
        setState(msg('saved', { time: timeText(response.data.updated_at) }), 'saved');
        markFormsSaved();
        return response;
      }
      if (response.status === 409) {
        state.conflict = true;
        alertBox(response.data.message || msg('conflict'), { reload: true });
        setState(msg('conflict'), 'error');
        throw new Error(response.data.message || msg('conflict'));
      }
      setState(msg('save-failed'), 'error');
      alertBox(msg('save-failed') + ': ' + (response.data.message || 'HTTP ' + response.status));
      throw new Error(response.data.message || 'HTTP ' + response.status);
    });
    var done = function () {
      state.saving = null;
      root.removeAttribute('data-saving');
      refreshDirty();
    };
    state.saving.then(done, done);
    return state.saving;
  }

  /* ------------------------------------------------------------------ problems */

  function onLint(issues) {
    var list = [];
    Object.keys(issues).forEach(function (id) {
      (issues[id] || []).forEach(function (issue) {
        list.push({ source: 'lint', severity: issue.category === 'warn' ? 'warning' : issue.category,
                    message: translate(issue.message), rule: issue.rule, element_id: id, file: state.bpmnPath });
      });
    });
    state.lint = list;
    root.setAttribute('data-lint-count', String(list.length));
    renderProblems();
  }

  function elementLabel(id) {
    if (!id) { return msg('process-level'); }
    var element = state.modeler && state.modeler.get('elementRegistry').get(id);
    var name = element && element.businessObject && element.businessObject.name;
    return name ? name + ' (' + id + ')' : id;
  }

  function isFormFile(file) {
    return !!file && /\.json$/.test(file);
  }

  function renderProblems() {
    var all = state.server.concat(state.imported, state.lint);
    var order = { error: 0, warning: 1, info: 2 };
    all.sort(function (a, b) { return (order[a.severity] || 0) - (order[b.severity] || 0); });
    var list = $('.modeler-dock .problems');
    list.textContent = '';
    all.forEach(function (problem) {
      var item = el('li', 'problem problem-' + (problem.severity || 'error') + ' problem-' + problem.source);
      item.tabIndex = 0;
      item.setAttribute('data-element-id', problem.element_id || '');
      item.setAttribute('data-source', problem.source);
      if (problem.rule) { item.setAttribute('data-rule', problem.rule); }
      item.appendChild(el('span', 'problem-severity', msg(problem.severity === 'error' ? 'error' : 'warning')));
      item.appendChild(el('span', 'problem-message', problem.message));
      var where = el('span', 'problem-where muted');
      var parts = [];
      if (problem.element_id || !isFormFile(problem.file)) { parts.push(elementLabel(problem.element_id)); }
      if (problem.file) { parts.push(problem.file.replace(/^.*\//, '')); }
      if (problem.line) { parts.push(msg('line', { n: problem.line })); }
      parts.push(msg('source-' + problem.source));
      where.textContent = parts.join(' · ');
      item.appendChild(where);
      function activate() {
        $$('.problem.selected').forEach(function (n) { n.classList.remove('selected'); });
        item.classList.add('selected');
        if (problem.element_id && selectElement(problem.element_id)) { return; }
        if (isFormFile(problem.file)) { openForm(problem.file.replace(/^.*\//, ''), true); }
      }
      item.addEventListener('click', activate);
      item.addEventListener('keydown', function (e) { if (e.key === 'Enter') { activate(); } });
      list.appendChild(item);
    });
    $('.problems-empty').hidden = all.length > 0;
    var errors = all.filter(function (p) { return p.severity === 'error'; }).length;
    var count = $('[data-testid="problem-count"]');
    count.textContent = String(all.length);
    count.classList.toggle('has-errors', errors > 0);
  }

  function selectElement(id) {
    var modeler = state.modeler;
    var registry = modeler.get('elementRegistry');
    var element = registry.get(id);
    if (!element) {
      // a participant's process: select the participant
      element = registry.filter(function (e) {
        return e.businessObject && e.businessObject.processRef && e.businessObject.processRef.id === id;
      })[0];
    }
    if (!element) { return false; }
    var canvas = modeler.get('canvas');
    if (element.type !== 'bpmn:Process' && element.type !== 'bpmn:Collaboration') {
      canvas.scrollToElement(element, { top: 120, bottom: 120, left: 200, right: 200 });
    }
    modeler.get('selection').select(element);
    canvas.addMarker(element, 'gf-problem-focus');
    window.setTimeout(function () { canvas.removeMarker(element, 'gf-problem-focus'); }, 2500);
    return true;
  }

  function markServerErrors(problems) {
    var canvas = state.modeler.get('canvas');
    var registry = state.modeler.get('elementRegistry');
    registry.forEach(function (e) { canvas.removeMarker(e, 'gf-server-error'); });
    problems.forEach(function (p) {
      if (p.element_id && p.severity !== 'warning' && registry.get(p.element_id)) {
        canvas.addMarker(p.element_id, 'gf-server-error');
      }
    });
  }

  function showServerProblems(problems) {
    state.server = (problems || []).map(function (p) {
      return { source: 'server', severity: p.severity || 'error', message: p.message, element_id: p.element_id || null,
               file: p.file || null, line: p.line || null };
    });
    markServerErrors(state.server);
    renderProblems();
    showTab('problems');
    var first = state.server.filter(function (p) { return p.severity !== 'warning'; })[0] || state.server[0];
    if (first) {
      var item = $$('.modeler-dock .problem-server')[0];
      if (first.element_id && selectElement(first.element_id)) {
        if (item) { item.classList.add('selected'); }
      } else if (isFormFile(first.file)) {
        openForm(first.file.replace(/^.*\//, ''), false);
      }
    }
  }

  function validate() {
    var restore = transientState(msg('validating'));
    root.removeAttribute('data-validated');
    return state.modeler.saveXML({ format: true }).then(function (result) {
      return api('POST', url('validate'), { xml: result.xml, forms: state.forms });
    }).then(function (response) {
      if (!response.ok) {
        alertBox(response.data.message || 'HTTP ' + response.status);
        restore();
        return null;
      }
      var problems = response.data.problems || [];
      showServerProblems(problems);
      var errors = problems.filter(function (p) { return p.severity !== 'warning'; }).length;
      if (errors) {
        alertBox(msg('invalid', { n: problems.length }));
      } else {
        alertBox(msg('valid'), { success: true });
      }
      restore();
      root.setAttribute('data-validated', errors ? 'errors' : '1');
      return problems;
    });
  }

  /* ------------------------------------------------------------------ the dock */

  function showTab(name) {
    $$('.dock-tab').forEach(function (tab) {
      var active = tab.getAttribute('data-tab') === name;
      tab.classList.toggle('active', active);
      tab.setAttribute('aria-selected', active ? 'true' : 'false');
    });
    $$('.dock-panel').forEach(function (panel) { panel.hidden = panel.getAttribute('data-panel') !== name; });
    if (name === 'forms' && state.editor) { state.editor.view.requestMeasure(); }
  }

  /* ------------------------------------------------------------------ forms */

  function pretty(value) { return JSON.stringify(value, null, 2); }

  function fillFormSelect() {
    var select = $('#form-file');
    var saved = JSON.parse(state.savedForms || '{}');
    select.textContent = '';
    var names = Object.keys(state.forms).sort();
    if (!names.length) { select.appendChild(el('option', null, msg('form-none'))); }
    names.forEach(function (name) {
      var option = el('option', null, name);
      option.value = name;
      if (JSON.stringify(saved[name]) !== JSON.stringify(state.forms[name])) {
        option.textContent = name + ' · ' + msg('form-changed');
      }
      select.appendChild(option);
    });
    if (state.currentForm) { select.value = state.currentForm; }
  }

  function markFormsSaved() { fillFormSelect(); }

  function ensureEditor() {
    if (state.editor) { return state.editor; }
    state.editor = M.createJsonEditor($('.json-editor'), { value: '', onChange: onEditorChange, label: 'JSON Schema' });
    return state.editor;
  }

  function showForm(name) {
    state.currentForm = name;
    var editor = ensureEditor();
    var errorNode = $('[data-testid="form-json-error"]');
    errorNode.hidden = true;
    if (!name) {
      editor.setValue('');
      $('[data-testid="form-preview-box"]').textContent = '';
      $('[data-testid="form-status"]').textContent = '';
      return;
    }
    $('#form-file').value = name;
    if (!state.forms[name]) {
      editor.setValue('');
      $('[data-testid="form-status"]').textContent = msg('form-not-loaded');
      $('[data-testid="form-preview-box"]').textContent = '';
      return;
    }
    $('[data-testid="form-status"]').textContent = '';
    editor.setValue(pretty(state.forms[name]));
    preview();
  }

  function openForm(name, focus) {
    showTab('forms');
    if (name && !state.forms[name]) {
      fillFormSelect();
      var select = $('#form-file');
      var option = el('option', null, name);
      option.value = name;
      select.appendChild(option);
    }
    showForm(name);
    if (focus && state.editor) { state.editor.focus(); }
  }

  function onEditorChange(text) {
    var name = state.currentForm;
    var errorNode = $('[data-testid="form-json-error"]');
    if (!name) { return; }
    var value;
    try {
      value = JSON.parse(text);
    } catch (err) {
      errorNode.textContent = msg('json-error', { e: err.message });
      errorNode.hidden = false;
      return;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      errorNode.textContent = msg('schema-object');
      errorNode.hidden = false;
      return;
    }
    errorNode.hidden = true;
    if (JSON.stringify(value) === JSON.stringify(state.forms[name])) { return; }
    state.forms[name] = value;
    fillFormSelect();
    changed();
    window.clearTimeout(state.previewTimer);
    state.previewTimer = window.setTimeout(preview, PREVIEW_MS);
  }

  function preview() {
    var name = state.currentForm;
    var box = $('[data-testid="form-preview-box"]');
    if (!name || !state.forms[name]) { return Promise.resolve(); }
    var seq = ++state.previewSeq;
    box.setAttribute('aria-busy', 'true');
    return api('POST', url('form-preview'), { schema: state.forms[name] }).then(function (response) {
      if (seq !== state.previewSeq) { return; }
      box.removeAttribute('aria-busy');
      if (response.ok && typeof response.data.html === 'string') {
        box.innerHTML = response.data.html; // rendered by our server's templates (autoescaped)
        box.setAttribute('data-form', name);
      } else {
        box.textContent = '';
        var p = el('p', 'error', msg('preview-error', { e: response.data.message || 'HTTP ' + response.status }));
        box.appendChild(p);
      }
    });
  }

  var newFormFor = null;

  function openNewFormDialog(element) {
    newFormFor = element || null;
    var dialog = $('[data-testid="new-form-dialog"]');
    var name = $('#new-form-name');
    var title = $('#new-form-title');
    var bo = element && element.businessObject;
    var base = bo && bo.id ? bo.id.replace(/[^A-Za-z0-9_-]/g, '_') : 'form';
    name.value = state.forms[base + '.schema.json'] ? '' : base + '.schema.json';
    title.value = bo && bo.name || '';
    $('.new-form-error', dialog).hidden = true;
    dialog.showModal();
    name.focus();
  }

  function createForm(event) {
    event.preventDefault();
    var dialog = $('[data-testid="new-form-dialog"]');
    var error = $('.new-form-error', dialog);
    var name = $('#new-form-name').value.trim();
    var title = $('#new-form-title').value.trim();
    var existing = (state.meta.forms || []).map(function (f) { return typeof f === 'string' ? f : f.name; });
    if (!FORM_NAME.test(name)) {
      error.textContent = msg('form-name-invalid');
      error.hidden = false;
      return;
    }
    if (state.forms[name] || existing.indexOf(name) >= 0) {
      error.textContent = msg('form-exists');
      error.hidden = false;
      return;
    }
    state.forms[name] = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: title || name.replace(/\.schema\.json$/, ''),
      type: 'object',
      additionalProperties: false,
      required: [],
      properties: {}
    };
    state.meta.draftForms = Object.keys(state.forms);
    dialog.close();
    if (newFormFor) {
      M.setProperty(state.modeler, newFormFor, 'formJsonSchemaFilename', name); // a change: saves the draft
    } else {
      changed();
    }
    state.modeler.get('eventBus').fire('propertiesPanel.providersChanged');
    fillFormSelect();
    openForm(name, false);
    newFormFor = null;
  }

  function addField() {
    var box = $('[data-testid="add-field"]');
    var key = $('[name="field-key"]', box).value.trim();
    var title = $('[name="field-title"]', box).value.trim();
    var type = $('[name="field-type"]', box).value;
    var required = $('[name="field-required"]', box).checked;
    var errorNode = $('[data-testid="form-json-error"]');
    var name = state.currentForm;
    if (!name || !state.forms[name]) { return; }
    if (!FIELD_KEY.test(key)) {
      errorNode.textContent = msg('field-key-invalid');
      errorNode.hidden = false;
      return;
    }
    var schema = JSON.parse(JSON.stringify(state.forms[name]));
    schema.properties = schema.properties || {};
    if (schema.properties[key]) {
      errorNode.textContent = msg('field-exists');
      errorNode.hidden = false;
      return;
    }
    var prop = { title: title || key };
    if (type === 'text') { prop.type = 'string'; prop.maxLength = 200; }
    if (type === 'textarea') { prop.type = 'string'; prop.maxLength = 2000; prop['x-widget'] = 'textarea'; }
    if (type === 'integer') { prop.type = 'integer'; }
    if (type === 'number') { prop.type = 'number'; }
    if (type === 'date') { prop.type = 'string'; prop.format = 'date'; }
    if (type === 'boolean') { prop.type = 'boolean'; }
    if (type === 'file') {
      prop.type = 'string';
      prop.pattern = '^(sha256:[0-9a-f]{64}|[^/\\\\]+\\.(pdf|PDF))$';
      prop['x-widget'] = 'file';
      prop['x-accept'] = ['.pdf'];
    }
    if (required && type === 'text') { prop.pattern = '\\S'; }
    schema.properties[key] = prop;
    if (required) {
      schema.required = (schema.required || []).concat([key]);
    }
    if (Array.isArray(schema['x-order'])) { schema['x-order'].push(key); }
    state.editor.setValue(pretty(schema));
    onEditorChange(state.editor.getValue());
    $('[name="field-key"]', box).value = '';
    $('[name="field-title"]', box).value = '';
    $('[name="field-required"]', box).checked = false;
  }

  /* ------------------------------------------------------------------ diff and deploy */

  function loadDiff() {
    return save().then(function () {
      if (state.rowVersion === null) { return null; }
      var base = state.base || state.latest;
      return api('GET', url('diff') + '?from=' + encodeURIComponent(base) + '&to=draft');
    }).then(function (response) {
      if (response && !response.ok) { throw new Error(response.data.message || 'HTTP ' + response.status); }
      return response ? response.data : null;
    });
  }

  function showDiff() {
    var dialog = $('[data-testid="diff-dialog"]');
    var diagram = $('[data-testid="diff-diagram"]');
    var forms = $('[data-testid="diff-forms"]');
    diagram.textContent = msg('loading');
    forms.textContent = '';
    if (!dialog.open) { dialog.showModal(); }
    return loadDiff().then(function (data) {
      var fromXml;
      var toXml;
      var before = state.base || state.latest;
      if (data) {
        fromXml = data.from.xml;
        toXml = data.to.xml;
        before = data.from.version;
      }
      $('[data-testid="diff-versions"]').textContent = msg('diff-versions', { a: before, b: msg('draft') });
      var ready = fromXml ? Promise.resolve() : state.modeler.saveXML({ format: true }).then(function (r) {
        fromXml = r.xml;
        toXml = r.xml;
      });
      return ready.then(function () {
        return M.renderDiff(diagram, fromXml, toXml, {
          translate: translate, labels: { before: msg('before', { n: before }), after: msg('after') }
        });
      }).then(function () {
        M.renderFormChanges(forms, data ? data.forms || [] : [], translate);
        dialog.setAttribute('data-diff-ready', '1');
      });
    }).catch(function (err) {
      diagram.textContent = '';
      var p = el('p', 'error', (err && err.message) || String(err));
      p.setAttribute('role', 'alert');
      diagram.appendChild(p);
    });
  }

  function openDeploy() {
    var dialog = $('[data-testid="deploy-dialog"]');
    var diffDialog = $('[data-testid="diff-dialog"]');
    if (diffDialog.open) { diffDialog.close(); }
    $('[data-testid="deploy-error"]').hidden = true;
    $('.deploy-problems', dialog).hidden = true;
    $('[data-testid="deploy-review-diff"]').hidden = state.confirmBase === null;
    $('[data-testid="deploy-summary"]').textContent = '';
    dialog.showModal();
    $('#deploy-note').focus();
    // what will change (the note should say it): counts from the diff against the base
    loadDiff().then(function (data) {
      if (!data) { return null; }
      var moddle = state.modeler.get('moddle');
      return moddle.fromXML(data.from.xml, 'bpmn:Definitions').then(function (parsed) {
        var changes = M.compare(parsed.rootElement, state.modeler.getDefinitions());
        $('[data-testid="deploy-summary"]').textContent = msg('summary', {
          added: changes.added.length, removed: changes.removed.length,
          changed: Object.keys(changes.changed).length, forms: (data.forms || []).length
        });
      });
    }).catch(function () { /* the summary is a courtesy */ });
  }

  function deploy(event) {
    if (event) { event.preventDefault(); }
    var dialog = $('[data-testid="deploy-dialog"]');
    var note = $('#deploy-note').value.trim();
    var errorBox = $('[data-testid="deploy-error"]');
    var problemsList = $('.deploy-problems', dialog);
    errorBox.hidden = true;
    problemsList.hidden = true;
    if (!note) {
      errorBox.textContent = msg('note-required');
      errorBox.hidden = false;
      $('#deploy-note').focus();
      return Promise.resolve(null);
    }
    var button = $('[data-testid="confirm-deploy"]');
    button.disabled = true;
    var restore = transientState(msg('deploying'));
    var body = { note: note };
    if (state.confirmBase !== null) { body.confirm_base = state.confirmBase; }
    return save().then(function () {
      return api('POST', url('deploy'), body);
    }).then(function (response) {
      button.disabled = false;
      if (response.ok) {
        dialog.close();
        state.confirmBase = null;
        $('#deploy-note').value = '';
        var text = response.data.created === false ? msg('unchanged') : msg('deployed', { n: response.data.version });
        return reloadDraft().then(function () {
          alertBox(text, { success: true });
          $('[data-testid="version-info"]').textContent = $('[data-testid="version-info"]').textContent
            .replace(/\d+\s*$/, String(state.latest));
          root.setAttribute('data-deployed-version', String(response.data.version || ''));
        });
      }
      restore();
      errorBox.textContent = response.data.message || 'HTTP ' + response.status;
      errorBox.hidden = false;
      if (response.status === 409 && response.data.error === 'base_changed') {
        state.confirmBase = response.data.latest_version;
        state.latest = response.data.latest_version;
        $('[data-testid="deploy-review-diff"]').hidden = false;
        button.textContent = msg('confirm-base', { n: response.data.latest_version });
      }
      var problems = response.data.problems || [];
      if (problems.length) {
        errorBox.textContent = msg('deploy-refused') + '（' + (response.data.message || '') + '）';
        problemsList.textContent = '';
        problems.forEach(function (p) {
          var li = el('li', 'problem problem-' + (p.severity || 'error'));
          li.textContent = [p.message, p.element_id, p.file, p.line ? msg('line', { n: p.line }) : '']
            .filter(Boolean).join(' · ');
          problemsList.appendChild(li);
        });
        problemsList.hidden = false;
        showServerProblems(problems);
      }
      return null;
    }).catch(function (err) {
      button.disabled = false;
      restore();
      errorBox.textContent = (err && err.message) || String(err);
      errorBox.hidden = false;
    });
  }

  /* ------------------------------------------------------------------ files */

  function download(name, type, text) {
    var blob = new Blob([text], { type: type });
    var link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
  }

  function openFile(file) {
    if (!file) { return; }
    file.text().then(function (text) {
      if (/\.json$/i.test(file.name)) {
        var schema = JSON.parse(text);
        if (!FORM_NAME.test(file.name)) { throw new Error(msg('form-name-invalid')); }
        state.forms[file.name] = schema;
        state.meta.draftForms = Object.keys(state.forms);
        changed();
        openForm(file.name, false);
      } else {
        return state.modeler.importXML(text).then(function () {
          fit();
          changed();
        });
      }
    }).then(function () {
      alertBox(msg('uploaded', { name: file.name }), { success: true });
    }).catch(function (err) {
      alertBox(msg('upload-error') + ': ' + (err && err.message || err));
    });
  }

  function discard() {
    if (!window.confirm(msg('discard-confirm'))) { return; }
    window.clearTimeout(state.autosaveTimer);
    api('DELETE', url('draft')).then(function (response) {
      if (response.ok) {
        state.changeSeq = state.savedSeq;
        window.location.reload();
      } else {
        alertBox(response.data.message || 'HTTP ' + response.status);
      }
    });
  }

  /* ------------------------------------------------------------------ wiring */

  var actions = {
    save: function () { save().catch(function () {}); },
    validate: function () { validate(); },
    diff: function () {
      var deployDialog = $('[data-testid="deploy-dialog"]');
      if (deployDialog.open) { deployDialog.close(); }
      showDiff();
    },
    deploy: openDeploy,
    undo: function () { state.modeler.get('commandStack').undo(); },
    redo: function () { state.modeler.get('commandStack').redo(); },
    'zoom-in': function () { state.modeler.get('zoomScroll').stepZoom(1); },
    'zoom-out': function () { state.modeler.get('zoomScroll').stepZoom(-1); },
    fit: fit,
    'download-bpmn': function () {
      state.modeler.saveXML({ format: true }).then(function (r) {
        download((state.bpmnPath || state.key + '.bpmn').replace(/^.*\//, ''), 'application/xml', r.xml);
      });
    },
    'download-svg': function () {
      state.modeler.saveSVG().then(function (r) { download(state.key + '.svg', 'image/svg+xml', r.svg); });
    },
    discard: discard,
    'new-form': function () { openNewFormDialog(null); },
    'add-field': addField,
    'reload-draft': reloadDraft,
    'dismiss-alert': clearAlert,
    'close-dialog': function (event) {
      var dialog = event.target.closest('dialog');
      if (dialog) { dialog.close(); }
    }
  };

  root.addEventListener('click', function (event) {
    var button = event.target.closest('[data-action]');
    if (!button || !root.contains(button) || button.getAttribute('data-action') === 'confirm-deploy') { return; }
    var action = actions[button.getAttribute('data-action')];
    if (!action) { return; }
    if (!state.modeler && ['dismiss-alert', 'close-dialog'].indexOf(button.getAttribute('data-action')) < 0) { return; }
    event.preventDefault();
    action(event);
  });
  $('.deploy-form').addEventListener('submit', deploy);
  $('.new-form-form').addEventListener('submit', createForm);
  $$('.dock-tab').forEach(function (tab) {
    tab.addEventListener('click', function () { showTab(tab.getAttribute('data-tab')); });
  });
  $('#form-file').addEventListener('change', function (event) { showForm(event.target.value); });
  $('#modeler-open-file').addEventListener('change', function (event) {
    openFile(event.target.files && event.target.files[0]);
    event.target.value = '';
  });
  document.addEventListener('keydown', function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === 's' || event.key === 'S')) {
      event.preventDefault();
      if (state.modeler) { save().catch(function () {}); }
    }
  });
  window.addEventListener('beforeunload', function (event) {
    if (state.modeler && (isDirty() || state.saving)) {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
