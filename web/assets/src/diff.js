/*
 * The version diff for server pages (web/static/vendor/modeler/diff.js + diff.css), e.g.
 * /modeler/<key>/versions/<a>/diff/<b>. It draws (src/diff-view.js) every
 *
 *   <div class="modeler-diff" data-diff-src="…/api/<key>/diff?from=1&to=2"></div>
 *        the JSON of GET /modeler/api/<key>/diff: {"from": {"version", "xml"}, "to": {"version"|"draft", "xml"}, …}
 *   <div class="bpmn-diff" data-from-url="…" data-to-url="…" data-from-label="v1" data-to-label="v2"></div>
 *        two URLs answering BPMN XML (or JSON with an "xml" key)
 *
 * on the page. The element gets data-diff-ready="1" (or data-diff-error="1" with the message).
 * Labels follow <html lang>: Chinese unless it starts with "en"; data-from-label / data-to-label
 * override the pane titles. A .diagram-fallback child (the no-JavaScript text) is hidden.
 */
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import './diff.css';

import { renderDiff, renderFormChanges, compare, lineDiff } from './diff-view.js';
import { createTranslate } from './i18n/translate.js';

export { renderDiff, renderFormChanges, compare, lineDiff };

export function fetchXml(url) {
  return window.fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json, application/xml, text/xml' } })
    .then(function(response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status + ' ' + url); }
      var type = response.headers.get('Content-Type') || '';
      return type.indexOf('json') >= 0
        ? response.json().then(function(data) { return data.xml; })
        : response.text();
    });
}

function fetchPair(node) {
  var src = node.getAttribute('data-diff-src');
  if (src) {
    return window.fetch(src, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function(response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status + ' ' + src); }
        return response.json();
      })
      .then(function(data) {
        var to = data.to || {};
        return {
          before: data.from.xml, after: to.xml,
          beforeLabel: 'v' + data.from.version,
          afterLabel: to.version ? 'v' + to.version : null
        };
      });
  }
  return Promise.all([fetchXml(node.getAttribute('data-from-url')), fetchXml(node.getAttribute('data-to-url'))])
    .then(function(xmls) { return { before: xmls[0], after: xmls[1] }; });
}

export function init(node) {
  if (node.getAttribute('data-diff-init')) { return null; }
  node.setAttribute('data-diff-init', '1');
  var translate = createTranslate(document.documentElement.lang || 'zh');
  var fallback = node.querySelector('.diagram-fallback');
  if (fallback) { fallback.hidden = true; }
  return fetchPair(node)
    .then(function(pair) {
      return renderDiff(node, pair.before, pair.after, {
        translate: translate,
        labels: {
          before: node.getAttribute('data-from-label') || pair.beforeLabel,
          after: node.getAttribute('data-to-label') || pair.afterLabel
        }
      });
    })
    .catch(function(err) {
      node.setAttribute('data-diff-error', '1');
      if (!node.querySelector('.gf-diff-error')) {
        var p = document.createElement('p');
        p.className = 'gf-diff-error';
        p.setAttribute('role', 'alert');
        p.textContent = translate('The diff could not be shown') + ': ' + (err && err.message || err);
        node.appendChild(p);
      }
    });
}

export function initAll() {
  Array.prototype.forEach.call(
    document.querySelectorAll('.bpmn-diff[data-from-url][data-to-url], .modeler-diff[data-diff-src]'), init);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', initAll);
} else {
  initAll();
}
