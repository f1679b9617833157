/*
 * The auditors' step-through page (templates/audit/instance.html).
 *
 * - The step slider goes to the chosen step as soon as it is let go (without JavaScript, the
 *   "前往" button does the same). Each step is a page of its own, folded from the stored history
 *   on the server: moving never re-executes anything.
 * - The diagram (js/diagram.js) marks completed and current elements; this adds the marker
 *   "waiting" to the elements that were waiting at that moment (timers, message catches, joins),
 *   from the "waiting" list the step's diagram.json gives for each diagram.
 */
(function () {
  'use strict';

  function initSlider() {
    var slider = document.getElementById('step-slider');
    if (!slider || !slider.form) { return; }
    slider.addEventListener('change', function () { slider.form.submit(); });
  }

  function markWaiting(node) {
    var panel = node.greenflowDiagram;
    if (!panel || !panel.viewer || panel.index < 0) { return; }
    var diagram = panel.diagrams[panel.index] || {};
    var waiting = Array.isArray(diagram.waiting) ? diagram.waiting : [];
    var canvas = panel.viewer.get('canvas');
    var registry = panel.viewer.get('elementRegistry');
    waiting.forEach(function (id) {
      if (typeof id === 'string' && registry.get(id)) {
        canvas.removeMarker(id, 'current');
        canvas.addMarker(id, 'waiting');
      }
    });
    node.setAttribute('data-waiting-marked', String(waiting.length));
  }

  function watchDiagrams() {
    var nodes = document.querySelectorAll('.diagram-panel');
    Array.prototype.forEach.call(nodes, function (node) {
      var observer = new MutationObserver(function () {
        if (node.getAttribute('data-diagram-ready') === '1') { markWaiting(node); }
      });
      observer.observe(node, {attributes: true, attributeFilter: ['data-diagram-ready']});
      if (node.getAttribute('data-diagram-ready') === '1') { markWaiting(node); }
    });
  }

  function init() {
    initSlider();
    watchDiagrams();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
