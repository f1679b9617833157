// Import each BPMN file with bpmn-moddle, the parser bpmn-js uses (the copy installed with it in
// web/assets/node_modules), and print what the modeler would warn about on import: unresolved
// references, unknown elements or attributes, duplicate ids. Exit status 1 on any warning.
//
//   node scripts/check_bpmn_import.mjs bpmn/*.bpmn
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const assets = createRequire(new URL('../web/assets/package.json', import.meta.url));
const { BpmnModdle } = await import(pathToFileURL(assets.resolve('bpmn-moddle')).href);

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/check_bpmn_import.mjs FILE.bpmn...');
  process.exit(2);
}

// "unit_filings bpmn:loopDataInputRef: " for a warning on an element without an id of its own.
function where({ element, property }) {
  let owner = element;
  while (owner && !owner.id) {
    owner = owner.$parent;
  }
  const parts = [ owner && owner.id, property ].filter(Boolean);
  return parts.length ? parts.join(' ') + ': ' : '';
}

let problems = 0;
for (const file of files) {
  const xml = await readFile(file, 'utf8');
  let warnings;
  try {
    ({ warnings } = await new BpmnModdle().fromXML(xml, 'bpmn:Definitions'));
  } catch (err) {
    warnings = [ ...(err.warnings || []), err ];
  }
  for (const warning of warnings) {
    console.log(`${file}: ${where(warning)}${warning.message.split('\n')[0]}`);
    problems++;
  }
}
if (problems) {
  console.log(`\n${problems} import warning(s)`);
  process.exit(1);
}
