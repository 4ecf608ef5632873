#!/usr/bin/env bash
# Installs what the browser tests need, and only what is missing:
#   chromium  Debian's /usr/bin/chromium (apt-get; needs root)
#   venv      a Python venv with requirements.txt (pinned) in the CI cache
#   axe       axe-core from package-lock.json (npm ci) in the CI cache
# Usage: tests/browser/setup.sh [chromium] [venv] [axe]   (default: all three)
# Paths as in run.sh: VIGIA_CI_CACHE (default ~/.cache/vigia-ci),
# VIGIA_CHROMIUM, VIGIA_BROWSER_VENV, VIGIA_AXE_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${VIGIA_CI_CACHE:-$HOME/.cache/vigia-ci}
chromium=${VIGIA_CHROMIUM:-/usr/bin/chromium}
venv=${VIGIA_BROWSER_VENV:-$cache/venv}
axe_dir=${VIGIA_AXE_DIR:-$cache/axe}
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(chromium venv axe)

for part in "${parts[@]}"; do
  case $part in
    chromium)
      if [ ! -x "$chromium" ]; then
        echo "installing Debian's chromium"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
      fi
      [ -x "$chromium" ] || { echo "no Chromium at $chromium after installing" >&2; exit 1; }
      ;;
    venv)
      if [ ! -x "$venv/bin/python" ]; then
        echo "creating the venv $venv"
        python3 -m venv "$venv"
      fi
      # pip runs only when requirements.txt changed since the last install.
      if ! cmp -s "$here/requirements.txt" "$venv/.vigia-browser-requirements.txt"; then
        echo "installing tests/browser/requirements.txt into $venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
        cp "$here/requirements.txt" "$venv/.vigia-browser-requirements.txt"
      fi
      ;;
    axe)
      want=$(sed -n 's/.*"axe-core": "\([0-9.]*\)".*/\1/p' "$here/package.json")
      have=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$axe_dir/node_modules/axe-core/package.json" 2>/dev/null || true)
      if [ "$have" != "$want" ]; then
        command -v npm >/dev/null 2>&1 || { echo "npm is needed to install axe-core $want" >&2; exit 1; }
        echo "installing axe-core $want into $axe_dir"
        mkdir -p "$axe_dir"
        cp "$here/package.json" "$here/package-lock.json" "$axe_dir/"
        npm ci --prefix "$axe_dir" --no-audit --no-fund --silent
      fi
      ;;
    *)
      echo "unknown part $part (chromium, venv or axe)" >&2
      exit 2
      ;;
  esac
done
