/*
 * The process owners' modeler, bundled by build.mjs into web/static/vendor/modeler/modeler.js
 * (global GreenflowModeler) and modeler.css. The page logic (drafts, autosave, validate, diff,
 * deploy, form editor, problems panel) is web/static/js/modeler.js, which uses:
 *
 *   GreenflowModeler.createModeler({container, propertiesParent, meta, lang}) -> bpmn-js Modeler
 *       with palette, context pad (plus "append user task"), keyboard, our properties panel,
 *       bpmnlint (the shared .bpmnlintrc), Chinese labels unless lang starts with "en"
 *   GreenflowModeler.renderDiff / renderFormChanges / compare    the visual diff (diff-view.js)
 *   GreenflowModeler.createJsonEditor(parent, {value, onChange})  CodeMirror JSON editor
 *   GreenflowModeler.getProperty(element, name), setProperty(modeler, element, name, value)
 *   GreenflowModeler.translate(lang), lintConfigSource, missingTranslations, isRestorable(warning)
 */
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';
import './diff.css';
import './modeler.css';

import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import bpmnlintConfig, { source as bpmnlintSource } from 'greenflow:bpmnlintrc';

import SpiffPropertiesModule, {
  spiffModdle, restoreUnresolvedRefs, isRestorable, getProperty as readProperty, setProperties
} from './spiff-properties/index.js';
import { translateModule, createTranslate, missingTranslations as missing } from './i18n/translate.js';
import { renderDiff, renderFormChanges, compare, lineDiff, FONT_FAMILY } from './diff-view.js';
import { createJsonEditor } from './json-editor.js';
import AppendUserTaskModule from './append-user-task.js';

export { renderDiff, renderFormChanges, compare, lineDiff, createJsonEditor, isRestorable, spiffModdle };

export var lintConfigSource = bpmnlintSource;
export var lintRules = Object.keys((bpmnlintConfig.config && bpmnlintConfig.config.rules) || {});
export var missingTranslations = missing;

export function translate(lang) {
  return createTranslate(lang);
}

var OPEN_GROUPS = ['general', 'greenflow-lane', 'greenflow-form', 'greenflow-service', 'greenflow-script',
  'greenflow-condition', 'greenflow-timer', 'greenflow-message', 'greenflow-call'];

export function createModeler(options) {
  var meta = options.meta || {};
  meta.lang = options.lang || 'zh';
  var modeler = new Modeler({
    container: options.container,
    keyboard: { bind: true },
    propertiesPanel: {
      parent: options.propertiesParent,
      // what a process owner edits most is open from the start (the performer override is not)
      layout: { groups: OPEN_GROUPS.reduce(function(groups, id) { groups[id] = { open: true }; return groups; }, {}) }
    },
    linting: { bpmnlint: bpmnlintConfig, active: true },
    moddleExtensions: { spiffworkflow: spiffModdle },
    textRenderer: { defaultStyle: { fontFamily: FONT_FAMILY }, externalStyle: { fontFamily: FONT_FAMILY } },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      SpiffPropertiesModule,
      AppendUserTaskModule,
      lintModule,
      translateModule(meta.lang),
      { greenflowMeta: ['value', meta] }
    ]
  });
  // loopDataInputRef / loopDataOutputRef name task-data variables (SpiffWorkflow): keep them
  modeler.on('import.parse.complete', function(event) {
    if (event.definitions) { restoreUnresolvedRefs(modeler.get('moddle'), event.warnings); }
  });
  return modeler;
}

export function getProperty(element, name) {
  return readProperty(element, name);
}

export function setProperty(modeler, element, name, value) {
  var values = {};
  values[name] = value;
  setProperties(element, values, modeler.get('bpmnFactory'), modeler.get('commandStack'));
}
