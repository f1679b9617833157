#!/usr/bin/env bash
# Install the browser assets (bpmn-js, pinned in web/assets/package-lock.json) and copy what the
# pages load into web/static/vendor/ (not in git). Runs again only when the lock file changes.
# Without npm it warns and continues: the pages work without the process diagram.
set -euo pipefail
cd "$(dirname "$0")/.."

lock=web/assets/package-lock.json
vendor=web/static/vendor/bpmn-js
stamp=$vendor/.installed
files=(bpmn-navigated-viewer.production.min.js diagram-js.css bpmn-js.css LICENSE)

up_to_date=1
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  up_to_date=0
fi
for f in "${files[@]}"; do
  [ -f "$vendor/$f" ] || up_to_date=0
done
[ "$up_to_date" = 1 ] && exit 0

if ! command -v npm >/dev/null 2>&1; then
  echo "warning: npm not found; the process diagrams (bpmn-js) will not be shown." >&2
  echo "         Install Node.js and npm (Debian: apt-get install nodejs npm), then run: bash scripts/setup_assets.sh" >&2
  exit 0
fi

npm ci --prefix web/assets --no-audit --no-fund --loglevel=error >/dev/null

dist=web/assets/node_modules/bpmn-js/dist
mkdir -p web/static/vendor
tmp=$(mktemp -d web/static/vendor/.bpmn-js-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp "$dist/bpmn-navigated-viewer.production.min.js" "$dist/assets/diagram-js.css" "$dist/assets/bpmn-js.css" \
  web/assets/node_modules/bpmn-js/LICENSE "$tmp/"
# The navigated viewer draws no palette or context pad, so it needs no bpmn-font icons.
rm -rf "$vendor"
mv "$tmp" "$vendor"
chmod 755 "$vendor"
touch "$vendor/.installed"
