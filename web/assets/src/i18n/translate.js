/*
 * The `translate` service of the modeler: Chinese (zh.js) unless the page is English.
 * translate('Open {element}', {element: 'x'}) fills in the placeholders like bpmn-js's own.
 */
import zh from './zh.js';

// bpmnlint messages with a variable part
var PATTERNS = [
  [/^(.+) is missing end event$/, '{0}缺少结束事件'],
  [/^(.+) is missing start event$/, '{0}缺少开始事件'],
  [/^(.+) has multiple blank start events$/, '{0}有多个空白开始事件'],
  [/^Element type <(.+)> is discouraged$/, '不建议使用元素类型 <{0}>'],
  [/^Element has disallowed type <(.+)>$/, '不允许的元素类型 <{0}>'],
  [/^Link (catch|throw) event with link name <(.*)> missing in scope$/, '同一范围内缺少链接名为 <{1}> 的链接事件'],
  [/^Duplicate link catch event with link name <(.*)> in scope$/, '同一范围内链接名 <{0}> 的捕获事件重复']
];

var TYPE_NAMES = {
  'bpmn:Process': '流程', 'bpmn:SubProcess': '子流程', 'bpmn:Participant': '参与者',
  'Process': '流程', 'Sub process': '子流程', 'Sub Process': '子流程'
};

export var missingTranslations = new Set();

function fill(template, replacements) {
  replacements = replacements || {};
  return template.replace(/{([^}]+)}/g, function(_, key) {
    return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : '{' + key + '}';
  });
}

// the properties panel's headers say "User Task" / "Timer Boundary Event (Non Interrupting)" where the
// menus say "User task" / "Timer boundary event (non-interrupting)"
function loose(text) { return text.toLowerCase().replace(/-/g, ' '); }
var LOWER = {};
Object.keys(zh).forEach(function(key) { LOWER[loose(key)] = zh[key]; });

function zhOf(text) {
  if (Object.prototype.hasOwnProperty.call(zh, text)) { return zh[text]; }
  if (Object.prototype.hasOwnProperty.call(LOWER, loose(text))) { return LOWER[loose(text)]; }
  for (var i = 0; i < PATTERNS.length; i += 1) {
    var m = PATTERNS[i][0].exec(text);
    if (m) {
      var groups = m.slice(1).map(function(g) { return TYPE_NAMES[g] || g; });
      return PATTERNS[i][1].replace(/{(\d)}/g, function(_, n) { return groups[+n]; });
    }
  }
  return null;
}

export function createTranslate(lang) {
  var chinese = !lang || lang.indexOf('en') !== 0;
  return function translate(template, replacements) {
    template = template == null ? '' : String(template);
    if (chinese) {
      var zhText = zhOf(template);
      if (zhText === null) {
        if (/[A-Za-z]/.test(template)) { missingTranslations.add(template); }
      } else {
        template = zhText;
      }
    }
    return fill(template, replacements);
  };
}

export function translateModule(lang) {
  return { translate: ['value', createTranslate(lang)] };
}
