# Every refusal reaches the server log whatever the client asks for in its
# startup packet (SPEC 4, rule 4).  A decision deferred until a database is
# selected (a role whose label is stored out of line, with the shared label
# cache off) runs after PostgreSQL applied the client's startup options: the
# server's own logging settings are put back for it.  A connection that
# PostgreSQL ends before the deferred decision (an option the role may not
# set, an invalid option) is still recorded.

use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

my $node = new_node('tamper',
	conf => "mtls_ident.label_cache_size = 0\nmtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

# two roles with large labels (out of line): a superuser and a plain role
my $sql = "CREATE ROLE bigsu SUPERUSER LOGIN; CREATE ROLE bigu LOGIN; CREATE ROLE small LOGIN;";
for my $r (qw(bigsu bigu))
{
	for my $i (1 .. 60)
	{
		my $h = sha256_hex("$r-$i");
		$sql .= "SELECT mtls_ident.bind('$r', 'uri:spiffe://example.org/ns/$h/sa/x$i');";
	}
	$sql .= "SELECT mtls_ident.bind('$r', 'uri:spiffe://example.org/ns/*/sa/billing');";
}
$sql .= "SELECT mtls_ident.bind('small', 'uri:spiffe://example.org/ns/*/sa/billing');";
$node->safe_psql('postgres', $sql);
is( $node->safe_psql(
		'postgres',
		"SELECT bool_and(length(label) > 4000) FROM pg_shseclabel s "
		  . "JOIN pg_roles r ON r.oid = s.objoid WHERE r.rolname IN ('bigsu', 'bigu')"),
	't',
	'the labels are stored out of line');

my $fp_other = cert_fingerprint('spiffe_other');
my $fp_billing = cert_fingerprint('spiffe_billing');

sub opts
{
	my ($cert, $role, $options) = @_;
	return client_connstr($node, $cert, user => $role, extra => "options='$options'");
}

sub recorded
{
	my ($role, $outcome, $reason, $fp) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM mtls_ident.auth_log WHERE role = '$role' "
		  . "AND outcome = '$outcome' AND reason = '$reason' AND fingerprint = '$fp'");
}

# --- a superuser role: its options are applied before the decision ----------

$node->connect_fails(
	opts('spiffe_other', 'bigsu', '-c log_min_messages=panic'),
	'superuser, -c log_min_messages=panic: refused',
	expected_stderr => qr/certificate authentication failed for user "bigsu"/,
	log_like => [
		qr/FATAL:  certificate authentication failed for user "bigsu"/,
		qr/DETAIL:  mtls_ident: outcome=reject reason=no_match role="bigsu" .*fingerprint=$fp_other/
	]);
$node->connect_fails(
	opts('spiffe_other', 'bigsu', '-c log_error_verbosity=terse'),
	'superuser, -c log_error_verbosity=terse: the reason still reaches the log',
	expected_stderr => qr/certificate authentication failed for user "bigsu"/,
	log_like => [qr/DETAIL:  mtls_ident: outcome=reject reason=no_match role="bigsu" .*fingerprint=$fp_other/]);
$node->connect_fails(
	opts('spiffe_other', 'bigsu', '-c log_min_messages=panic -c log_error_verbosity=terse -c lc_messages=C'),
	'superuser, all three: the refusal and its reason reach the log',
	expected_stderr => qr/certificate authentication failed for user "bigsu"/,
	log_like => [qr/DETAIL:  mtls_ident: outcome=reject reason=no_match role="bigsu" .*fingerprint=$fp_other/]);
is(recorded('bigsu', 'reject', 'no_match', $fp_other), '3', 'auth_log has the three refusals');

# accepted logins are logged too, and the session keeps what it asked for
$node->connect_ok(
	opts('spiffe_billing', 'bigsu', '-c log_min_messages=panic'),
	'superuser, -c log_min_messages=panic: an accepted login is logged',
	sql => 'SHOW log_min_messages',
	expected_stdout => qr/^panic$/,
	log_like => [qr/accepted login of role "bigsu"/, qr/outcome=accept reason=ok role="bigsu" .*fingerprint=$fp_billing/]);

# The connection ends before the decision: the attempt is recorded as the
# backend exits, after the client got PostgreSQL's FATAL -- wait for it.
sub ended_early
{
	my ($connstr, $name, $stderr, $log) = @_;
	my $off = -s $node->logfile;
	$node->connect_fails($connstr, $name, expected_stderr => $stderr);
	ok($node->wait_for_log($log, $off), "$name: logged");
	return;
}

# options applied, then one fails
ended_early(
	opts('spiffe_other', 'bigsu', '-c log_min_messages=panic -c work_mem=garbage'),
	'superuser, an invalid option after log_min_messages=panic: the attempt is still recorded',
	qr/invalid value for parameter "work_mem"/,
	qr/outcome=reject reason=no_match role="bigsu" .*fingerprint=$fp_other.*the connection ended before/);
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 4 FROM mtls_ident.auth_log WHERE role = 'bigsu' "
		  . "AND outcome = 'reject' AND reason = 'no_match' AND fingerprint = '$fp_other'"),
	'and it is in auth_log');

# --- a non-superuser: a superuser-only option ends the connection early -----

for my $opt ('-c log_min_messages=panic', '-c log_error_verbosity=terse', '-c session_preload_libraries=x')
{
	ended_early(
		opts('spiffe_other', 'bigu', $opt),
		"non-superuser, $opt: PostgreSQL refuses the option; the attempt is recorded",
		qr/permission denied to set parameter/,
		qr/outcome=reject reason=no_match role="bigu" .*fingerprint=$fp_other/);
}
ended_early(
	client_connstr($node, 'spiffe_billing', user => 'bigu', dbname => 'nosuchdb'),
	'non-superuser, a database that does not exist: the attempt is recorded',
	qr/database "nosuchdb" does not exist/,
	qr/outcome=reject reason=no_match role="bigu" database="nosuchdb" .*fingerprint=$fp_billing/);
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 3 FROM mtls_ident.auth_log WHERE role = 'bigu' "
		  . "AND outcome = 'reject' AND reason = 'no_match' AND fingerprint = '$fp_other'"),
	'auth_log has them');
ok( $node->poll_query_until('postgres',
		"SELECT count = 8 FROM mtls_ident.stats WHERE outcome = 'reject' AND reason = 'no_match'"),
	'stats counts every one');

# --- a decision in the hook is unaffected (options are applied later) --------

$node->connect_fails(
	opts('spiffe_other', 'small', '-c log_min_messages=panic'),
	'small label: decided in the hook, logged',
	expected_stderr => qr/certificate authentication failed for user "small"/,
	log_like => [qr/outcome=reject reason=no_match role="small"/]);

$node->stop;
done_testing();
