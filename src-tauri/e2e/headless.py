"""The `tandem` CLI and a headless peer running in the background, for the end-to-end tests."""

import json
import os
import signal
import socket
import subprocess


class CliError(AssertionError):
    """A `tandem` command failed."""


def tandem(cli, *args, timeout=60):
    """Runs `tandem ARGS...` and returns its stdout; raises CliError with its stderr on failure."""
    out = subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise CliError(f"tandem {' '.join(args[:3])} failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


class HeadlessPeer:
    """A `tandem join CODE DIR` process: joins by invite, then keeps serving DIR until stopped."""

    def __init__(self, cli, code, root, name, log_path):
        self.cli, self.root, self.name = cli, root, name
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [cli, "join", code, root, "--name", name, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def run(self, *args, timeout=60):
        """A CLI command against this peer (`tandem -C ROOT ARGS...`)."""
        self.check_alive()
        return tandem(self.cli, "-C", self.root, *args, timeout=timeout)

    def control(self, op, **fields):
        """One request on the peer's control socket (PROTOCOL.md, Appendix A); returns its result."""
        self.check_alive()
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(30)
            sock.connect(self.path(".tandem/control.sock"))
            sock.sendall((json.dumps({"op": op, **fields}) + "\n").encode())
            answer = json.loads(sock.makefile().readline())
        if not answer["ok"]:
            raise CliError(f"{op}: {answer['error']}")
        return answer.get("result")

    def json(self, *args):
        return json.loads(self.run(*args, "--json"))

    def peer_id(self):
        return self.json("status")["peer_id"]

    def path(self, rel):
        return os.path.join(self.root, rel)

    def read(self, rel):
        with open(self.path(rel), encoding="utf-8") as f:
            return f.read()

    def check_alive(self):
        if self.proc.poll() is not None:
            raise CliError(f"the headless peer exited with code {self.proc.returncode}; see {self.log.name}")

    def stop(self):
        """SIGTERM (a clean shutdown), then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
