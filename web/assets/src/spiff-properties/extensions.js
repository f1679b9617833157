/*
 * Reading and writing our extensions (docs/bpmn-conventions.md) on a business object, as
 * undoable commands of the properties panel's multi-command executor:
 *
 *   <bpmn:extensionElements>
 *     <spiffworkflow:properties><spiffworkflow:property name=… value=…/></spiffworkflow:properties>
 *     <spiffworkflow:serviceTaskOperator id=… resultVariable=…>
 *       <spiffworkflow:parameters><spiffworkflow:parameter id=… type="any" value=…/></…>
 *     </spiffworkflow:serviceTaskOperator>
 *   </bpmn:extensionElements>
 */
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export var MULTI = 'properties-panel.multi-command-executor';

export function extensionValues(bo, type) {
  var ext = bo && bo.get('extensionElements');
  return ext ? (ext.get('values') || []).filter(function(v) { return is(v, type); }) : [];
}

export function getProperty(element, name) {
  var bo = getBusinessObject(element);
  var found;
  extensionValues(bo, 'spiffworkflow:Properties').forEach(function(props) {
    (props.get('properties') || []).forEach(function(p) {
      if (p.get('name') === name) { found = p; }
    });
  });
  return found ? (found.get('value') || '') : '';
}

export function hasProperty(element, name) {
  var bo = getBusinessObject(element);
  return extensionValues(bo, 'spiffworkflow:Properties').some(function(props) {
    return (props.get('properties') || []).some(function(p) { return p.get('name') === name; });
  });
}

function create(bpmnFactory, type, attrs, parent) {
  var element = bpmnFactory.create(type, attrs);
  if (parent) { element.$parent = parent; }
  return element;
}

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element: element, moddleElement: moddleElement, properties: properties } };
}

/*
 * Commands that make sure `bo` has extensionElements holding one element of `type`.
 * Returns {commands, container}.
 */
function ensureExtension(element, bo, type, bpmnFactory, attrs) {
  var commands = [];
  var ext = bo.get('extensionElements');
  if (!ext) {
    ext = create(bpmnFactory, 'bpmn:ExtensionElements', { values: [] }, bo);
    commands.push(update(element, bo, { extensionElements: ext }));
  }
  var container = (ext.get('values') || []).filter(function(v) { return is(v, type); })[0];
  if (!container) {
    container = create(bpmnFactory, type, attrs || {}, ext);
    commands.push(update(element, ext, { values: (ext.get('values') || []).concat([container]) }));
  }
  return { commands: commands, container: container, ext: ext };
}

/* Removes `child` from extensionElements, and extensionElements when it ends up empty. */
function removeExtension(element, bo, child) {
  var ext = bo.get('extensionElements');
  if (!ext) { return []; }
  var values = (ext.get('values') || []).filter(function(v) { return v !== child; });
  if (!values.length) {
    return [update(element, bo, { extensionElements: undefined })];
  }
  return [update(element, ext, { values: values })];
}

/*
 * Sets (value non-empty) or removes (value '' / null) the property `name`; `values` may set
 * several at once: setProperties(element, {role: 'x', roleExpression: null}, …).
 */
export function setProperties(element, values, bpmnFactory, commandStack, target) {
  var bo = target || getBusinessObject(element);
  var commands = [];
  var ensured = null;
  var props = extensionValues(bo, 'spiffworkflow:Properties')[0];
  var list = props ? (props.get('properties') || []).slice() : [];
  var changedList = false;

  Object.keys(values).forEach(function(name) {
    var value = values[name];
    var empty = value === null || value === undefined || String(value) === '';
    var existing = list.filter(function(p) { return p.get('name') === name; });
    if (empty) {
      if (existing.length) {
        list = list.filter(function(p) { return p.get('name') !== name; });
        changedList = true;
      }
      return;
    }
    if (existing.length) {
      if (existing[0].get('value') !== String(value)) {
        commands.push(update(element, existing[0], { value: String(value) }));
      }
      return;
    }
    if (!props) {
      ensured = ensureExtension(element, bo, 'spiffworkflow:Properties', bpmnFactory, { properties: [] });
      props = ensured.container;
      commands = ensured.commands.concat(commands);
    }
    list.push(create(bpmnFactory, 'spiffworkflow:Property', { name: name, value: String(value) }, props));
    changedList = true;
  });

  if (changedList) {
    if (!list.length && props && !ensured) {
      commands = commands.concat(removeExtension(element, bo, props));
    } else {
      commands.push(update(element, props, { properties: list }));
    }
  }
  if (commands.length) { commandStack.execute(MULTI, commands); }
}

export function getOperator(element) {
  return extensionValues(getBusinessObject(element), 'spiffworkflow:ServiceTaskOperator')[0] || null;
}

export function operatorParameters(operator) {
  var list = operator && operator.get('parameterList');
  return list ? (list.get('parameters') || []) : [];
}

/*
 * Sets the operator of a service task: its id, and parameters for `paramNames` (values kept by
 * name; other parameters are kept when they have a value). id '' removes the operator.
 */
export function setOperator(element, operatorId, paramNames, bpmnFactory, commandStack) {
  var bo = getBusinessObject(element);
  var operator = getOperator(element);
  var commands = [];
  if (!operatorId) {
    if (operator) {
      commandStack.execute(MULTI, removeExtension(element, bo, operator));
    }
    return;
  }
  if (!operator) {
    var ensured = ensureExtension(element, bo, 'spiffworkflow:ServiceTaskOperator', bpmnFactory, { id: operatorId });
    operator = ensured.container;
    commands = ensured.commands;
  } else {
    commands.push(update(element, operator, { id: operatorId }));
  }
  var old = operatorParameters(operator);
  var byName = {};
  old.forEach(function(p) { byName[p.get('id')] = p; });
  var list = operator.get('parameterList');
  if (!list) {
    list = create(bpmnFactory, 'spiffworkflow:Parameters', { parameters: [] }, operator);
    commands.push(update(element, operator, { parameterList: list }));
  }
  var params = (paramNames || []).map(function(name) {
    return byName[name] || create(bpmnFactory, 'spiffworkflow:Parameter', { id: name, type: 'any', value: '' }, list);
  });
  old.forEach(function(p) {
    if (params.indexOf(p) < 0 && p.get('value')) { params.push(p); }
  });
  commands.push(update(element, list, { parameters: params }));
  commandStack.execute(MULTI, commands);
}

export function setOperatorAttr(element, attrs, commandStack) {
  var operator = getOperator(element);
  if (operator) {
    commandStack.execute(MULTI, [update(element, operator, attrs)]);
  }
}

export function setParameter(element, name, value, bpmnFactory, commandStack) {
  var operator = getOperator(element);
  if (!operator) { return; }
  var param = operatorParameters(operator).filter(function(p) { return p.get('id') === name; })[0];
  if (param) {
    commandStack.execute(MULTI, [update(element, param, { value: value || '' })]);
    return;
  }
  var commands = [];
  var list = operator.get('parameterList');
  if (!list) {
    list = create(bpmnFactory, 'spiffworkflow:Parameters', { parameters: [] }, operator);
    commands.push(update(element, operator, { parameterList: list }));
  }
  param = create(bpmnFactory, 'spiffworkflow:Parameter', { id: name, type: 'any', value: value || '' }, list);
  commands.push(update(element, list, { parameters: (list.get('parameters') || []).concat([param]) }));
  commandStack.execute(MULTI, commands);
}

export function removeParameter(element, name, commandStack) {
  var operator = getOperator(element);
  var list = operator && operator.get('parameterList');
  if (!list) { return; }
  var params = (list.get('parameters') || []).filter(function(p) { return p.get('id') !== name; });
  commandStack.execute(MULTI, [update(element, list, { parameters: params })]);
}

/* <spiffworkflow:messageVariable> of a message event definition */
export function getMessageVariable(definition) {
  var v = extensionValues(definition, 'spiffworkflow:MessageVariable')[0];
  return v ? (v.get('value') || '') : '';
}

export function setMessageVariable(element, definition, value, bpmnFactory, commandStack) {
  var current = extensionValues(definition, 'spiffworkflow:MessageVariable')[0];
  if (!value) {
    if (current) { commandStack.execute(MULTI, removeExtension(element, definition, current)); }
    return;
  }
  if (current) {
    commandStack.execute(MULTI, [update(element, current, { value: value })]);
    return;
  }
  var ensured = ensureExtension(element, definition, 'spiffworkflow:MessageVariable', bpmnFactory, { value: value });
  commandStack.execute(MULTI, ensured.commands);
}

/* A bpmn:FormalExpression child (conditionExpression, timeDate, …): its body, or set it. */
export function getExpression(owner, property) {
  var expression = owner && owner.get(property);
  return expression ? (expression.get('body') || '') : '';
}

export function setExpression(element, owner, property, body, bpmnFactory, commandStack) {
  var props = {};
  if (body === null || body === undefined || body === '') {
    props[property] = undefined;
  } else {
    var expression = owner.get(property);
    if (expression) {
      commandStack.execute(MULTI, [update(element, expression, { body: body })]);
      return;
    }
    props[property] = create(bpmnFactory, 'bpmn:FormalExpression', { body: body }, owner);
  }
  commandStack.execute(MULTI, [update(element, owner, props)]);
}
