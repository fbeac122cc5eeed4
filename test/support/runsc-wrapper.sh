#!/bin/bash
# The OCI runtime of containerd's 'runsc' handler in the tests: gVisor's runsc, called by the runc
# shim (io.containerd.runc.v2 with options.BinaryName) exactly as it calls runc. Two things make it
# work on these machines:
# - --network=host --ignore-cgroups: without them the sandbox never reaches SANDBOX_READY here;
# - `kill` of a sandbox that has already exited: runsc says "sandbox is not running", which the runc
#   shim does not recognise as "already gone" (it looks for runc's "container not running"), so
#   containerd could never finish StopPodSandbox. That one answer is translated; every other call
#   becomes runsc unchanged.
set -uo pipefail

runsc="${CRITAP_RUNSC:-/usr/bin/runsc}"
flags=(--network=host --ignore-cgroups)

is_kill=false
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    kill) is_kill=true; break ;;
    *) ;;
  esac
done

if [[ $is_kill == false ]]; then
  exec "$runsc" "${flags[@]}" "$@"
fi

out="$("$runsc" "${flags[@]}" "$@" 2>&1)"
code=$?
if [[ $code -ne 0 && $out == *"is not running"* ]]; then
  printf '%s (container not running)\n' "$out" >&2
  exit "$code"
fi
[[ -n $out ]] && printf '%s\n' "$out" >&2
exit "$code"
