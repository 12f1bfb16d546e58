#!/usr/bin/env bash
# Tests the editor packages from a clean checkout: installs their npm packages
# (exact versions, from each package-lock.json), runs the grammar tests and the
# extension's tests, packages the VS Code extension and checks what the .vsix
# holds. Needs node (20 or later) and npm, and the npm registry; nothing else
# is downloaded.
set -euo pipefail
cd "$(dirname "$0")"

install() {
  if [ -f "$1/package-lock.json" ]; then
    (cd "$1" && npm ci --no-audit --no-fund)
  else
    (cd "$1" && npm install --no-audit --no-fund)
  fi
}

echo "--- npm install"
install textmate
install vscode

echo "--- textmate: grammar tests"
(cd textmate && npm test)

echo "--- vscode: extension tests"
(cd vscode && npm test)

echo "--- vscode: package"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
vsix="$out/switchboard-policy.vsix"
(cd vscode && npm run --silent package -- --out "$vsix")

# The listing of the .vsix (a zip), with unzip or, lacking it, Python.
if command -v unzip >/dev/null; then
  listing="$(unzip -Z1 "$vsix")"
else
  listing="$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$vsix")"
fi

passed=0
failed=0
check() {
  if grep -qx "$1" <<<"$listing"; then
    passed=$((passed + 1))
  else
    echo "missing from the .vsix: $1" >&2
    failed=$((failed + 1))
  fi
}
check extension/package.json
check extension/syntaxes/switchboard-policy.tmLanguage.json
check extension/language-configuration.json
check extension/dist/extension.js
check extension/LICENSE.txt
# The client is bundled: no node_modules, no sources or tests.
if grep -qE '^extension/(node_modules|src|test)/' <<<"$listing"; then
  echo "the .vsix holds files it should not:" >&2
  grep -E '^extension/(node_modules|src|test)/' <<<"$listing" >&2
  failed=$((failed + 1))
else
  passed=$((passed + 1))
fi
echo "vsix: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
