#!/usr/bin/env bash
# The Debian package test (run as root on a throwaway machine or chroot --
# the 18 leg of the matrix runs it in the forky chroot -- never on a
# developer's machine: it installs and removes packages):
#
#     bash test/chroot/package.sh
#
# Builds the packages from debian/ with dpkg-buildpackage -us -uc -b (the
# pgxs debhelper sequence: pg_buildext, out of tree in build-NN/), checks
# that there is one postgresql-NN-mtls-ident per installed major, installs
# them, and on each major starts a cluster that preloads mtls_ident from
# the package and creates the extension at the control file's version.
# Purges the packages at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. test/lib/common.sh

[ "$(id -u)" -eq 0 ] || { echo "package.sh: run as root, in a chroot or throwaway machine" >&2; exit 2; }
install_packages $PACKAGING_PACKAGES

version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" mtls_ident.control)
work=$(mktemp -d /tmp/mtls_ident_pkg.XXXXXX)
chmod 755 "$work"
pkgs=""
cleanup() {
	set +e
	for d in "$work"/pg/cluster-*; do
		[ -f "$d/postmaster.pid" ] && runuser -u postgres -- \
			"/usr/lib/postgresql/${d##*/cluster-}/bin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
	done
	[ -n "$pkgs" ] && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $pkgs >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

say "dpkg-buildpackage -us -uc -b (mtls-ident $version)"
src=$work/mtls-ident-$version
mkdir -p "$src"
tar -C "$top" --exclude=.git --exclude='tmp_check*' --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$src" -xf -
(
	cd "$src"
	# debian/control for the majors installed here (pg_buildext checks it)
	pg_buildext updatecontrol
	DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b
) > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; echo "package.sh: the build failed"; exit 1; }
grep -E '\.[ch]:[0-9]+:[0-9]+: warning:' "$work/build.log" && { echo "package.sh: compiler warnings"; exit 1; }
grep -q 'build-[0-9]*' "$work/build.log" || { echo "package.sh: no out-of-tree build-NN/ build"; exit 1; }

# the majors pg_buildext builds for: debian/pgversions and postgresql-common's
# supported versions, whose server headers are installed
majors=
for v in $(cd "$src" && pg_buildext supported-versions); do
	[ -x "/usr/lib/postgresql/$v/bin/pg_config" ] && majors="$majors $v"
done
echo "majors with server headers:$majors"
[ -n "$majors" ] || { echo "package.sh: no PostgreSQL major to package for"; exit 1; }
status=0
for v in $majors; do
	deb=$(ls "$work"/postgresql-$v-mtls-ident_${version}_*.deb 2>/dev/null || true)
	if [ -z "$deb" ]; then
		echo "package.sh: no postgresql-$v-mtls-ident package"; status=1; continue
	fi
	echo "built: ${deb##*/}"
	dpkg-deb -c "$deb" | grep -E "mtls_ident(\.so|\.control|--1\.0\.sql|--1\.0--1\.1\.sql)$" | awk '{print "    " $6}'
	pkgs="$pkgs postgresql-$v-mtls-ident"
done
[ $status -eq 0 ] || exit 1
mkdir "$work/pg"
chown postgres "$work/pg"
say "installing$pkgs"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$work"/postgresql-*-mtls-ident_${version}_*.deb >/dev/null

for v in $majors; do
	bin=/usr/lib/postgresql/$v/bin
	lib=$("$bin/pg_config" --pkglibdir)/mtls_ident.so
	owner=$(dpkg -S "$lib" | cut -d: -f1)
	[ "$owner" = "postgresql-$v-mtls-ident" ] || { echo "package.sh: $lib belongs to '$owner'"; exit 1; }
	# (documentation may be excluded by dpkg's path-exclude, as in the chroots)
	changed=$(dpkg --verify "postgresql-$v-mtls-ident" | grep -v ' /usr/share/doc/' || true)
	[ -z "$changed" ] || { echo "package.sh: installed files differ from the package:"; echo "$changed"; exit 1; }
	say "PostgreSQL $v: a cluster preloading $lib from postgresql-$v-mtls-ident"
	d=$work/pg/cluster-$v
	port=$(( 20000 + RANDOM % 20000 ))
	runuser -u postgres -- "$bin/initdb" -D "$d" -A trust >/dev/null
	printf "%s\n" "shared_preload_libraries = 'mtls_ident'" "listen_addresses = ''" \
		"unix_socket_directories = '$work/pg'" "port = $port" >> "$d/postgresql.conf"
	runuser -u postgres -- "$bin/pg_ctl" -D "$d" -l "$work/pg/server-$v.log" -w start >/dev/null
	pm=$(head -1 "$d/postmaster.pid")
	grep -qF "$lib" "/proc/$pm/maps" || { echo "package.sh: the postmaster did not load $lib"; exit 1; }
	got=$(runuser -u postgres -- "$bin/psql" -X -h "$work/pg" -p "$port" -d postgres -At -v ON_ERROR_STOP=1 \
		-c "CREATE EXTENSION mtls_ident" \
		-c "SELECT extversion FROM pg_extension WHERE extname = 'mtls_ident'" \
		-c "SELECT count(*) FROM mtls_ident.stats")
	echo "$got" | sed 's/^/    /'
	[ "$(echo "$got" | sed -n 2p)" = "$version" ] || { echo "package.sh: extension version is not $version"; exit 1; }
	runuser -u postgres -- "$bin/pg_ctl" -D "$d" -m fast stop >/dev/null
	echo "postgresql-$v-mtls-ident: built, installed, loaded, CREATE EXTENSION at $version"
done
