#!/usr/bin/env bash
# Runs the end-to-end tests (e2e.py) against already built binaries, in a virtual display.
#   src-tauri/e2e/run.sh [OUT]     OUT: where logs, screenshots and the peers' folders go
#                                  (default: a new folder under /tmp); printed at the end.
# Needs the app and the CLI built (target/debug/tandem-desktop, target/debug/tandem), and what
# driver.sh needs. TANDEM_DESKTOP and TANDEM_CLI may name other binaries. Exits non-zero when a
# step failed; the last line of e2e.py's output counts the steps.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/tandem-target}"
app="${TANDEM_DESKTOP:-$target/debug/tandem-desktop}"
cli="${TANDEM_CLI:-$target/debug/tandem}"
for bin in "$app" "$cli"; do
  [ -x "$bin" ] || { echo "e2e: $bin is missing: build the app and the CLI first (see src-tauri/README.md)" >&2; exit 2; }
done

out="${1:-$(mktemp -d /tmp/tandem-e2e.XXXXXX)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# Workspace A, opened by the app.
ws="$out/alice"
rm -rf "$ws" "$out/bob" "$out"/*.png
mkdir -p "$ws/src"
printf 'fn main() {\n    println!("hello");\n}\n' > "$ws/src/main.rs"
printf '# End-to-end\n' > "$ws/README.md"
"$cli" init "$ws" >/dev/null

# The app's display name comes from $USER; its WebView data (recent workspaces) stays in $out.
export USER=alice XDG_DATA_HOME="$out/xdg/data" XDG_CONFIG_HOME="$out/xdg/config" XDG_CACHE_HOME="$out/xdg/cache"
status=0
"$here/driver.sh" "$out" bash -c 'python3 "$1/e2e.py" --app "$2" --cli "$3" --workspace "$4" --out "$5" --driver "$TAURI_DRIVER_URL"' \
  _ "$here" "$app" "$cli" "$ws" "$out" || status=$?
echo "e2e logs and screenshots: $out"
exit "$status"
