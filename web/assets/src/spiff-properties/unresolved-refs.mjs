/*
 * SpiffWorkflow reads <bpmn:loopDataInputRef>units</bpmn:loopDataInputRef> (and loopDataOutputRef)
 * as the NAME of a task-data variable, while BPMN (and bpmn-moddle) treat it as a reference to an
 * ItemAwareElement id. bpmn-moddle warns "unresolved reference <units>" and drops the value, so a
 * diagram would lose its multi-instance collections on the first save.
 *
 * restoreUnresolvedRefs(moddle, warnings) puts a detached placeholder (bpmn:DataInput / DataOutput
 * carrying just the id) back into each such property; moddle serializes a reference as the id, so
 * the export writes the variable name again. Used by the modeler (import.parse.complete) and by
 * web/assets/test/roundtrip.mjs.
 */

var VARIABLE_REFS = {
  loopDataInputRef: 'bpmn:DataInput',
  loopDataOutputRef: 'bpmn:DataOutput'
};

function localName(name) {
  var i = (name || '').indexOf(':');
  return i >= 0 ? name.slice(i + 1) : name;
}

export function restoreUnresolvedRefs(moddle, warnings) {
  var restored = [];
  (warnings || []).forEach(function(warning) {
    var element = warning && warning.element;
    var property = localName(warning && warning.property);
    var type = VARIABLE_REFS[property];
    if (!element || !type || typeof warning.value !== 'string' || element.get(property)) {
      return;
    }
    var placeholder = moddle.create(type, { id: warning.value });
    placeholder.$greenflowVariable = true;
    element.set(property, placeholder);
    restored.push(warning);
  });
  return restored;
}

/* The warnings that restoreUnresolvedRefs answered are not problems; the rest are. */
export function isRestorable(warning) {
  return !!(warning && warning.element && VARIABLE_REFS[localName(warning.property)]
            && typeof warning.value === 'string');
}
