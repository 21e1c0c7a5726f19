# Shared by test/run.sh and test/demo.sh: install what is missing, build and
# install the extension, and run commands as an unprivileged user (the
# server refuses to run as root).  Sourced, not executed.

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
else
	SUDO="sudo"
fi

say() { printf '\n==> %s\n' "$*"; }

# The PostgreSQL major to test: PG_MAJOR, or the one of PG_CONFIG, or the
# distribution's default (what its "postgresql" metapackage depends on:
# 15 on Debian 12, 17 on Debian 13, 18 on forky).
distro_pg_major() {
	local v
	v=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -1)
	if [ -z "$v" ]; then
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		v=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -1)
	fi
	echo "$v"
}
if [ -n "${PG_MAJOR:-}" ]; then
	PGVER=$PG_MAJOR
elif [ -n "${PG_CONFIG:-}" ]; then
	PGVER=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p')
else
	PGVER=$(distro_pg_major)
fi
case $PGVER in
	''|*[!0-9]*) echo "no PostgreSQL major found: set PG_MAJOR (e.g. PG_MAJOR=17) or PG_CONFIG" >&2; exit 2 ;;
esac
PGBIN=/usr/lib/postgresql/$PGVER/bin
if [ -n "${PG_CONFIG:-}" ]; then
	PGBIN=$("$PG_CONFIG" --bindir)
else
	PG_CONFIG=$PGBIN/pg_config
fi
export PG_MAJOR=$PGVER

# Every package a test needs, on the host and in every chroot of the
# matrix (test/chroot/): add a new test's packages here.
PACKAGES="postgresql-$PGVER postgresql-server-dev-$PGVER libssl-dev libkrb5-dev libipc-run-perl make gcc openssl perl"
# python3: the CRL server of 041; curl and Debian's exporter: 070; node,
# npm, pgjdbc and a JDK: the clients without libpq of 071
PACKAGES="$PACKAGES python3 curl ca-certificates prometheus-postgres-exporter nodejs npm"
PACKAGES="$PACKAGES libpostgresql-jdbc-java default-jdk-headless"
# what the Debian package test (test/chroot/package.sh) needs besides
PACKAGING_PACKAGES="build-essential dpkg-dev debhelper postgresql-server-dev-all"
# the server packages from another release (the 19 leg: experimental;
# only 19~rc1 is in the frozen archive copy)
PG_APT_TARGET=${PG_APT_TARGET:-}

install_packages() {
	local missing="" p provided
	# what installed packages provide counts too (e.g. a nodejs package
	# that provides npm and conflicts with Debian's)
	provided=" $(dpkg-query -W -f='${db:Status-Status} ${Provides}\n' 2>/dev/null \
		| sed -n 's/^installed //p' | sed 's/([^)]*)//g' | tr ',\n' '  ' | tr -s ' ') "
	for p in $PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" && continue
		case $provided in *" $p "*) continue ;; esac
		missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing:$missing"
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		if [ -n "$PG_APT_TARGET" ]; then
			# these packages alone from that release (with -t, everything
			# would come from it where it can: experimental's perl, ...)
			$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				postgresql-$PGVER/$PG_APT_TARGET postgresql-server-dev-$PGVER/$PG_APT_TARGET \
				postgresql-client-$PGVER/$PG_APT_TARGET libpq-dev/$PG_APT_TARGET libpq5/$PG_APT_TARGET >/dev/null
		fi
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
	fi
	# Debian's postgresql-common may start a default cluster; we do not need it
	if command -v pg_lsclusters >/dev/null 2>&1; then
		$SUDO pg_ctlcluster $PGVER main stop >/dev/null 2>&1 || true
	fi
}

# (the compiler's messages are also kept in $BUILD_LOG, if set)
build_and_install() {
	say "building and installing mtls_ident"
	if [ -n "${BUILD_LOG:-}" ]; then
		make -s PG_CONFIG=$PG_CONFIG 2>&1 >/dev/null | tee "$BUILD_LOG" >&2
		[ "${PIPESTATUS[0]}" -eq 0 ] || return 1
	else
		make -s PG_CONFIG=$PG_CONFIG >/dev/null
	fi
	$SUDO make -s PG_CONFIG=$PG_CONFIG install >/dev/null
}

# The unprivileged user that runs clusters: ourselves, or postgres when root.
if [ "$(id -u)" -eq 0 ]; then
	RUNAS=postgres
else
	RUNAS=$(id -un)
fi

# run a command as $RUNAS with the PostgreSQL binaries first on PATH
as_runas() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$RUNAS" -- env PATH="$PGBIN:$PATH" HOME="${RUNAS_HOME:-/tmp}" "$@"
	else
		env PATH="$PGBIN:$PATH" "$@"
	fi
}

# a scratch copy of the tree that $RUNAS can write to
scratch_copy() {
	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/mtls_ident.XXXXXX")
	tar -C "$1" --exclude=.git --exclude='tmp_check*' --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$dir" -xf -
	if [ "$(id -u)" -eq 0 ]; then
		chown -R "$RUNAS" "$dir"
	fi
	echo "$dir"
}
