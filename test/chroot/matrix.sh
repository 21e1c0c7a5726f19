#!/usr/bin/env bash
# The test matrix over every supported PostgreSQL major (what
# "bash test/run.sh" runs outside a chroot; PG_MAJOR=NN runs that one leg):
#
#   15  Debian 12's postgresql-15       17  Debian 13 (trixie)
#   18  Debian forky                    19  Debian experimental
#
# The distribution's own major runs on this machine (MTLS_MATRIX=0 bash
# test/run.sh); the others in chroots (test/chroot/leg.sh).  Every chroot
# is built (or found in the cache) in the background at the start.  Legs
# run MTLS_LEG_JOBS at a time (default 3): a leg spends most of its time
# waiting on servers, timeouts and apt, not on the CPU, and two at a time
# keep a 2-core machine within budget while timing-sensitive tests still
# have a core (doc/testing.md has the measurements).  Each leg's output is
# printed when it ends, its "total:" line shown as "pgNN suite: ..." or
# "pgNN leg: ...", then "pgNN subtotal: N passed / M failed"; the run ends
# with the one line "total: N passed, M failed" over all legs.  Logs stay
# in ${TMPDIR:-/tmp}/mtls_ident_matrix.*/; a leg taking more than
# MTLS_LEG_TIMEOUT seconds (default 2400) is stopped and fails.
# MTLS_HOST_LEG=0 runs every leg in a chroot (15 in a Debian 12 one),
# leaving this machine's PostgreSQL alone.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"

native=$(unset PG_MAJOR PG_CONFIG; . test/lib/common.sh >/dev/null; echo "$PGVER")
majors=${PG_MAJOR:-"15 17 18 19"}
jobs=${MTLS_LEG_JOBS:-3}
logs=$(mktemp -d "${TMPDIR:-/tmp}/mtls_ident_matrix.XXXXXX")
chmod 755 "$logs"
started=$(date +%s)
echo "matrix: PostgreSQL $majors (this machine: $([ "${MTLS_HOST_LEG:-1}" != 0 ] && echo "$native" || echo none), the others in chroots; $jobs legs at a time; logs in $logs)"

# a leg runs here when it is this distribution's major (or its server is
# installed here), otherwise in a chroot (root only)
# (MTLS_HOST_LEG=0: every leg in a chroot, this machine's PostgreSQL untouched)
runs_here() {
	[ "${MTLS_HOST_LEG:-1}" != 0 ] || return 1
	[ "$1" = "$native" ] || [ -x "/usr/lib/postgresql/$1/bin/pg_config" ]
}

if [ "$(id -u)" -eq 0 ]; then
	for m in $majors; do
		runs_here "$m" || bash "$here/build.sh" "$m" >"$logs/chroot-pg$m.log" 2>&1 &
	done
fi

# one leg, output to $logs/pgNN.log, its time to $logs/pgNN.time
run_leg() {
	local m=$1 t0 rc
	t0=$(date +%s)
	if runs_here "$m"; then
		echo "######## PostgreSQL $m on this machine ########"
		timeout --kill-after=60 "${MTLS_LEG_TIMEOUT:-2400}" env MTLS_MATRIX=0 PG_MAJOR="$m" bash "$top/test/run.sh"
	elif [ "$(id -u)" -ne 0 ]; then
		echo "######## PostgreSQL $m: skipped, a chroot needs root ########"
		false
	else
		echo "######## PostgreSQL $m in a chroot ########"
		timeout --kill-after=60 "${MTLS_LEG_TIMEOUT:-2400}" bash "$here/leg.sh" "$m"
	fi
	rc=$?
	[ $rc -eq 124 ] && echo "matrix: pg$m stopped after ${MTLS_LEG_TIMEOUT:-2400} s"
	echo "$rc $(($(date +%s) - t0))" > "$logs/pg$m.time"
} 

declare -A active=()    # pid => major of the legs running
# stopped: stop the legs too (each runs under timeout, in a process group
# of its own; timeout passes the signal on)
stop_legs() {
	local pid
	for pid in "${!active[@]}"; do pkill -TERM -P "$pid" 2>/dev/null; done
}
trap 'stop_legs; exit 130' INT TERM
for m in $majors; do
	while [ "${#active[@]}" -ge "$jobs" ]; do
		done_pid=
		wait -n -p done_pid "${!active[@]}"
		[ -n "$done_pid" ] && unset "active[$done_pid]"
	done
	run_leg "$m" >"$logs/pg$m.log" 2>&1 &
	active[$!]=$m
	echo "matrix: pg$m started at +$(($(date +%s) - started)) s"
done
wait

total_passed=0
total_failed=0
summary=""
for m in $majors; do
	echo
	sed 's/^total: \([0-9]*\) passed, \([0-9]*\) failed$/pg'"$m"' leg: \1 passed \/ \2 failed/' "$logs/pg$m.log"
	read -r rc secs < "$logs/pg$m.time" || { rc=1; secs=0; }
	r=$(sed -n 's/^total: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$logs/pg$m.log" | tail -1)
	p=0
	f=1
	[ -n "$r" ] && { set -- $r; p=$1; f=$2; }
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	line="pg$m subtotal: $p passed / $f failed ($secs s)"
	echo "$line"
	summary="$summary$line"$'\n'
done

echo
echo "######## all majors: $(($(date +%s) - started)) s; logs in $logs ########"
printf '%s' "$summary"
echo "total: $total_passed passed, $total_failed failed"
[ $total_failed -eq 0 ]
