#!/usr/bin/env bash
# Prints the desktop app's figures (see measure.py): keystroke to local paint and to the remote
# peer's document (p50/p99), and idle CPU and memory with a 1,000-file workspace open.
#   src-tauri/e2e/measure.sh [ARGS...]    ARGS go to measure.py (--keys N, --idle S, --files N)
# Needs the app and the CLI built (a release build: TANDEM_DESKTOP=.../release/tandem-desktop),
# and what driver.sh needs. Takes about two minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/tandem-target}"
app="${TANDEM_DESKTOP:-$target/debug/tandem-desktop}"
cli="${TANDEM_CLI:-$target/debug/tandem}"
out="$(mktemp -d /tmp/tandem-measure.XXXXXX)"
export USER=alice XDG_DATA_HOME="$out/xdg/data" XDG_CONFIG_HOME="$out/xdg/config"
echo "app: $app"
"$here/driver.sh" "$out" bash -c 'python3 "$1/measure.py" --app "$2" --cli "$3" --out "$4" --driver "$TAURI_DRIVER_URL" "${@:5}"' \
  _ "$here" "$app" "$cli" "$out" "$@"
rm -rf "$out"/alice "$out"/bob "$out"/thousand
