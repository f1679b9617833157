/*
 * Process diagrams with the progress of an instance (bpmn-js NavigatedViewer, no build step).
 *
 * Every element <div class="diagram-panel" data-diagram-src="URL"> on the page (see the macro in
 * templates/_diagram.html) fetches JSON from URL:
 *
 *   {"diagrams": [{"process_id": "...", "name": "...", "xml": "<bpmn:definitions ...>",
 *                  "completed": ["Task_a", ...], "current": ["Task_b", ...]}, ...]}
 *
 * and shows the diagrams, one at a time with a tab bar when there are several. Completed
 * elements get the marker class "done", current ones "current"; a sequence flow is "done" when
 * its source is completed and its target completed or current (styles: css/diagram.css).
 * After each import the panel carries data-diagram-ready="1" and data-diagram-process="<id>";
 * on an error the message is shown in the panel and data-diagram-error="1" is set.
 *
 * Readable by default: the panel opens on the diagram holding the current step (the page's task,
 * data-diagram-focus="<bpmn id>", if given) and shows that step's region near 1:1, centred on its
 * lane (data-diagram-view="focus"); a button switches to the whole diagram and back
 * (data-diagram-view="whole"). A finished instance, with no current step, shows the whole diagram.
 */
(function () {
  'use strict';

  var FONT_FAMILY = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", Arial, sans-serif';

  if (window.greenflowDiagram) { // the macro was used twice on one page: scripts load twice
    window.greenflowDiagram.initAll();
    return;
  }

  function message(panel, key, fallback) {
    return panel.getAttribute('data-msg-' + key) || fallback;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function showStatus(panel, text, isError) {
    var status = panel.querySelector('.diagram-status');
    if (!status) {
      status = element('p', 'diagram-status');
      panel.insertBefore(status, panel.firstChild);
    }
    status.textContent = text || '';
    status.hidden = !text;
    status.classList.toggle('diagram-error', !!isError);
    if (isError) {
      status.setAttribute('role', 'alert');
      panel.setAttribute('data-diagram-error', '1');
    } else {
      status.removeAttribute('role');
    }
  }

  function asList(value) {
    return Array.isArray(value) ? value.filter(function (v) { return typeof v === 'string'; }) : [];
  }

  function validDiagrams(data) {
    if (!data || !Array.isArray(data.diagrams)) {
      throw new Error('unexpected response: no "diagrams" list');
    }
    return data.diagrams.filter(function (d) { return d && typeof d.xml === 'string' && d.xml; });
  }

  /* Marks completed/current elements and the sequence flows taken between them. */
  function applyMarkers(viewer, diagram) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var completed = {};
    var current = {};
    asList(diagram.completed).forEach(function (id) { completed[id] = true; });
    asList(diagram.current).forEach(function (id) { current[id] = true; });

    Object.keys(completed).forEach(function (id) {
      if (registry.get(id) && !current[id]) { canvas.addMarker(id, 'done'); }
    });
    Object.keys(current).forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, 'current'); }
    });
    registry.filter(function (el) { return el.type === 'bpmn:SequenceFlow'; }).forEach(function (flow) {
      var bo = flow.businessObject || {};
      var source = bo.sourceRef && bo.sourceRef.id;
      var target = bo.targetRef && bo.targetRef.id;
      if (source && target && completed[source] && (completed[target] || current[target])) {
        canvas.addMarker(flow.id, 'done');
      }
    });
  }

  var MIN_HEIGHT = 240;
  var MAX_HEIGHT = 560;
  var FOCUS_HEIGHT = 300;   /* the current step's region, readable: at most 1:1, at least half size */
  var FOCUS_PADDING = 60;
  var FOCUS_MIN_SCALE = 0.5;

  /* The shapes of ``ids`` drawn in the viewer (ids of other diagrams are skipped). */
  function shapesOf(viewer, ids) {
    var registry = viewer.get('elementRegistry');
    return ids.map(function (id) { return registry.get(id); })
      .filter(function (el) { return el && el.waypoints === undefined && el.width > 0; });
  }

  function boundsOf(shapes) {
    var x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    shapes.forEach(function (el) {
      x1 = Math.min(x1, el.x); y1 = Math.min(y1, el.y);
      x2 = Math.max(x2, el.x + el.width); y2 = Math.max(y2, el.y + el.height);
    });
    return {x: x1, y: y1, width: x2 - x1, height: y2 - y1};
  }

  /* The smallest lane (or pool) around a point: the region the current step belongs to. */
  function laneAround(viewer, cx, cy) {
    var best = null;
    viewer.get('elementRegistry').filter(function (el) {
      return el.type === 'bpmn:Lane' || el.type === 'bpmn:Participant';
    }).forEach(function (el) {
      if (cx >= el.x && cx <= el.x + el.width && cy >= el.y && cy <= el.y + el.height &&
          (!best || el.width * el.height < best.width * best.height)) { best = el; }
    });
    return best;
  }

  /* Shows the current step(s) readable: near 1:1, centred, with their lane when it fits. False if
     none of ``ids`` is in this diagram. */
  function focusOn(viewer, container, ids) {
    var shapes = shapesOf(viewer, ids);
    if (!shapes.length) { return false; }
    var canvas = viewer.get('canvas');
    container.style.height = FOCUS_HEIGHT + 'px';
    canvas.resized();
    var box = boundsOf(shapes);
    var width = container.clientWidth || 600;
    var height = container.clientHeight || FOCUS_HEIGHT;
    var scale = Math.min(1, width / (box.width + 2 * FOCUS_PADDING), height / (box.height + 2 * FOCUS_PADDING));
    scale = Math.max(FOCUS_MIN_SCALE, scale);
    var viewWidth = width / scale;
    var viewHeight = height / scale;
    var cx = box.x + box.width / 2;
    var cy = box.y + box.height / 2;
    var lane = laneAround(viewer, cx, cy);
    if (lane && lane.height <= viewHeight) { cy = lane.y + lane.height / 2; }
    canvas.viewbox({x: cx - viewWidth / 2, y: cy - viewHeight / 2, width: viewWidth, height: viewHeight});
    return true;
  }

  /* Gives the canvas the height the diagram needs at the panel's width (within bounds), then fits. */
  function fit(viewer, container) {
    var canvas = viewer.get('canvas');
    var inner = canvas.viewbox().inner;
    if (container && inner && inner.width > 0 && container.clientWidth > 0) {
      var wanted = Math.round(container.clientWidth * inner.height / inner.width) + 60;
      container.style.height = Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, wanted)) + 'px';
      canvas.resized();
    }
    canvas.zoom('fit-viewport', 'auto');
  }

  function toolbar(panel, viewer, container) {
    var bar = element('div', 'diagram-toolbar');
    [['zoom-in', '+', function () { viewer.get('zoomScroll').stepZoom(1); }],
      ['zoom-out', '\u2212', function () { viewer.get('zoomScroll').stepZoom(-1); }],
      ['fit', '\u2922', function () { panel.greenflowDiagram.showWhole(); }]].forEach(function (spec) {
      var button = element('button', 'diagram-' + spec[0], spec[1]);
      button.type = 'button';
      button.title = message(panel, spec[0], spec[0]);
      button.setAttribute('aria-label', button.title);
      button.addEventListener('click', spec[2]);
      bar.appendChild(button);
    });
    return bar;
  }

  function Panel(node) {
    this.node = node;
    this.viewer = null;
    this.diagrams = [];
    this.tabs = [];
    this.canvas = null;
    this.index = -1;
    this.token = 0;
    this.focusId = node.getAttribute('data-diagram-focus') || '';
    this.whole = false;  /* false: the current step's region (the default); true: the whole diagram */
    this.toggle = null;
  }

  /* The focus: the page's task if this diagram has it, else the diagram's current elements. */
  Panel.prototype.focusIds = function (diagram) {
    var current = asList(diagram.current);
    if (this.focusId && current.indexOf(this.focusId) >= 0) { return [this.focusId]; }
    return current;
  };

  /* The diagram to open with: the one holding the page's task, else the first with a current step. */
  Panel.prototype.firstIndex = function () {
    var self = this;
    var found = -1;
    this.diagrams.forEach(function (d, i) {
      if (found < 0 && self.focusId && asList(d.current).indexOf(self.focusId) >= 0) { found = i; }
    });
    this.diagrams.forEach(function (d, i) { if (found < 0 && asList(d.current).length) { found = i; } });
    return found >= 0 ? found : 0;
  };

  Panel.prototype.layout = function () {
    var diagram = this.diagrams[this.index];
    var focused = !this.whole && diagram && focusOn(this.viewer, this.canvas, this.focusIds(diagram));
    if (!focused) { fit(this.viewer, this.canvas); }
    this.node.setAttribute('data-diagram-view', focused ? 'focus' : 'whole');
    if (this.toggle) {
      var canFocus = diagram && shapesOf(this.viewer, this.focusIds(diagram)).length > 0;
      this.toggle.hidden = !canFocus;
      this.toggle.textContent = focused ? message(this.node, 'whole', 'Whole diagram') : message(this.node, 'focus', 'Current step');
    }
  };

  Panel.prototype.showWhole = function () {
    this.whole = true;
    this.layout();
  };

  Panel.prototype.fail = function (err) {
    var detail = err && err.message ? err.message : String(err);
    this.node.setAttribute('data-diagram-ready', '0');
    showStatus(this.node, message(this.node, 'error', 'The diagram could not be shown') + ': ' + detail, true);
    if (window.console && console.warn) { console.warn('diagram:', err); }
  };

  Panel.prototype.start = function () {
    var self = this;
    var node = this.node;
    var fallback = node.querySelector('.diagram-fallback');
    if (fallback) { fallback.hidden = true; }
    node.setAttribute('data-diagram-ready', '0');
    if (typeof window.BpmnJS !== 'function') {
      showStatus(node, message(node, 'missing', 'The diagram viewer (bpmn-js) is not installed'), true);
      return Promise.resolve();
    }
    var src = node.getAttribute('data-diagram-src');
    if (!src) {
      this.fail(new Error('no data-diagram-src'));
      return Promise.resolve();
    }
    showStatus(node, message(node, 'loading', 'Loading…'), false);
    return window.fetch(src, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.json();
      })
      .then(function (data) { return self.show(data); })
      .catch(function (err) { self.fail(err); });
  };

  /* Renders already fetched data (also used by tests). */
  Panel.prototype.show = function (data) {
    var node = this.node;
    this.diagrams = validDiagrams(data);
    if (!this.diagrams.length) {
      node.setAttribute('data-diagram-ready', '1');
      showStatus(node, message(node, 'empty', 'No diagram'), false);
      return Promise.resolve();
    }
    this.build();
    return this.select(this.firstIndex());
  };

  Panel.prototype.build = function () {
    var self = this;
    var node = this.node;
    if (!node.querySelector('.diagram-status')) { showStatus(node, '', false); }
    var old = node.querySelector('.diagram-tabs');
    if (old) { old.parentNode.removeChild(old); }
    this.tabs = [];
    if (this.diagrams.length > 1) {
      var bar = element('div', 'diagram-tabs');
      bar.setAttribute('role', 'tablist');
      this.diagrams.forEach(function (diagram, i) {
        var tab = element('button', 'diagram-tab', diagram.name || diagram.process_id || String(i + 1));
        tab.type = 'button';
        tab.setAttribute('role', 'tab');
        tab.setAttribute('data-process-id', diagram.process_id || '');
        tab.addEventListener('click', function () { self.select(i); });
        bar.appendChild(tab);
        self.tabs.push(tab);
      });
      node.insertBefore(bar, node.querySelector('.diagram-status').nextSibling);
    }
    if (!this.canvas) {
      this.canvas = element('div', 'diagram-canvas');
      node.insertBefore(this.canvas, node.querySelector('.diagram-legend')); // null: at the end
      this.viewer = new window.BpmnJS({
        container: this.canvas,
        textRenderer: {defaultStyle: {fontFamily: FONT_FAMILY}, externalStyle: {fontFamily: FONT_FAMILY}}
      });
      this.canvas.appendChild(toolbar(node, this.viewer, this.canvas));
      this.toggle = element('button', 'diagram-toggle secondary');
      this.toggle.type = 'button';
      this.toggle.setAttribute('data-testid', 'diagram-toggle');
      this.toggle.addEventListener('click', function () {
        self.whole = !self.whole;
        self.layout();
      });
      node.insertBefore(this.toggle, this.canvas);
      var timer = null;
      window.addEventListener('resize', function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          if (self.node.getAttribute('data-diagram-ready') === '1') { self.layout(); }
        }, 150);
      });
    }
    var legend = node.querySelector('.diagram-legend');
    if (legend) { legend.hidden = false; }
  };

  Panel.prototype.select = function (i) {
    var self = this;
    var node = this.node;
    var diagram = this.diagrams[i];
    var token = ++this.token;
    this.index = i;
    this.tabs.forEach(function (tab, j) {
      tab.classList.toggle('active', j === i);
      tab.setAttribute('aria-selected', j === i ? 'true' : 'false');
    });
    node.setAttribute('data-diagram-ready', '0');
    node.removeAttribute('data-diagram-error');
    node.setAttribute('data-diagram-process', diagram.process_id || '');
    return this.viewer.importXML(diagram.xml)
      .then(function () {
        if (token !== self.token) { return; } // another tab was chosen meanwhile
        applyMarkers(self.viewer, diagram);
        self.layout();
        showStatus(node, '', false);
        node.setAttribute('data-diagram-ready', '1');
      })
      .catch(function (err) {
        if (token === self.token) { self.fail(err); }
      });
  };

  function initPanel(node) {
    if (node.getAttribute('data-diagram-init')) { return null; }
    node.setAttribute('data-diagram-init', '1');
    var panel = new Panel(node);
    node.greenflowDiagram = panel;
    try {
      panel.start();
    } catch (err) { // never let an exception escape into the page
      panel.fail(err);
    }
    return panel;
  }

  function initAll() {
    var nodes = document.querySelectorAll('.diagram-panel[data-diagram-src]');
    for (var i = 0; i < nodes.length; i += 1) { initPanel(nodes[i]); }
  }

  window.greenflowDiagram = {initAll: initAll, initPanel: initPanel, Panel: Panel};

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', initAll);
  } else {
    initAll();
  }
}());
