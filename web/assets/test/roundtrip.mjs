// Import every given BPMN file with bpmn-moddle and our spiffworkflow descriptor, export it again
// and print one JSON object per file (a JSON array on stdout):
//   {"file", "xml" (the exported XML), "warnings" ([str], import warnings the modeler cannot answer),
//    "types" ({"spiffworkflow:Property": n, ...}: typed spiffworkflow elements found in the model),
//    "generic" ([str]: spiffworkflow elements moddle did NOT know, i.e. not covered by the descriptor)}
// The Python test (tests/web/test_modeler_moddle.py) compares the XML before and after.
// Usage: node web/assets/test/roundtrip.mjs bpmn/*.bpmn
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { BpmnModdle } = await import(require.resolve('bpmn-moddle'));
const spiffworkflow = JSON.parse(
  readFileSync(new URL('../src/spiff-properties/spiffworkflow.json', import.meta.url), 'utf8'));

const { restoreUnresolvedRefs, isRestorable } = await import('../src/spiff-properties/unresolved-refs.mjs');

const SPIFF_URI = spiffworkflow.uri;

function walk(element, seen, visit) {
  if (!element || typeof element !== 'object' || seen.has(element)) { return; }
  seen.add(element);
  if (element.$type) { visit(element); }
  const descriptor = element.$descriptor;
  const names = descriptor && descriptor.properties ? descriptor.properties.map((p) => p.name) : [];
  for (const key of Object.keys(element).concat(names)) {
    if (key.startsWith('$') && key !== '$children') { continue; }
    const property = descriptor && descriptor.propertiesByName && descriptor.propertiesByName[key];
    if (property && property.isReference) { continue; }
    const value = element[key];
    if (Array.isArray(value)) {
      value.forEach((v) => walk(v, seen, visit));
    } else if (value && typeof value === 'object') {
      walk(value, seen, visit);
    }
  }
}

const results = [];
for (const file of process.argv.slice(2)) {
  const moddle = new BpmnModdle({ spiffworkflow });
  const source = readFileSync(file, 'utf8');
  const { rootElement, warnings } = await moddle.fromXML(source, 'bpmn:Definitions');
  restoreUnresolvedRefs(moddle, warnings); // what the modeler does on import
  const types = {};
  const generic = [];
  walk(rootElement, new Set(), (element) => {
    const type = element.$type;
    if (type.startsWith('spiffworkflow:')) {
      types[type] = (types[type] || 0) + 1;
      if (element.$descriptor && element.$descriptor.isGeneric) { generic.push(type); }
    } else if (element.$descriptor && element.$descriptor.isGeneric && element.$descriptor.ns
               && element.$descriptor.ns.uri === SPIFF_URI) {
      generic.push(type);
    }
  });
  const { xml } = await moddle.toXML(rootElement, { format: true });
  results.push({ file, xml, warnings: warnings.filter((w) => !isRestorable(w)).map((w) => w.message), types, generic });
}
process.stdout.write(JSON.stringify(results));
