#!/usr/bin/env bash
# A minimal Debian chroot for one PostgreSQL major, built from nothing:
#
#     bash test/chroot/build.sh MAJOR      # prints the chroot's directory
#
#   15  Debian 12 (bookworm)      postgresql-15
#   17  Debian 13 (trixie)        postgresql-17
#   18  Debian forky (testing)    postgresql-18   (debootstrap's sid script)
#   19  Debian sid + experimental postgresql-19   (installed with -t experimental)
#
# debootstrap --variant=minbase, then only configuration: services never
# start (policy-rc.d), postgresql-common creates no default cluster,
# apt ignores Valid-Until (the archive copy is frozen; forky's index is past
# it) and keeps configuration files without asking.  Nothing else is
# installed here: test/run.sh, run inside, installs what it needs, as on a
# fresh machine of that distribution.
#
# The chroot is kept in ${MTLS_CHROOT_CACHE:-/var/cache/mtls_ident}/pgMAJOR
# and reused while its stamp matches this script; it is built in a
# temporary directory and renamed when complete, so a killed build leaves
# nothing that looks usable.  debootstrap runs in its own mount namespace
# (unshare --mount --propagation private): whatever it mounts vanishes when
# it ends, even when killed, so a half-built directory can be deleted.
# Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
major=${1:?usage: build.sh MAJOR}
cache=${MTLS_CHROOT_CACHE:-/var/cache/mtls_ident}
mirror=${MTLS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

case $major in
	15) suite=bookworm; script=bookworm ;;
	17) suite=trixie; script=sid ;;
	18) suite=forky; script=sid ;;
	19) suite=sid; script=sid ;;
	*) echo "build.sh: no chroot recipe for PostgreSQL $major" >&2; exit 2 ;;
esac

dir=$cache/pg$major
mkdir -p "$cache"
# one builder per chroot at a time (the matrix builds them ahead of their legs)
exec 9>"$cache/pg$major.lock"
flock 9
stamp="mtls_ident chroot pg$major $suite $(sha256sum "$here/build.sh" | cut -c1-16)"
if [ -f "$dir/.mtls_ident_stamp" ] && [ "$(cat "$dir/.mtls_ident_stamp")" = "$stamp" ]; then
	echo "$dir"
	exit 0
fi

# never delete a directory something is still mounted in
mounted_under() { awk -v d="$1/" 'index($2 "/", d) == 1 { found = 1 } END { exit !found }' /proc/mounts; }
remove_tree() {
	if mounted_under "$1"; then
		echo "build.sh: $1 still has mounts; not removing it" >&2
		exit 2
	fi
	rm -rf --one-file-system "$1"
}

command -v debootstrap >/dev/null 2>&1 || {
	echo "==> installing debootstrap" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
tmp=$dir.tmp
[ -e "$tmp" ] && remove_tree "$tmp"
started=$(date +%s)
echo "==> debootstrap --variant=minbase $suite into $tmp" >&2
unshare --mount --propagation private -- \
	debootstrap --variant=minbase "$suite" "$tmp" "$mirror" \
	"/usr/share/debootstrap/scripts/$script" >"$cache/pg$major.debootstrap.log" 2>&1 || {
	tail -30 "$cache/pg$major.debootstrap.log" >&2
	exit 1
}

# no service starts inside
printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
chmod 755 "$tmp/usr/sbin/policy-rc.d"
# no default cluster (postgresql-common reads this when a server package is installed)
mkdir -p "$tmp/etc/postgresql-common"
echo "create_main_cluster = false" > "$tmp/etc/postgresql-common/createcluster.conf"
cat > "$tmp/etc/apt/apt.conf.d/90mtls_ident" <<'APT'
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
APT::Install-Recommends "false";
Dpkg::Options { "--force-confdef"; "--force-confold"; };
APT
# no documentation, to keep the chroot small
cat > "$tmp/etc/dpkg/dpkg.cfg.d/90mtls_ident" <<'DPKG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
DPKG
if [ "$major" = 19 ]; then
	echo "deb $mirror experimental main" >> "$tmp/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
echo "$stamp" > "$tmp/.mtls_ident_stamp"

[ -e "$dir" ] && remove_tree "$dir"
mv "$tmp" "$dir"
echo "==> chroot pg$major ($suite) built in $(($(date +%s) - started)) s" >&2
echo "$dir"
