/*
 * A small JSON editor (CodeMirror 6: line numbers, JSON highlighting, brackets, undo) for the
 * form editor of the modeler page.
 *
 * It lives in a shadow root of `parent`: CodeMirror adds its styles as <style> elements to a
 * document (refused by our Content-Security-Policy, style-src 'self'), but as constructed style
 * sheets (adoptedStyleSheets, which the policy allows) to a shadow root.
 *
 *   var editor = createJsonEditor(parent, {value: '{…}', onChange: function(text) {…}, label: '…'});
 *   editor.getValue(); editor.setValue(text); editor.focus();
 */
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { json } from '@codemirror/lang-json';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput } from '@codemirror/language';

export function createJsonEditor(parent, options) {
  options = options || {};
  var silent = false;
  var shadow = parent.shadowRoot || parent.attachShadow({ mode: 'open' });
  var host = document.createElement('div');
  host.className = 'gf-json-editor';
  host.style.height = '100%';
  shadow.appendChild(host);
  var theme = EditorView.theme({
    '&': { height: '100%', fontSize: '13px', backgroundColor: '#fff' },
    '.cm-scroller': { fontFamily: '"DejaVu Sans Mono", "Noto Sans Mono CJK SC", Consolas, monospace', lineHeight: '1.45' },
    '&.cm-focused': { outline: '2px solid #17643a' }
  });
  var view = new EditorView({
    parent: host,
    root: shadow,
    state: EditorState.create({
      doc: options.value || '',
      extensions: [
        theme, lineNumbers(), highlightActiveLineGutter(), highlightActiveLine(), history(), bracketMatching(),
        indentOnInput(), syntaxHighlighting(defaultHighlightStyle, { fallback: true }), json(),
        EditorState.tabSize.of(2),
        keymap.of([indentWithTab].concat(defaultKeymap, historyKeymap)),
        EditorView.contentAttributes.of({ 'aria-label': options.label || 'JSON', 'data-testid': 'form-json' }),
        EditorView.updateListener.of(function(update) {
          if (update.docChanged && !silent && options.onChange) { options.onChange(update.state.doc.toString()); }
        })
      ]
    })
  });
  return {
    view: view,
    getValue: function() { return view.state.doc.toString(); },
    setValue: function(text) {
      silent = true;
      try {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text || '' } });
      } finally { silent = false; }
    },
    focus: function() { view.focus(); },
    destroy: function() { view.destroy(); }
  };
}
