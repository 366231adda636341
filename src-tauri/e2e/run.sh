#!/usr/bin/env bash
# Runs the end-to-end tests (e2e.py) against already built binaries, in a virtual display.
#   src-tauri/e2e/run.sh [OUT]     OUT: where logs, screenshots and the peers' folders go
#                                  (default: a new folder under /tmp); printed at the end.
# Needs the app and the CLI built (target/debug/tandem-desktop, target/debug/tandem), python3,
# and xvfb, webkit2gtk-driver and tauri-driver (cargo install tauri-driver --version '^2' --locked).
# TANDEM_DESKTOP and TANDEM_CLI may name other binaries. Exits non-zero when a step failed; the
# last line of e2e.py's output counts the steps.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/tandem-target}"
app="${TANDEM_DESKTOP:-$target/debug/tandem-desktop}"
cli="${TANDEM_CLI:-$target/debug/tandem}"
for bin in "$app" "$cli"; do
  [ -x "$bin" ] || { echo "e2e: $bin is missing: build the app and the CLI first (see src-tauri/README.md)" >&2; exit 2; }
done
for cmd in python3 xvfb-run xauth WebKitWebDriver tauri-driver; do
  command -v "$cmd" >/dev/null || { echo "e2e: $cmd not found: install it first (see src-tauri/README.md)" >&2; exit 2; }
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
native="$(free_port)"

# The app's display name comes from $USER; its WebView data (recent workspaces) stays in $out.
export USER=alice XDG_DATA_HOME="$out/xdg/data" XDG_CONFIG_HOME="$out/xdg/config" XDG_CACHE_HOME="$out/xdg/cache"
# (Not WEBKIT_DISABLE_COMPOSITING_MODE: with it, WebKitWebDriver's screenshots hang.)
status=0
xvfb-run -a -s "-screen 0 1440x900x24" bash -c '
  tauri-driver --port "$1" --native-port "$2" >"$3/tauri-driver.log" 2>&1 &
  driver=$!
  trap "kill $driver 2>/dev/null; wait $driver 2>/dev/null" EXIT
  python3 "$4/e2e.py" --app "$5" --cli "$6" --workspace "$7" --out "$3" --driver "http://127.0.0.1:$1"
' _ "$port" "$native" "$out" "$here" "$app" "$cli" "$ws" || status=$?
echo "e2e logs and screenshots: $out"
exit "$status"
