#!/usr/bin/env bash
# Runs a command in a virtual display (Xvfb) with tauri-driver listening on a free port, whose URL
# the command gets in TAURI_DRIVER_URL; tauri-driver's log goes to LOGDIR/tauri-driver.log.
# When dbus-run-session and dunst are there, the display also gets a session bus with a real
# notification server (dunst, drawing on the virtual display), so the app's native notifications
# can be checked (`dunstctl history`); the command gets TANDEM_NOTIFICATIONS=1 then.
#   src-tauri/e2e/driver.sh LOGDIR COMMAND [ARGS...]
# Needs python3, xvfb (xvfb-run, xauth), webkit2gtk-driver (WebKitWebDriver) and tauri-driver
# (cargo install tauri-driver --version '^2' --locked). Exits with the command's exit code.
set -euo pipefail
for cmd in python3 xvfb-run xauth WebKitWebDriver tauri-driver; do
  command -v "$cmd" >/dev/null || { echo "$cmd not found: install it first (see src-tauri/README.md)" >&2; exit 2; }
done
log="$1"
shift
mkdir -p "$log"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
native="$(free_port)"
export PYTHONDONTWRITEBYTECODE=1
# (Not WEBKIT_DISABLE_COMPOSITING_MODE: with it, WebKitWebDriver's screenshots hang.)
bus=()
if command -v dbus-run-session >/dev/null && command -v dunst >/dev/null; then
  bus=(dbus-run-session --)
fi
xvfb-run -a -s "-screen 0 1440x900x24" "${bus[@]}" bash -c '
  pids=()
  if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    dunst >"$3/dunst.log" 2>&1 &
    pids+=($!)
    export TANDEM_NOTIFICATIONS=1
  fi
  tauri-driver --port "$1" --native-port "$2" >"$3/tauri-driver.log" 2>&1 &
  pids+=($!)
  trap "kill ${pids[*]} 2>/dev/null; wait ${pids[*]} 2>/dev/null" EXIT
  export TAURI_DRIVER_URL="http://127.0.0.1:$1"
  shift 3
  "$@"
' _ "$port" "$native" "$log" "$@"
