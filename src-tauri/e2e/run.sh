#!/usr/bin/env bash
# Builds nothing: runs the smoke test against already built binaries in a virtual display.
# Needs: xvfb, webkit2gtk-driver, tauri-driver (cargo install tauri-driver --version '^2' --locked).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/tandem-target}"
app="$target/debug/tandem-desktop"
tandem="$target/debug/tandem"
tmp="$(mktemp -d)"
ws="$tmp/ws"
mkdir -p "$ws/src"
printf 'fn main() {\n    println!("hello");\n}\n' > "$ws/src/main.rs"
printf '# Smoke\n' > "$ws/README.md"
"$tandem" init "$ws" >/dev/null
export WEBKIT_DISABLE_COMPOSITING_MODE=1
xvfb-run -a -s "-screen 0 1440x900x24" bash -c '
  tauri-driver --port 4444 >"$5/tauri-driver.log" 2>&1 &
  driver=$!
  trap "kill $driver" EXIT
  TANDEM="$2" python3 "$3/smoke.py" "$4" "$1"
' _ "$ws" "$tandem" "$here" "$app" "$tmp"
echo "logs: $tmp"
