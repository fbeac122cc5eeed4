#!/bin/bash
# The OCI runtime CRI-O runs in the tests: Debian's runc, after fitting the bundle's config.json
# (or an exec --process file) to what root may do on these machines. CRI-O asks for
# oom_score_adj -998 and, for privileged containers, capabilities outside our bounding set; runc
# fails both here. The rewriting is oci-spec-rewrite.js; this script only decides when to call it
# (create, run, exec: the commands that read a process spec) and then becomes runc, so CRI-O and
# conmon see runc's own exit code, output, signals and file descriptors.
#
# Environment (set by the harness's launcher in the instance folder):
#   CRITAP_RUNC         the real runc
#   CRITAP_NODE         node, to run CRITAP_SPEC_REWRITE (oci-spec-rewrite.js)
#   CRITAP_ID_LOG       a file to append each created container's id to: CRI-O leaves the cgroups
#                       of failed containers behind (outside the instance folder), and the cleanup
#                       removes the ones named after these ids.
set -uo pipefail

runc="${CRITAP_RUNC:-/usr/sbin/runc}"
for arg in "$@"; do
  case "$arg" in
    create|run|exec)
      if [[ $arg != exec && -n ${CRITAP_ID_LOG:-} ]]; then
        printf '%s\n' "${!#}" >>"$CRITAP_ID_LOG"   # runc's last argument is the container id
      fi
      "${CRITAP_NODE:-node}" "${CRITAP_SPEC_REWRITE:?CRITAP_SPEC_REWRITE is not set}" "$@" || true
      break
      ;;
  esac
done
exec "$runc" "$@"
