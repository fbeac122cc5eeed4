#!/usr/bin/env bash
# Installs what the end-to-end tests need to start a real CRI runtime of their own:
# containerd (with its CRI plugin), runc, the CNI plugins, a static busybox to build
# images from, a local OCI registry, skopeo to push to it, htpasswd for its auth, and
# Prometheus (the telemetry e2e test runs every dashboard query against a real one), and what
# CRI-O needs beside its own binaries from ../shared/bin (conmon, libseccomp2) plus gVisor's runsc
# for the second runtime handler, and Chromium (the report test opens `critap report`'s page in a
# real headless browser), and socat (the benchmark's floor variant: a byte pipe to compare critap with).
# Idempotent: when every tool is already present it only says so and exits.
set -euo pipefail

say() { printf 'setup-runtime: %s\n' "$*"; }
die() { printf 'critap: setup-runtime: %s\n' "$*" >&2; exit 1; }

PACKAGES=(containerd runc containernetworking-plugins busybox-static docker-registry skopeo apache2-utils prometheus conmon libseccomp2 runsc chromium socat)

# One probe per package: a file it installs that the harness actually uses.
declare -A PROBE=(
  [containerd]=/usr/bin/containerd
  [runc]=/usr/sbin/runc
  [containernetworking-plugins]=/usr/lib/cni/bridge
  [busybox-static]=/bin/busybox
  [docker-registry]=/usr/bin/docker-registry
  [skopeo]=/usr/bin/skopeo
  [apache2-utils]=/usr/bin/htpasswd
  [prometheus]=/usr/bin/prometheus
  [conmon]=/usr/bin/conmon
  [libseccomp2]=/usr/lib/x86_64-linux-gnu/libseccomp.so.2
  [runsc]=/usr/bin/runsc
  [chromium]=/usr/bin/chromium
  [socat]=/usr/bin/socat
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  probe="${PROBE[$pkg]}"
  # runc may live in /usr/bin or /usr/sbin depending on the packaging.
  if [[ -e "$probe" ]] || { [[ $pkg == runc ]] && command -v runc >/dev/null 2>&1; }; then
    continue
  fi
  missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  say "all packages already installed: ${PACKAGES[*]}"
  exit 0
fi

say "missing: ${missing[*]}"
[[ $(id -u) -eq 0 ]] || die "must run as root to install packages (try: sudo $0)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages by hand: ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
# Other test processes may run this script at the same time; wait for dpkg's lock
# instead of failing on it.
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
say "apt-get update"
apt-get "${APT_OPTS[@]}" update -qq
say "apt-get install -y ${PACKAGES[*]}"
# --no-install-recommends keeps it small (no prometheus-node-exporter); policy-rc.d
# stops Debian starting the system containerd/registry/prometheus services, which the
# tests neither need nor want (a system prometheus would also hold :9090).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}"

for pkg in "${PACKAGES[@]}"; do
  probe="${PROBE[$pkg]}"
  if [[ ! -e "$probe" ]] && ! { [[ $pkg == runc ]] && command -v runc >/dev/null 2>&1; }; then
    die "$pkg was installed but $probe is still missing"
  fi
done
say "done"
