# A certificate presented for a role that does not exist is recorded
# (auth_log, stats, server log with the certificate's details) and refused
# with reason no_role, whatever the pg_hba method (SPEC 4, rule 4).  The
# client sees the generic message, SQLSTATE 28000, which does not say
# whether the role exists.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

my $node = new_node('norole', conf => "log_error_verbosity = verbose\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

my $fp = cert_fingerprint('spiffe_billing');
my $serial = cert_serial('spiffe_billing');

sub no_role_rows
{
	my ($outcome) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM mtls_ident.auth_log WHERE role = 'nobody' "
		  . "AND outcome = '$outcome' AND reason = 'no_role' AND fingerprint = '$fp' "
		  . "AND serial = '$serial' AND sans = ARRAY['uri:spiffe://example.org/ns/prod/sa/billing']");
}

sub stat_count
{
	my ($outcome) = @_;
	return $node->safe_psql('postgres',
		"SELECT count FROM mtls_ident.stats WHERE outcome = '$outcome' AND reason = 'no_role'");
}

# --- trust clientcert=verify-ca (the recommended line) ------------------------

my $connstr = client_connstr($node, 'spiffe_billing', user => 'nobody');
my $off = -s $node->logfile;
$node->connect_fails(
	$connstr,
	'trust: a certificate for a role that does not exist is refused',
	expected_stderr => qr/FATAL:  certificate authentication failed for user "nobody"/,
	log_like => [
		qr/FATAL:  28000: certificate authentication failed for user "nobody"/,
		qr/outcome=reject reason=no_role role="nobody" database="postgres" client=127\.0\.0\.1 identity=none subject="[^"]*" issuer="[^"]*" serial=$serial fingerprint=$fp sans=\[uri:spiffe:\/\/example\.org\/ns\/prod\/sa\/billing\]/
	],
	log_unlike => [qr/role "nobody" does not exist/]);
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT 1', connstr => $connstr);
unlike($stderr, qr/does not exist/, 'the client is not told whether the role exists');
is(no_role_rows('reject'), '2', 'auth_log has both attempts, with the certificate');
is(stat_count('reject'), '2', 'stats counts them as reject/no_role');

# no certificate: PostgreSQL's business, nothing recorded
$node->connect_fails(
	client_connstr($node, undef, user => 'nobody'),
	'no certificate: PostgreSQL refuses the missing role itself',
	expected_stderr => qr/certificate|does not exist/);
is($node->safe_psql('postgres', "SELECT count(*) FROM mtls_ident.auth_log WHERE role = 'nobody'"),
	'2', 'an attempt without a certificate is not recorded');

# --- audit mode: recorded as would_reject, PostgreSQL still refuses ----------

$node->append_conf('postgresql.conf', "mtls_ident.mode = audit\n");
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('mtls_ident.mode') = 'audit'");
$node->connect_fails(
	$connstr,
	'audit mode: the missing role is refused by PostgreSQL',
	expected_stderr => qr/role "nobody" does not exist/,
	log_like => [qr/outcome=would_reject reason=no_role role="nobody"/]);
is(no_role_rows('would_reject'), '1', 'audit mode: recorded as would_reject');
$node->append_conf('postgresql.conf', "mtls_ident.mode = enforce\n");

# --- cert method -------------------------------------------------------------

write_hba($node, hba => 'hostssl all all 127.0.0.1/32 cert');
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('mtls_ident.mode') = 'enforce'");
my $cn_nobody = mint_cert(cn => 'nobody', san => 'URI:spiffe://example.org/ns/prod/sa/nobody');
$node->connect_fails(
	client_connstr($node, $cn_nobody, user => 'nobody'),
	'cert method, CN = the missing role: refused in the hook',
	expected_stderr => qr/FATAL:  certificate authentication failed for user "nobody"/,
	log_like => [qr/outcome=reject reason=no_role role="nobody" .*fingerprint=${\ cert_fingerprint($cn_nobody)}/],
	log_unlike => [qr/role "nobody" does not exist/]);
$node->connect_fails(
	$connstr,
	'cert method, CN not the role: PostgreSQL refuses, the attempt is recorded',
	expected_stderr => qr/certificate authentication failed for user "nobody"/,
	log_like => [qr/outcome=reject reason=no_role role="nobody" .*fingerprint=$fp/]);
is(no_role_rows('reject'), '3', 'cert method: the certificate attempt is in auth_log');

# --- a password method -------------------------------------------------------

write_hba($node, hba => 'hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-ca');
$node->reload;
sleep(1);
$node->connect_fails(
	client_connstr($node, 'spiffe_billing', user => 'nobody', extra => "password='x'"),
	'scram: a missing role fails the password exchange; the certificate attempt is recorded',
	expected_stderr => qr/password authentication failed for user "nobody"/,
	log_like => [qr/outcome=reject reason=no_role role="nobody" .*fingerprint=$fp/]);
is(no_role_rows('reject'), '4', 'scram: the certificate attempt is in auth_log');
is(stat_count('reject'), '5', 'stats: every no_role refusal counted');

# --- the names a client chose are shown as valid text ------------------------
# A client can send any bytes as its role name, and PostgreSQL cuts a long
# name at NAMEDATALEN - 1 bytes, possibly inside a character: auth_log shows
# such bytes as \xNN, so the view stays readable in a UTF8 database
# (converting, comparing, exporting its rows never fails).

write_hba($node);
reload_wait($node);
$node->safe_psql('postgres',
	"CREATE DATABASE utf8db ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$node->safe_psql('utf8db', 'CREATE EXTENSION mtls_ident');
my $bad = "nob\xffdy";
my $long = "\xc3\xa9" x 40;    # 80 bytes of UTF-8, cut by PostgreSQL at 63
for my $user ($bad, $long)
{
	$node->connect_fails(
		client_connstr($node, 'spiffe_billing', user => $user),
		'a certificate for a role name that is not valid UTF-8 is refused',
		expected_stderr => qr/certificate authentication failed/);
}
my $shown = $node->safe_psql('utf8db',
	"SELECT string_agg(role, '|' ORDER BY at) FROM mtls_ident.auth_log WHERE reason = 'no_role' AND role <> 'nobody'");
# (role is a name: a name escaped past 63 bytes is cut there, on a
# character boundary)
is($shown, 'nob\xffdy|' . ("\xc3\xa9" x 31) . '\\',
	'auth_log shows invalid bytes as \xNN and keeps whole characters');
is($node->safe_psql('utf8db',
		"SELECT count(*) FROM mtls_ident.auth_log WHERE convert_to(role, 'UTF8') IS NOT NULL AND reason = 'no_role' AND role <> 'nobody'"),
	'2', 'every role name in auth_log converts as valid UTF-8');

$node->stop;
done_testing();
