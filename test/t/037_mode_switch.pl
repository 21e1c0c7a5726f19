# Switching mtls_ident.mode (doc/enforcement.md, "Switching modes"): a
# certificate session that began while mode = off, or that audit mode let in
# as would_reject, is judged by the enforcer like any other once the mode is
# enforce -- with the rules and bindings as they are then.  Sessions that
# PostgreSQL alone admitted (a role without bindings, pg_hba method cert)
# stay PostgreSQL's business.

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
	'modes',
	conf => "mtls_ident.enforce_interval = '1s'\nmtls_ident.expiry_warning = 0\n",
	hba => "hostssl all certonly 127.0.0.1/32 cert\n"
	  . "hostssl all all 127.0.0.1/32 trust clientcert=verify-ca");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
$node->safe_psql('postgres', 'CREATE ROLE unbound LOGIN; CREATE ROLE certonly LOGIN');
bound_role($node, 'ms', 'ms1');

sub set_mode
{
	my ($mode) = @_;
	$node->append_conf('postgresql.conf', "mtls_ident.mode = $mode\n");
	$node->reload;
	$node->poll_query_until('postgres', "SELECT current_setting('mtls_ident.mode') = '$mode'")
	  or die "mode $mode not reloaded";
	return;
}

my $c_ms1 = mint_cert(san => spiffe('ms1'));
my $c_other = mint_cert(san => spiffe('other'));
my $c_cn = mint_cert(cn => 'certonly', san => spiffe('certonly'));

# --- off -> enforce -----------------------------------------------------------

set_mode('off');
my $s_nomatch = open_session($node, $c_other, 'ms');
my $s_match = open_session($node, $c_ms1, 'ms');
my $s_unbound = open_session($node, $c_ms1, 'unbound');
my $s_expiring = open_session($node, mint_cert(san => spiffe('ms1'), end_offset => 8), 'ms');
my $s_cert = open_session($node, $c_cn, 'certonly');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM mtls_ident.sessions WHERE identity IS NULL AND pid IN ("
		  . join(',', map { $_->pid } $s_nomatch, $s_match, $s_unbound, $s_expiring, $s_cert) . ")"),
	'5',
	'mode off: certificate sessions are published, unjudged (no identity)');
is($node->safe_psql('postgres', "SELECT count(*) FROM mtls_ident.auth_log"), '0',
	'mode off: nothing is recorded');
ok($node->poll_query_until('postgres',
		"SELECT now() > not_after + interval '2 s' FROM mtls_ident.sessions WHERE pid = " . $s_expiring->pid),
	'mode off: a session outlives its certificate');
still_alive($node, $s_nomatch, 'mode off: a certificate that matches no binding');
still_alive($node, $s_unbound, 'mode off: a role without bindings on a trust line');

my $off = -s $node->logfile;
set_mode('enforce');
ok(session_gone($node, $s_nomatch->pid), 'off -> enforce: the session whose certificate matches no binding is ended');
like($s_nomatch->ended_message, qr/no longer matches the role's bindings/, 'and told why');
ok(session_gone($node, $s_unbound->pid), 'off -> enforce: the session of a role without bindings (trust) is ended');
ok(session_gone($node, $s_expiring->pid), 'off -> enforce: the session whose certificate expired is ended');
like($s_expiring->ended_message, qr/certificate expired/, 'and told why');
my $pid = $s_nomatch->pid;
ok($node->log_contains(qr/ending session pid=$pid role="ms" identity=none: reason=no_match/, $off),
	'the log names the session and the reason');
sleep(2);
still_alive($node, $s_match, 'off -> enforce: a session whose certificate matches');
still_alive($node, $s_cert, 'off -> enforce: a cert-method session of a role without bindings (PostgreSQL\'s business)');
$_->quit for ($s_nomatch, $s_match, $s_unbound, $s_expiring, $s_cert);

# --- audit -> enforce ---------------------------------------------------------

set_mode('audit');
$off = -s $node->logfile;
my $a_nomatch = open_session($node, $c_other, 'ms');
my $a_match = open_session($node, $c_ms1, 'ms');
$pid = $a_nomatch->pid;
ok($node->log_contains(qr/outcome=would_reject reason=no_match role="ms"/, $off),
	'audit: the login was recorded as would_reject');
ok($node->wait_for_log(qr/would end session pid=$pid role="ms" .*reason=no_match/, $off),
	'audit: the worker logs that it would end the session');
sleep(2);
still_alive($node, $a_nomatch, 'audit: the would_reject session');
set_mode('enforce');
ok(session_gone($node, $pid), 'audit -> enforce: the would_reject session is ended');
sleep(2);
still_alive($node, $a_match, 'audit -> enforce: a session whose certificate matches');
$_->quit for ($a_nomatch, $a_match);

# --- enforce -> off -> enforce: nothing is ended while off --------------------

my $e = open_session($node, $c_ms1, 'ms');
set_mode('off');
$node->safe_psql('postgres', "SELECT mtls_ident.unbind('ms', 'uri:spiffe://example.org/ns/prod/sa/ms1')");
sleep(3);
still_alive($node, $e, 'off: an unbound session is left');
set_mode('enforce');
ok(session_gone($node, $e->pid), 'back to enforce: it is ended');
$e->quit;

$node->stop;
done_testing();
