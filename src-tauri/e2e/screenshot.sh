#!/usr/bin/env bash
# Retakes the README's screenshot (ui/screenshot.png) with the built app: see screenshot.py.
#   src-tauri/e2e/screenshot.sh [PNG]
# Needs the app and the CLI built, and what driver.sh needs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/tandem-target}"
app="${TANDEM_DESKTOP:-$target/debug/tandem-desktop}"
cli="${TANDEM_CLI:-$target/debug/tandem}"
png="$(realpath -m "${1:-$here/../../ui/screenshot.png}")"
out=/tmp/tandem-screenshot # shown in the window's title bar
rm -rf "$out"
export USER=alice XDG_DATA_HOME="$out/xdg/data" XDG_CONFIG_HOME="$out/xdg/config" XDG_CACHE_HOME="$out/xdg/cache"
"$here/driver.sh" "$out" bash -c 'python3 "$1/screenshot.py" --app "$2" --cli "$3" --out "$4" --png "$5" --driver "$TAURI_DRIVER_URL"' \
  _ "$here" "$app" "$cli" "$out" "$png"
