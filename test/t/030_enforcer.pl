# Certificates hold for the whole session: the enforcer worker and the
# per-backend expiry checks end live sessions whose certificate expired,
# whose binding was removed or whose role got a revocation cutoff; audit
# mode only logs; the worker comes back after it dies.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $node = new_node(
	'enforcer',
	conf => "restart_after_crash = on\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

sub set_conf
{
	my ($line) = @_;
	$node->append_conf('postgresql.conf', "$line\n");
	$node->reload;
	return;
}

sub worker_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'"
	);
}

sub log_offset
{
	return -s $node->logfile;
}

# --- the worker ------------------------------------------------------------

ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity "
		  . "WHERE backend_type = 'mtls_ident enforcer' AND datname = 'postgres'"),
	'the enforcer worker runs, connected to mtls_ident.database');

# --- expiry: idle, after an ERROR, and unaffected ----------------------------

bound_role($node, 'alice', 'alice');
my $off = log_offset();
my $soon_idle = mint_cert(san => spiffe('alice'), end_offset => 12);
my $soon_err = mint_cert(san => spiffe('alice'), end_offset => 12);
my $long = mint_cert(san => spiffe('alice'));
my $s_idle = open_session($node, $soon_idle, 'alice');
my $s_err = open_session($node, $soon_err, 'alice');
my $s_long = open_session($node, $long, 'alice');

my (undef, $err) = $s_err->query('SELECT 1/0');
like($err, qr/division by zero/,
	'a session hits an ERROR (PostgreSQL cancels its timeouts)');

ok(session_gone($node, $s_idle->pid),
	'an idle session is ended once its certificate expired');
ok(session_gone($node, $s_err->pid),
	'a session whose timeouts an ERROR cancelled is ended too');
like(
	$s_idle->ended_message,
	qr/FATAL:  terminating connection because the client certificate expired/,
	'the idle client is told its certificate expired');
like(
	$s_err->ended_message,
	qr/FATAL:  terminating connection because the client certificate expired/,
	'the client that hit an ERROR is told its certificate expired');
my $errpid = $s_err->pid;
ok( $node->log_contains(
		qr/mtls_ident: ending session pid=$errpid role="alice" identity=uri:spiffe:\/\/example\.org\/ns\/prod\/sa\/alice: reason=expired/,
		$off),
	'the worker logged the ending with pid, role, identity and reason');
sleep(2);
still_alive($node, $s_long, 'certificate valid for a day');
$s_idle->quit;
$s_err->quit;

# --- a statement started after expiry gets a clear FATAL ---------------------

# With the sweep disabled and the timeout cancelled by an ERROR, only the
# statement-start check is left.
set_conf("mtls_ident.enforce_interval = 0");
my $late = mint_cert(san => spiffe('alice'), end_offset => 8);
my $s_late = open_session($node, $late, 'alice');
$s_late->query('SELECT 1/0');
my $latepid = $s_late->pid;
ok( $node->poll_query_until(
		'postgres',
		"SELECT now() > not_after + interval '2 s' FROM mtls_ident.sessions WHERE pid = $latepid"
	),
	'with the sweep disabled, a session outlives its certificate while idle');
my (undef, $late_err) = $s_late->query('SELECT 1');
like(
	$late_err,
	qr/FATAL:  terminating connection because the client certificate expired/,
	'a statement started after expiry ends the session with a clear FATAL');
like($late_err, qr/DETAIL:  The certificate expired at \d{4}-\d\d-\d\d /,
	'the FATAL says when the certificate expired');
ok(session_gone($node, $latepid), 'that session is gone');
$s_late->quit;
set_conf("mtls_ident.enforce_interval = '1s'");

# --- unbind ends exactly the sessions it affects ------------------------------

bound_role($node, 'ub', 'ub1', 'ub2');
bound_role($node, 'ub_other', 'ub1');
my $c_ub1 = mint_cert(san => spiffe('ub1'));
my $c_ub2 = mint_cert(san => spiffe('ub2'));
my $s_ub1 = open_session($node, $c_ub1, 'ub');
my $s_ub2 = open_session($node, $c_ub2, 'ub');
my $s_ub_other = open_session($node, $c_ub1, 'ub_other');
$off = log_offset();
is( $node->safe_psql(
		'postgres',
		"SELECT mtls_ident.unbind('ub', 'uri:spiffe://example.org/ns/prod/sa/ub1')"
	),
	't',
	'unbind');
ok(session_gone($node, $s_ub1->pid),
	'unbind ends the session that used the removed binding');
like(
	$s_ub1->ended_message,
	qr/FATAL:  terminating connection because the client certificate no longer matches the role's bindings/,
	'that client is told why');
my $ub1pid = $s_ub1->pid;
ok( $node->log_contains(
		qr/ending session pid=$ub1pid role="ub" identity=uri:spiffe:\/\/example\.org\/ns\/prod\/sa\/ub1: reason=no_match/,
		$off),
	'the log says why');
sleep(2);
still_alive($node, $s_ub2, 'same role, other binding');
still_alive($node, $s_ub_other, 'other role, same identity');
$node->connect_fails(
	client_connstr($node, $c_ub1, user => 'ub'),
	'after unbind, the next login is refused',
	expected_stderr => qr/certificate authentication failed for user "ub"/,
	log_like => [qr/reason=no_match/]);
$_->quit for ($s_ub1, $s_ub2, $s_ub_other);

# --- revoke_issued_before ends exactly the sessions it affects ---------------

bound_role($node, 'rc', 'rc');
bound_role($node, 'rc_other', 'rc');
my $c_old = mint_cert(san => spiffe('rc'), start_offset => -7200);
my $c_new = mint_cert(san => spiffe('rc'), start_offset => -60);
my $s_old = open_session($node, $c_old, 'rc');
my $s_new = open_session($node, $c_new, 'rc');
my $s_rc_other = open_session($node, $c_old, 'rc_other');
$off = log_offset();
$node->safe_psql('postgres',
	"SELECT mtls_ident.revoke_issued_before('rc', now() - interval '1 hour')");
ok(session_gone($node, $s_old->pid),
	'revoke_issued_before ends the session whose certificate is older than the cutoff'
);
my $oldpid = $s_old->pid;
ok( $node->log_contains(
		qr/ending session pid=$oldpid role="rc" .*reason=issued_before_cutoff/,
		$off),
	'the log says issued_before_cutoff');
like(
	$s_old->ended_message,
	qr/terminating connection because the client certificate was issued before the role's revocation cutoff/,
	'that client is told why');
sleep(2);
still_alive($node, $s_new, 'same role, certificate issued after the cutoff');
still_alive($node, $s_rc_other, 'other role, same old certificate');
$_->quit for ($s_old, $s_new, $s_rc_other);

# --- audit mode logs instead of ending -------------------------------------

set_conf("mtls_ident.mode = audit");
$off = log_offset();
my $c_audit = mint_cert(san => spiffe('alice'), end_offset => 8);
my $s_audit = open_session($node, $c_audit, 'alice');
my $auditpid = $s_audit->pid;
ok( $node->wait_for_log(
		qr/would end session pid=$auditpid role="alice" .*reason=expired/, $off),
	'audit mode: the worker logs the session it would end');
sleep(2);
still_alive($node, $s_audit, 'audit mode: the expired session');
ok(!$node->log_contains(qr/ending session pid=$auditpid /, $off),
	'audit mode: no session was ended');
set_conf("mtls_ident.mode = enforce");
ok(session_gone($node, $auditpid),
	'back in enforce mode, the expired session is ended');
$s_audit->quit;
$s_long->quit;

# --- an ERROR while checking one session does not stop the sweep -------------

bound_role($node, 'corrupt', 'corrupt');
my $s_corrupt =
  open_session($node, mint_cert(san => spiffe('corrupt')), 'corrupt');
$node->safe_psql('postgres',
	"SET allow_system_table_mods = on; "
	  . "UPDATE pg_shseclabel SET label = 'not a label' "
	  . "WHERE provider = 'mtls_ident' AND objoid = 'corrupt'::regrole");
my $wpid = worker_pid();
$off = log_offset();
my $s_exp = open_session($node, mint_cert(san => spiffe('alice'), end_offset => 8),
	'alice');
$s_exp->query('SELECT 1/0');
ok(session_gone($node, $s_exp->pid),
	'a corrupt label on another role does not stop the sweep');
ok($node->log_contains(qr/ERROR:  invalid mtls_ident label on role with OID/, $off),
	'the ERROR while checking that session is logged');
is(worker_pid(), $wpid, 'the worker kept running');
$node->safe_psql('postgres', 'SECURITY LABEL FOR mtls_ident ON ROLE corrupt IS NULL');
$s_corrupt->quit;
$s_exp->quit;

# --- the worker comes back ---------------------------------------------------

$wpid = worker_pid();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($wpid)");
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity "
		  . "WHERE backend_type = 'mtls_ident enforcer' AND pid <> $wpid"),
	'the worker is restarted after it exits');

$wpid = worker_pid();
$off = log_offset();
kill 'KILL', $wpid;
ok(crash_restart_wait($node, $off),
	'SIGKILL of the worker makes the postmaster restart');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity "
		  . "WHERE backend_type = 'mtls_ident enforcer' AND pid <> $wpid"),
	'the worker is back after the crash restart');
my $c_after = mint_cert(san => spiffe('alice'), end_offset => 10);
my $s_after = open_session($node, $c_after, 'alice');
$s_after->query('SELECT 1/0');
my $afterpid = $s_after->pid;
ok(session_gone($node, $afterpid),
	'after the crash restart, an expired session is ended again');
ok( $node->log_contains(
		qr/ending session pid=$afterpid role="alice" .*reason=expired/, $off),
	'by the new worker');
$s_after->quit;

$node->stop;
done_testing();
