#!/usr/bin/env bash
# Installs every Debian package in deps/debian.txt. Idempotent and non-interactive:
# does nothing (not even apt-get update) when all packages are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
list=${1:-deps/debian.txt}
mapfile -t pkgs < <(sed -e "s/#.*//" -e "/^[[:space:]]*$/d" "$list")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} Debian packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
