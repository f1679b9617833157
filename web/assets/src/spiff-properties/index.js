/*
 * Our properties panel module and the spiffworkflow moddle extension.
 *
 *   new Modeler({ moddleExtensions: { spiffworkflow: spiffModdle },
 *                 additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
 *                                     SpiffPropertiesModule, {greenflowMeta: ['value', meta]}] })
 */
import SpiffPropertiesProvider from './provider.jsx';
import spiffModdle from './spiffworkflow.json';

export { spiffModdle };
export { restoreUnresolvedRefs, isRestorable } from './unresolved-refs.mjs';
export { getProperty, setProperties } from './extensions.js';

export default {
  __init__: ['spiffPropertiesProvider'],
  spiffPropertiesProvider: ['type', SpiffPropertiesProvider]
};
