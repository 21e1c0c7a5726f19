# Shared by test/run.sh and test/demo.sh: install what is missing, build and
# install the extension, and run commands as an unprivileged user (the
# server refuses to run as root).  Sourced, not executed.

PGVER=15
PGBIN=/usr/lib/postgresql/$PGVER/bin
PG_CONFIG=$PGBIN/pg_config
PACKAGES="postgresql-$PGVER postgresql-server-dev-$PGVER libssl-dev libkrb5-dev libipc-run-perl make gcc openssl perl python3"
# monitoring and client tests (070_exporter.pl: Debian's exporter, curl;
# 071_clients.pl: node and npm for node-postgres, pgjdbc and a JDK).
# NodeSource's nodejs bundles npm and conflicts with Debian's npm package:
# ask for npm only when there is no npm command.
PACKAGES="$PACKAGES prometheus-postgres-exporter curl nodejs libpostgresql-jdbc-java default-jdk-headless"; command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
else
	SUDO="sudo"
fi

say() { printf '\n==> %s\n' "$*"; }

install_packages() {
	local missing="" p
	for p in $PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing:$missing"
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
	fi
	# Debian's postgresql-common may start a default cluster; we do not need it
	if command -v pg_lsclusters >/dev/null 2>&1; then
		$SUDO pg_ctlcluster $PGVER main stop >/dev/null 2>&1 || true
	fi
}

build_and_install() {
	say "building and installing mtls_ident"
	make -s PG_CONFIG=$PG_CONFIG >/dev/null
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
