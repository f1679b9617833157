/*
 * A context pad entry "追加用户任务" next to bpmn-js's "append task": most steps of our
 * processes are user tasks (a form, a due date, the lane's role), so appending one should not
 * need a detour through "change type".
 */
import { is } from 'bpmn-js/lib/util/ModelUtil';

export function AppendUserTaskProvider(contextPad, elementFactory, autoPlace, create, translate) {
  contextPad.registerProvider(900, this);
  this.getContextPadEntries = function(element) {
    var bo = element.businessObject;
    if (!is(bo, 'bpmn:FlowNode') || is(bo, 'bpmn:EndEvent') || is(bo, 'bpmn:EventBasedGateway')
        || (element.type === 'label')) {
      return {};
    }
    function shape() { return elementFactory.createShape({ type: 'bpmn:UserTask' }); }
    return {
      'append.user-task': {
        group: 'model',
        className: 'bpmn-icon-user-task',
        title: translate('Append user task'),
        action: {
          click: function(event, source) { autoPlace.append(source, shape()); },
          dragstart: function(event, source) { create.start(event, shape(), { source: source }); }
        }
      }
    };
  };
}

AppendUserTaskProvider.$inject = ['contextPad', 'elementFactory', 'autoPlace', 'create', 'translate'];

export default {
  __init__: ['appendUserTaskProvider'],
  appendUserTaskProvider: ['type', AppendUserTaskProvider]
};
