// Bundle the process owners' modeler (src/modeler.js) and the version diff (src/diff.js) with
// esbuild into OUTDIR (scripts/setup_assets.sh passes a temporary folder and moves it to
// web/static/vendor/modeler/):
//
//   modeler.js / modeler.css   global GreenflowModeler: bpmn-js Modeler, properties panel with
//                              our spiffworkflow provider, bpmnlint, Chinese labels, visual diff,
//                              JSON editor (CodeMirror)
//   diff.js / diff.css         global GreenflowDiff; draws every <div class="bpmn-diff"> of a page
//   *.woff2 …                  the bpmn-font used by the palette and context pad
//
// The lint rules are the shared configuration the server and CI use: the first of
// $GREENFLOW_BPMNLINTRC, <repo>/.bpmnlintrc, <repo>/bpmn/.bpmnlintrc, compiled into the bundle
// with bpmnlint's compile-config (what bpmnlint-pack-config does). Without any, the bundle uses
// "bpmnlint:recommended" and says so (GreenflowModeler.lintConfigSource).
//
// Usage: node web/assets/build.mjs OUTDIR
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const require = createRequire(path.join(here, 'package.json'));
const esbuild = require('esbuild');
const compileConfig = require('bpmnlint/lib/support/compile-config');
const NodeResolver = require('bpmnlint/lib/resolver/node-resolver');

const outdir = process.argv[2] && path.resolve(process.argv[2]);
if (!outdir) {
  console.error('usage: node web/assets/build.mjs OUTDIR');
  process.exit(2);
}

export function lintConfigPath() {
  const candidates = [process.env.GREENFLOW_BPMNLINTRC, path.join(repo, '.bpmnlintrc'),
    path.join(repo, 'bpmn', '.bpmnlintrc')].filter(Boolean);
  return candidates.find((p) => existsSync(p)) || null;
}

const bpmnlintPlugin = {
  name: 'greenflow-bpmnlintrc',
  setup(build) {
    build.onResolve({ filter: /^greenflow:bpmnlintrc$/ }, () => ({ path: 'bpmnlintrc', namespace: 'bpmnlintrc' }));
    build.onLoad({ filter: /.*/, namespace: 'bpmnlintrc' }, async () => {
      const file = lintConfigPath();
      let config = { extends: 'bpmnlint:recommended' };
      let source = 'bpmnlint:recommended (no .bpmnlintrc found)';
      if (file) {
        config = JSON.parse(readFileSync(file, 'utf8'));
        source = path.relative(repo, file);
      } else if ((process.env.CI || '').toLowerCase() === 'true') {
        throw new Error('CI=true: no .bpmnlintrc found; the browser lint must use the shared configuration');
      } else {
        console.warn('warning: no .bpmnlintrc found; the modeler lints with bpmnlint:recommended');
      }
      const resolver = new NodeResolver({ require: createRequire(path.join(here, 'package.json')) });
      const code = await compileConfig(config, resolver);
      return {
        contents: `${code}\nexport const source = ${JSON.stringify(source)};\n`,
        resolveDir: here,
        loader: 'js',
        watchFiles: file ? [file] : []
      };
    });
  }
};

const common = {
  bundle: true,
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  outdir,
  jsx: 'automatic',
  jsxImportSource: '@bpmn-io/properties-panel/preact',
  loader: { '.woff': 'file', '.woff2': 'file', '.eot': 'file', '.ttf': 'file', '.svg': 'dataurl' },
  assetNames: 'fonts/[name]-[hash]',
  define: { 'process.env.NODE_ENV': '"production"' },
  absWorkingDir: here,
  nodePaths: [path.join(here, 'node_modules')],
  plugins: [bpmnlintPlugin]
};

await esbuild.build({ ...common, entryPoints: { modeler: 'src/modeler.js' }, globalName: 'GreenflowModeler' });
await esbuild.build({ ...common, entryPoints: { diff: 'src/diff.js' }, globalName: 'GreenflowDiff' });
