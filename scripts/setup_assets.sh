#!/usr/bin/env bash
# Install the npm packages pinned in web/assets/package-lock.json into web/assets/node_modules and
# put what the pages load into web/static/vendor/ (not in git):
#   vendor/bpmn-js/   bpmn-js's viewer and styles, copied, for the instance and task pages
#   vendor/modeler/   the process owners' modeler and the version diff, bundled by esbuild from
#                     web/assets/src/ (web/assets/build.mjs), lint rules compiled from .bpmnlintrc
# bpmnlint is installed too: tests/test_bpmnlint.py lints bpmn/ with it (config .bpmnlintrc).
# Each step runs again only when its inputs change (content hashes: the lock file; for the bundle
# also web/assets/src/, build.mjs and .bpmnlintrc) or an output is missing, so an up-to-date tree
# costs a few milliseconds. Without npm it installs Debian's nodejs and npm when run as root with
# apt-get; otherwise it warns and continues (the pages work without the process diagram, the
# modeler page says it is not installed, the lint tests skip) — except under CI=true, where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

assets=web/assets
lock=$assets/package-lock.json
modules=$assets/node_modules
viewer=web/static/vendor/bpmn-js
modeler=web/static/vendor/modeler
viewer_files=(bpmn-navigated-viewer.production.min.js diagram-js.css bpmn-js.css LICENSE)
modeler_files=(modeler.js modeler.css diff.js diff.css)
case "${CI:-}" in [Tt][Rr][Uu][Ee]) in_ci=1 ;; *) in_ci=0 ;; esac

need_node() {
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log=$(mktemp)
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -q --no-install-recommends nodejs npm; } >"$log" 2>&1; then
      cat "$log" >&2
      echo "warning: could not install nodejs and npm with apt-get." >&2
    fi
    rm -f "$log"
  fi
  if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
    return 0
  fi
  if [ "$in_ci" = 1 ]; then
    echo "error: CI=true: npm/node not found; the process diagrams, the modeler and the diagram lint need them." >&2
    exit 1
  fi
  echo "warning: npm not found; the process diagrams (bpmn-js) and the modeler will not be shown and the diagram lint will not run." >&2
  echo "         Install Node.js and npm (Debian: apt-get install nodejs npm), then run: bash scripts/setup_assets.sh" >&2
  exit 0
}

hash_of() { # one hash over the given files and every file under the given folders
  find "$@" -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64
}

# 1. npm ci when the lock file differs from the one last installed, or a package is missing
lock_hash=$(sha256sum "$lock" | cut -c1-64)
installed=1
[ -f "$modules/.greenflow-lock" ] && [ "$(cat "$modules/.greenflow-lock")" = "$lock_hash" ] || installed=0
for package in bpmn-js bpmn-moddle bpmnlint esbuild bpmn-js-properties-panel; do
  [ -f "$modules/$package/package.json" ] || installed=0
done
if [ "$installed" = 0 ]; then
  need_node
  # --include=dev: bpmnlint and esbuild are devDependencies, needed even where NODE_ENV=production.
  npm ci --prefix "$assets" --include=dev --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_hash" >"$modules/.greenflow-lock"
fi

# 2. the viewer, copied from the installed bpmn-js
fresh=1
[ -f "$viewer/.installed" ] && [ "$(cat "$viewer/.installed")" = "$lock_hash" ] || fresh=0
for f in "${viewer_files[@]}"; do [ -f "$viewer/$f" ] || fresh=0; done
if [ "$fresh" = 0 ]; then
  dist=$modules/bpmn-js/dist
  mkdir -p web/static/vendor
  tmp=$(mktemp -d web/static/vendor/.bpmn-js-XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  cp "$dist/bpmn-navigated-viewer.production.min.js" "$dist/assets/diagram-js.css" "$dist/assets/bpmn-js.css" \
    "$modules/bpmn-js/LICENSE" "$tmp/"
  # The navigated viewer draws no palette or context pad, so it needs no bpmn-font icons.
  rm -rf "$viewer"
  mv "$tmp" "$viewer"
  chmod 755 "$viewer"
  echo "$lock_hash" >"$viewer/.installed"
  trap - EXIT
fi

# 3. the modeler bundle
lint_configs=()
for f in .bpmnlintrc bpmn/.bpmnlintrc ${GREENFLOW_BPMNLINTRC:+"$GREENFLOW_BPMNLINTRC"}; do
  [ -f "$f" ] && lint_configs+=("$f")
done
build_hash=$(hash_of "$lock" "$assets/build.mjs" "$assets/src" "${lint_configs[@]}")
fresh=1
[ -f "$modeler/.built" ] && [ "$(cat "$modeler/.built")" = "$build_hash" ] || fresh=0
for f in "${modeler_files[@]}"; do [ -f "$modeler/$f" ] || fresh=0; done
if [ "$fresh" = 0 ]; then
  need_node
  mkdir -p web/static/vendor
  tmp=$(mktemp -d web/static/vendor/.modeler-XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  node "$assets/build.mjs" "$tmp"
  for f in "${modeler_files[@]}"; do
    [ -f "$tmp/$f" ] || { echo "error: the modeler build did not produce $f" >&2; exit 1; }
  done
  rm -rf "$modeler"
  mv "$tmp" "$modeler"
  chmod 755 "$modeler"
  echo "$build_hash" >"$modeler/.built"
  trap - EXIT
fi
