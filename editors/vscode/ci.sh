#!/usr/bin/env bash
# Builds and checks the VS Code extension: dependencies, compile, grammar tests, .vsix.
set -euo pipefail
cd "$(dirname "$0")"

export CI=true
vsix=cadence-0.1.0.vsix

npm ci --no-audit --no-fund
npm run compile
npm run test:grammar
rm -f "$vsix"
npm run package </dev/null

if [[ ! -s "$vsix" ]]; then
  echo "ci.sh: $vsix was not written" >&2
  exit 1
fi
unzip -l "$vsix"
echo "$vsix: $(wc -c <"$vsix") bytes"
