/*
 * Our properties groups for the conventions of docs/bpmn-conventions.md:
 *
 *   lane            role (select from config/roles.toml) or roleExpression, scope expression
 *   user task       form (select / create / edit), UI hints file, due in working days,
 *                   and an optional performer (role / roleExpression / scope) overriding the lane
 *   start event     start form; a timer start event's schedule and catch-up days
 *   service task    operator (select from the registered @service_task functions), result
 *                   variable, one expression per parameter
 *   script task     the script (Python, restricted)
 *   sequence flow   the condition (after a gateway, or when it has one)
 *   timer event     timeDate / timeDuration / timeCycle expression
 *   message event   the variable the payload lands in (spiffworkflow:messageVariable)
 *   call activity   the called process id
 *
 * Select options come from the `greenflowMeta` service (GET /modeler/api/meta, see
 * web/static/js/modeler.js). The standard bpmn groups (general, documentation, message, …) stay;
 * the standard timer group is replaced by ours (an expression in a code field).
 */
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';
import {
  SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited,
  isTextFieldEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';

import {
  getExpression, getMessageVariable, getOperator, getProperty, hasProperty, operatorParameters,
  setExpression, setMessageVariable, setOperator, setOperatorAttr, setParameter, setProperties
} from './extensions.js';

var LOW_PRIORITY = 500;

function t(translate, text, values) { return translate(text, values); }

function roleLabel(meta, role) {
  var english = meta.lang && meta.lang.indexOf('en') === 0;
  return (english ? role.en : role.zh) || role.key;
}

function findRole(meta, key) {
  return (meta.roles || []).filter(function(r) { return r.key === key; })[0] || null;
}

function formNames(meta) {
  var names = [];
  (meta.forms || []).forEach(function(f) {
    var name = typeof f === 'string' ? f : f && f.name;
    if (name && names.indexOf(name) < 0) { names.push(name); }
  });
  (meta.draftForms || []).forEach(function(name) {
    if (names.indexOf(name) < 0) { names.push(name); }
  });
  return names.sort();
}

function services(meta) {
  return (meta.services || []).filter(function(s) { return s && s.name; });
}

function findService(meta, name) {
  return services(meta).filter(function(s) { return s.name === name; })[0] || null;
}

function laneOf(element) {
  // FlowNode#lanes is the reverse of Lane#flowNodeRef; the innermost lane comes last
  var lanes = getBusinessObject(element).get('lanes') || [];
  return lanes.length ? lanes[lanes.length - 1] : null;
}

function propertyOf(bo, name) {
  var found = '';
  ((bo.get('extensionElements') && bo.get('extensionElements').get('values')) || []).forEach(function(v) {
    if (is(v, 'spiffworkflow:Properties')) {
      (v.get('properties') || []).forEach(function(p) { if (p.get('name') === name) { found = p.get('value') || ''; } });
    }
  });
  return found;
}

/* ---------------------------------------------------------------- generic entries */

function PropertyText(props) {
  var element = props.element;
  var name = props.property;
  var translate = useService('translate');
  var debounce = useService('debounceInput');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var getValue = function() { return getProperty(element, name); };
  var setValue = function(value) {
    var values = {};
    values[name] = value ? value.trim() : null;
    (props.clears || []).forEach(function(other) { if (value) { values[other] = null; } });
    setProperties(element, values, bpmnFactory, commandStack);
  };
  var common = {
    element: element, id: props.id, label: props.label, getValue: getValue, setValue: setValue,
    debounce: debounce, validate: props.validate, description: props.description
  };
  if (props.code) {
    return <TextAreaEntry {...common} monospace={true} rows={props.rows || 1} autoResize={true} />;
  }
  return <TextFieldEntry {...common} />;
}

function RoleSelect(props) {
  var element = props.element;
  var translate = useService('translate');
  var meta = useService('greenflowMeta');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var getValue = function() { return getProperty(element, 'role'); };
  var setValue = function(value) {
    setProperties(element, value ? { role: value, roleExpression: null } : { role: null }, bpmnFactory, commandStack);
  };
  var getOptions = function() {
    var current = getProperty(element, 'role');
    var options = [{ value: '', label: t(translate, props.emptyLabel || '<none>') }];
    (meta.roles || []).forEach(function(role) {
      options.push({ value: role.key, label: roleLabel(meta, role) + ' (' + role.key + ')' });
    });
    if (current && !findRole(meta, current)) {
      options.push({ value: current, label: t(translate, 'Unknown role: {role}', { role: current }) });
    }
    return options;
  };
  var validate = function(value) {
    return value && (meta.roles || []).length && !findRole(meta, value)
      ? t(translate, 'Not a role of config/roles.toml') : null;
  };
  return <SelectEntry element={element} id={props.id} label={t(translate, 'Role')} getValue={getValue}
    setValue={setValue} getOptions={getOptions} validate={validate} description={props.description} />;
}

/* ---------------------------------------------------------------- lanes and performers */

function performerEntries(element, prefix, inherited, translate) {
  return [
    { id: prefix + 'role', component: RoleSelect, isEdited: isSelectEntryEdited,
      emptyLabel: inherited ? 'Same as lane' : '<none>', description: inherited && inherited.role },
    { id: prefix + 'roleExpression', component: PropertyText, isEdited: isTextAreaEntryEdited, property: 'roleExpression',
      label: t(translate, 'Role expression'), code: true, clears: ['role'],
      description: t(translate, 'Instead of a fixed role: an expression over the task data giving a role key, e.g. reviewer_role') },
    { id: prefix + 'scope', component: PropertyText, isEdited: isTextAreaEntryEdited, property: 'scope',
      label: t(translate, 'Scope expression'), code: true,
      description: inherited && inherited.scope
        ? inherited.scope
        : t(translate, 'The org unit of the task: an expression, e.g. application[\'county_code\'] or "520000"') }
  ];
}

function LaneGroup(element, translate) {
  return {
    id: 'greenflow-lane', label: t(translate, 'Role and scope'),
    entries: performerEntries(element, 'greenflow-lane-', null, translate)
  };
}

function PerformerGroup(element, translate, meta) {
  var lane = laneOf(element);
  var inherited = null;
  if (lane) {
    var role = propertyOf(lane, 'role');
    var known = role && findRole(meta, role);
    var roleText = propertyOf(lane, 'roleExpression') || (known ? roleLabel(meta, known) + ' (' + role + ')' : role);
    inherited = {
      role: t(translate, 'Lane "{lane}": {role}', { lane: lane.get('name') || lane.get('id'), role: roleText || '—' }),
      scope: t(translate, 'Lane scope: {scope}', { scope: propertyOf(lane, 'scope') || '—' })
    };
  }
  return {
    id: 'greenflow-performer', label: t(translate, 'Performer (overrides the lane)'),
    entries: performerEntries(element, 'greenflow-task-', inherited || { role: t(translate, 'Not in a lane') }, translate)
  };
}

/* ---------------------------------------------------------------- forms and due dates */

function FormSelect(props) {
  var element = props.element;
  var translate = useService('translate');
  var meta = useService('greenflowMeta');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var getValue = function() { return getProperty(element, 'formJsonSchemaFilename'); };
  var setValue = function(value) {
    setProperties(element, { formJsonSchemaFilename: value || null }, bpmnFactory, commandStack);
  };
  var getOptions = function() {
    var current = getValue();
    var names = formNames(meta);
    if (current && names.indexOf(current) < 0) { names.push(current); }
    return [{ value: '', label: t(translate, '<none>') }].concat(names.map(function(n) { return { value: n, label: n }; }));
  };
  var validate = function(value) {
    return value && formNames(meta).length && formNames(meta).indexOf(value) < 0
      ? t(translate, 'No such form in bpmn/forms/') : null;
  };
  return <SelectEntry element={element} id={props.id} label={t(translate, 'Form (JSON Schema)')}
    getValue={getValue} setValue={setValue} getOptions={getOptions} validate={validate} />;
}

function FormActions(props) {
  var element = props.element;
  var translate = useService('translate');
  var eventBus = useService('eventBus');
  var current = getProperty(element, 'formJsonSchemaFilename');
  var edit = function() { eventBus.fire('greenflow.form.edit', { element: element, filename: current }); };
  var create = function() { eventBus.fire('greenflow.form.create', { element: element }); };
  return (
    <div class="bio-properties-panel-entry gf-form-actions" data-entry-id={props.id}>
      {current ? <button type="button" class="gf-button" data-action="edit-form" onClick={edit}>{t(translate, 'Edit form')}</button> : null}
      <button type="button" class="gf-button" data-action="create-form" onClick={create}>{t(translate, 'New form…')}</button>
    </div>
  );
}

function validateDays(translate) {
  return function(value) {
    if (!value) { return null; }
    return /^\d{1,3}$/.test(value.trim()) && +value > 0 ? null : t(translate, 'A whole number of days (1–999)');
  };
}

function FormGroup(element, translate, isStart) {
  var entries = [
    { id: 'greenflow-form', component: FormSelect, isEdited: isSelectEntryEdited },
    { id: 'greenflow-form-actions', component: FormActions },
    { id: 'greenflow-form-ui', component: PropertyText, isEdited: isTextFieldEntryEdited, property: 'formUiSchemaFilename',
      label: t(translate, 'UI hints file (optional)'), description: t(translate, 'A dict of field path → hints in bpmn/forms/') }
  ];
  if (!isStart) {
    entries.push({
      id: 'greenflow-due', component: PropertyText, isEdited: isTextFieldEntryEdited, property: 'dueInWorkingDays',
      label: t(translate, 'Due in working days'), clears: ['dueInDays'], validate: validateDays(translate),
      description: t(translate, 'Counted from when the task becomes ready, on the working-day calendar (holidays and make-up days)')
    });
    if (hasProperty(element, 'dueInDays')) {
      entries.push({
        id: 'greenflow-due-days', component: PropertyText, isEdited: isTextFieldEntryEdited, property: 'dueInDays',
        label: t(translate, 'Due in calendar days (old)'), validate: validateDays(translate),
        description: t(translate, 'Calendar days; prefer working days')
      });
    }
  }
  return { id: 'greenflow-form', label: t(translate, isStart ? 'Start form' : 'Form and due date'), entries: entries };
}

/* ---------------------------------------------------------------- service tasks */

function OperatorSelect(props) {
  var element = props.element;
  var translate = useService('translate');
  var meta = useService('greenflowMeta');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var getValue = function() { var op = getOperator(element); return op ? op.get('id') || '' : ''; };
  var setValue = function(value) {
    var service = findService(meta, value);
    var names = service ? (service.params || []).map(function(p) { return p.name; }) : [];
    setOperator(element, value, names, bpmnFactory, commandStack);
  };
  var getOptions = function() {
    var current = getValue();
    var options = [{ value: '', label: t(translate, '<none>') }];
    services(meta).slice().sort(function(a, b) { return a.name < b.name ? -1 : 1; }).forEach(function(s) {
      options.push({ value: s.name, label: s.title ? s.name + ' — ' + s.title : s.name });
    });
    if (current && !findService(meta, current)) {
      options.push({ value: current, label: t(translate, 'Unknown service: {name}', { name: current }) });
    }
    return options;
  };
  var validate = function(value) {
    if (value && value === element.id) {
      return t(translate, 'The operator must differ from the task id');
    }
    return value && services(meta).length && !findService(meta, value) ? t(translate, 'Not a registered service') : null;
  };
  return <SelectEntry element={element} id={props.id} label={t(translate, 'Service (operator)')}
    getValue={getValue} setValue={setValue} getOptions={getOptions} validate={validate} />;
}

function ResultVariable(props) {
  var element = props.element;
  var translate = useService('translate');
  var debounce = useService('debounceInput');
  var commandStack = useService('commandStack');
  var getValue = function() { var op = getOperator(element); return op ? op.get('resultVariable') || '' : ''; };
  var setValue = function(value) { setOperatorAttr(element, { resultVariable: value ? value.trim() : undefined }, commandStack); };
  return <TextFieldEntry element={element} id={props.id} label={t(translate, 'Result variable')} getValue={getValue}
    setValue={setValue} debounce={debounce} description={t(translate, 'The task data key the result is stored under')} />;
}

function ParameterEntry(props) {
  var element = props.element;
  var translate = useService('translate');
  var debounce = useService('debounceInput');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var name = props.param;
  var getValue = function() {
    var p = operatorParameters(getOperator(element)).filter(function(x) { return x.get('id') === name; })[0];
    return p ? p.get('value') || '' : '';
  };
  var setValue = function(value) { setParameter(element, name, value || '', bpmnFactory, commandStack); };
  var validate = function(value) { return props.required && !value ? t(translate, 'Required') : null; };
  var label = name + (props.required ? ' *' : '') + (props.declared ? '' : ' ' + t(translate, '(not declared by the service)'));
  return <TextAreaEntry element={element} id={props.id} label={label} getValue={getValue} setValue={setValue}
    debounce={debounce} monospace={true} rows={1} autoResize={true} validate={validate} />;
}

function ServiceGroup(element, translate, meta) {
  var entries = [
    { id: 'greenflow-operator', component: OperatorSelect, isEdited: isSelectEntryEdited },
  ];
  var operator = getOperator(element);
  if (operator) {
    entries.push({ id: 'greenflow-result', component: ResultVariable, isEdited: isTextFieldEntryEdited });
    var service = findService(meta, operator.get('id'));
    var declared = service ? (service.params || []) : [];
    var names = declared.map(function(p) { return p.name; });
    declared.forEach(function(p) {
      entries.push({ id: 'greenflow-param-' + p.name, component: ParameterEntry, isEdited: isTextAreaEntryEdited,
        param: p.name, required: !!p.required, declared: true });
    });
    operatorParameters(operator).forEach(function(p) {
      var id = p.get('id');
      if (id && names.indexOf(id) < 0) {
        entries.push({ id: 'greenflow-param-' + id, component: ParameterEntry, isEdited: isTextAreaEntryEdited,
          param: id, required: false, declared: !service });
      }
    });
  }
  return { id: 'greenflow-service', label: t(translate, 'Service task'), entries: entries };
}

/* ---------------------------------------------------------------- scripts, conditions, timers */

function ScriptEntry(props) {
  var element = props.element;
  var translate = useService('translate');
  var debounce = useService('debounceInput');
  var modeling = useService('modeling');
  var meta = useService('greenflowMeta');
  var getValue = function() { return getBusinessObject(element).get('script') || ''; };
  var setValue = function(value) { modeling.updateProperties(element, { scriptFormat: 'python', script: value || undefined }); };
  var functions = (meta.script_functions || []).map(function(f) { return typeof f === 'string' ? f : f.name; });
  var description = t(translate, 'Python without import and without names starting with _; functions: {functions}',
    { functions: functions.length ? functions.join(', ') : '—' });
  return <TextAreaEntry element={element} id={props.id} label={t(translate, 'Script')} getValue={getValue}
    setValue={setValue} debounce={debounce} monospace={true} rows={8} autoResize={true} description={description} />;
}

function ConditionEntry(props) {
  var element = props.element;
  var translate = useService('translate');
  var debounce = useService('debounceInput');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var bo = getBusinessObject(element);
  var getValue = function() { return getExpression(bo, 'conditionExpression'); };
  var setValue = function(value) { setExpression(element, bo, 'conditionExpression', value, bpmnFactory, commandStack); };
  var source = bo.get('sourceRef');
  var isDefault = source && source.get('default') === bo;
  return <TextAreaEntry element={element} id={props.id} label={t(translate, 'Condition')} getValue={getValue}
    setValue={setValue} debounce={debounce} monospace={true} rows={2} autoResize={true}
    description={isDefault ? t(translate, 'This is the default flow: taken when no other condition holds')
      : t(translate, 'A Python expression over the task data, e.g. decision == "pass"')} />;
}

var TIMER_TYPES = ['timeDate', 'timeDuration', 'timeCycle'];

function timerDefinition(element) {
  return (getBusinessObject(element).get('eventDefinitions') || []).filter(function(d) {
    return is(d, 'bpmn:TimerEventDefinition');
  })[0];
}

function timerType(definition) {
  return TIMER_TYPES.filter(function(type) { return definition.get(type); })[0] || '';
}

function TimerType(props) {
  var element = props.element;
  var translate = useService('translate');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var definition = timerDefinition(element);
  var getValue = function() { return timerType(definition); };
  var setValue = function(value) {
    var old = timerType(definition);
    var body = old ? getExpression(definition, old) : '';
    var props2 = {};
    TIMER_TYPES.forEach(function(type) { props2[type] = undefined; });
    if (value) {
      var expression = bpmnFactory.create('bpmn:FormalExpression', { body: body || '' });
      expression.$parent = definition;
      props2[value] = expression;
    }
    commandStack.execute('element.updateModdleProperties', { element: element, moddleElement: definition, properties: props2 });
  };
  var getOptions = function() {
    return [
      { value: '', label: t(translate, '<none>') },
      { value: 'timeDate', label: t(translate, 'Date (fires once at the time)') },
      { value: 'timeDuration', label: t(translate, 'Duration (fires after the time)') },
      { value: 'timeCycle', label: t(translate, 'Cycle (fires repeatedly)') }
    ];
  };
  return <SelectEntry element={element} id={props.id} label={t(translate, 'Timer type')} getValue={getValue}
    setValue={setValue} getOptions={getOptions} />;
}

function TimerExpression(props) {
  var element = props.element;
  var translate = useService('translate');
  var debounce = useService('debounceInput');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var definition = timerDefinition(element);
  var type = timerType(definition);
  var getValue = function() { return getExpression(definition, type); };
  var setValue = function(value) { setExpression(element, definition, type, value || '', bpmnFactory, commandStack); };
  return <TextAreaEntry element={element} id={props.id} label={t(translate, 'Timer expression')} getValue={getValue}
    setValue={setValue} debounce={debounce} monospace={true} rows={1} autoResize={true}
    description={t(translate, 'An expression returning an ISO-8601 string, e.g. "P7D" or add_working_days(opened_at, 15)')} />;
}

function TimerGroup(element, translate) {
  var definition = timerDefinition(element);
  var entries = [{ id: 'greenflow-timer-type', component: TimerType, isEdited: isSelectEntryEdited }];
  if (timerType(definition)) {
    entries.push({ id: 'greenflow-timer-expression', component: TimerExpression, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:StartEvent')) {
    entries.push(
      { id: 'greenflow-schedule', component: PropertyText, isEdited: isTextAreaEntryEdited, property: 'schedule',
        label: t(translate, 'Schedule'), code: true,
        description: t(translate, 'When the scheduler starts the process, e.g. next_month_day("03-01", at="09:00")') },
      { id: 'greenflow-catch-up', component: PropertyText, isEdited: isTextFieldEntryEdited, property: 'scheduleCatchUpDays',
        label: t(translate, 'Catch-up days'), description: t(translate, 'On first deploy, start at once if the last start was at most this many days ago (0–366)') });
  }
  return { id: 'greenflow-timer', label: t(translate, 'Timer'), entries: entries };
}

/* ---------------------------------------------------------------- messages and call activities */

function messageDefinition(element) {
  return (getBusinessObject(element).get('eventDefinitions') || []).filter(function(d) {
    return is(d, 'bpmn:MessageEventDefinition');
  })[0];
}

function MessageVariable(props) {
  var element = props.element;
  var translate = useService('translate');
  var debounce = useService('debounceInput');
  var bpmnFactory = useService('bpmnFactory');
  var commandStack = useService('commandStack');
  var definition = messageDefinition(element);
  var getValue = function() { return getMessageVariable(definition); };
  var setValue = function(value) { setMessageVariable(element, definition, value ? value.trim() : '', bpmnFactory, commandStack); };
  return <TextFieldEntry element={element} id={props.id} label={t(translate, 'Message variable')} getValue={getValue}
    setValue={setValue} debounce={debounce}
    description={t(translate, 'The task data key the message payload lands in. Messages are correlated by name to the instance they are delivered to; one that arrives early is kept until the instance waits for it.')} />;
}

function CalledElement(props) {
  var element = props.element;
  var translate = useService('translate');
  var debounce = useService('debounceInput');
  var modeling = useService('modeling');
  var getValue = function() { return getBusinessObject(element).get('calledElement') || ''; };
  var setValue = function(value) { modeling.updateProperties(element, { calledElement: value ? value.trim() : undefined }); };
  return <TextFieldEntry element={element} id={props.id} label={t(translate, 'Called process (id)')} getValue={getValue}
    setValue={setValue} debounce={debounce}
    description={t(translate, 'The id of an executable process in bpmn/, e.g. review_step')} />;
}

/* ---------------------------------------------------------------- the provider */

function isConditionable(element) {
  if (!is(element, 'bpmn:SequenceFlow')) { return false; }
  var bo = getBusinessObject(element);
  var source = bo.get('sourceRef');
  return !!bo.get('conditionExpression')
    || isAny(source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:ComplexGateway']);
}

function isBlankOrFormStart(element) {
  return is(element, 'bpmn:StartEvent') && !(getBusinessObject(element).get('eventDefinitions') || []).length;
}

export default function SpiffPropertiesProvider(propertiesPanel, translate, greenflowMeta) {
  propertiesPanel.registerProvider(LOW_PRIORITY, this);
  this._translate = translate;
  this._meta = greenflowMeta;
}

SpiffPropertiesProvider.$inject = ['propertiesPanel', 'translate', 'greenflowMeta'];

SpiffPropertiesProvider.prototype.getGroups = function(element) {
  var translate = this._translate;
  var meta = this._meta;
  return function(groups) {
    var ours = [];
    if (is(element, 'bpmn:Lane')) { ours.push(LaneGroup(element, translate)); }
    if (is(element, 'bpmn:UserTask')) {
      ours.push(FormGroup(element, translate, false));
      ours.push(PerformerGroup(element, translate, meta));
    }
    if (isBlankOrFormStart(element)) { ours.push(FormGroup(element, translate, true)); }
    if (is(element, 'bpmn:ServiceTask')) { ours.push(ServiceGroup(element, translate, meta)); }
    if (is(element, 'bpmn:ScriptTask')) {
      ours.push({ id: 'greenflow-script', label: t(translate, 'Script'),
        entries: [{ id: 'greenflow-script-body', component: ScriptEntry, isEdited: isTextAreaEntryEdited }] });
    }
    if (isConditionable(element)) {
      ours.push({ id: 'greenflow-condition', label: t(translate, 'Condition'),
        entries: [{ id: 'greenflow-condition-body', component: ConditionEntry, isEdited: isTextAreaEntryEdited }] });
    }
    if (is(element, 'bpmn:Event') && timerDefinition(element)) { ours.push(TimerGroup(element, translate)); }
    if (is(element, 'bpmn:Event') && messageDefinition(element)
        && isAny(element, ['bpmn:IntermediateCatchEvent', 'bpmn:StartEvent', 'bpmn:BoundaryEvent'])) {
      ours.push({ id: 'greenflow-message', label: t(translate, 'Message payload'),
        entries: [{ id: 'greenflow-message-variable', component: MessageVariable, isEdited: isTextFieldEntryEdited }] });
    }
    if (is(element, 'bpmn:CallActivity')) {
      ours.push({ id: 'greenflow-call', label: t(translate, 'Called process'),
        entries: [{ id: 'greenflow-called-element', component: CalledElement, isEdited: isTextFieldEntryEdited }] });
    }
    groups = groups.filter(function(g) { return g && g.id !== 'timer'; });
    var at = groups.findIndex(function(g) { return g.id === 'general'; });
    groups.splice(at + 1, 0, ...ours);
    return groups;
  };
};
