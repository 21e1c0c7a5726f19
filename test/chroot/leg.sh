#!/usr/bin/env bash
# One leg of the matrix in a chroot: the PostgreSQL major MAJOR from its
# Debian release (test/chroot/build.sh), the very same suite as on a fresh
# machine of that release:
#
#     bash test/chroot/leg.sh MAJOR
#
# Copies this tree (without .git and build products) to /root/mtls_ident in
# the chroot and runs there, as root with a clean environment:
#
#   17  bash test/demo.sh, then bash test/run.sh  (a fresh Debian 13: the
#       README's two commands, nothing preinstalled but minbase)
#   18  bash test/run.sh, then the Debian package test (test/chroot/package.sh)
#   19  PG_MAJOR=19 PG_APT_TARGET=experimental bash test/run.sh
#   15  bash test/run.sh (when the host is not Debian 12)
#
# /proc, /dev, /dev/pts and a tmpfs /dev/shm are mounted inside
# "unshare --mount --propagation private --ipc": the mounts belong to that mount
# namespace and vanish with it, even when the leg is killed, so the host
# never keeps a mount into a chroot; the leg's own System V IPC namespace
# keeps its servers' shared memory keys apart from other legs' (the
# network is shared: apt needs it, and test servers pick free ports on
# 127.0.0.1).  Ends with "total: N passed, M failed"
# for the leg (the demo and the package test count one each).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
major=${1:?usage: leg.sh MAJOR}

dir=$(bash "$here/build.sh" "$major") || { echo "leg pg$major: no chroot"; echo "total: 0 passed, 1 failed"; exit 1; }

src=$dir/root/mtls_ident
rm -rf --one-file-system "$src"
mkdir -p "$src"
tar -C "$top" --exclude=.git --exclude='tmp_check*' --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . \
	| tar -C "$src" -xf -

# run a shell command in the chroot, in /root/mtls_ident
in_chroot() {
	unshare --mount --propagation private --ipc -- bash -euc '
d=$1; shift
mount -t proc proc "$d/proc"
mount --bind /dev "$d/dev"
mount --bind /dev/pts "$d/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$d/dev/shm"
exec chroot "$d" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root LANG=C.UTF-8 TERM=dumb ${CI:+CI=$CI} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt "$@"
' _ "$dir" "$@"
}

# The certificate authorities this machine trusts besides Debian's (e.g. a
# proxy's between this machine and the package registries) are trusted in
# the chroot too: the chroot reaches the network through this machine.
# ca-certificates adds them to the bundle when it is installed (test/run.sh
# installs it) and here when it already is.
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
	mkdir -p "$dir/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
	if [ -x "$dir/usr/sbin/update-ca-certificates" ]; then
		in_chroot update-ca-certificates >/dev/null 2>&1 || true
	fi
fi

# 15 and 17 run the whole suite (17: exactly the README's command on a
# fresh Debian 13); 18 and 19 run the TAP files once, under ASan+UBSan,
# and no fuzz smoke (the pure modules are the same on every major), so
# that the matrix fits its time budget (doc/testing.md)
case $major in
	19) leg_env="PG_MAJOR=19 PG_APT_TARGET=experimental MTLS_TAP_PLAIN=0 MTLS_FUZZ=0" ;;
	18) leg_env="MTLS_TAP_PLAIN=0 MTLS_FUZZ=0" ;;
	*) leg_env="" ;;
esac

passed=0
failed=0
status=0
log=$(mktemp "${TMPDIR:-/tmp}/mtls_ident_leg$major.XXXXXX")
trap 'rm -f "$log"' EXIT

# an extra check that counts as one test
one() {
	local name=$1
	shift
	echo "==> pg$major: $name"
	if in_chroot bash -c "cd /root/mtls_ident && $*"; then
		passed=$((passed + 1))
		echo "pg$major $name: ok"
	else
		failed=$((failed + 1))
		status=1
		echo "pg$major $name: FAILED"
	fi
}

[ "$major" = 17 ] && one demo "bash test/demo.sh"

echo "==> pg$major: $leg_env bash test/run.sh"
in_chroot bash -c "cd /root/mtls_ident && $leg_env bash test/run.sh" 2>&1 \
	| tee "$log" | sed -u 's/^total: \([0-9]*\) passed, \([0-9]*\) failed$/pg'"$major"' suite: \1 passed \/ \2 failed/'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
t=$(sed -n 's/^total: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -1)
if [ -n "$t" ]; then
	set -- $t
	passed=$((passed + $1))
	failed=$((failed + $2))
else
	failed=$((failed + 1))
fi

if [ "$major" = 18 ] && [ -f "$top/test/chroot/package.sh" ]; then
	one "package" "bash test/chroot/package.sh"
fi

[ $status -ne 0 ] && [ $failed -eq 0 ] && failed=1
echo "total: $passed passed, $failed failed"
exit $status
