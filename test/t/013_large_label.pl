# A role with many bindings: its label is stored out of line (TOAST), which
# cannot be read before a database is selected.  Logins are then decided
# when the start-up transaction commits, the enforcer (connected to
# mtls_ident.database) keeps working, and nothing says "cannot read
# pg_class" (doc/rules.md, "Large labels").

use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $node = new_node('big',
	conf => "mtls_ident.enforce_interval = '500ms'\nmtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

# 60 incompressible identities, then the one that matches
my $sql = "CREATE ROLE billing LOGIN; CREATE ROLE staff NOLOGIN; "
  . "CREATE ROLE dave LOGIN IN ROLE staff; CREATE ROLE small LOGIN;";
for my $i (1 .. 60)
{
	my $h = sha256_hex("billing-$i");
	$sql .= "SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/$h/sa/x$i');";
	$sql .= "SELECT mtls_ident.bind('staff', 'uri:spiffe://example.org/g/$h/{role}');";
}
$sql .= "SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/*/sa/billing');";
$sql .= q{SELECT mtls_ident.bind('staff', 'email:{role}@example.com');};
$sql .= "SELECT mtls_ident.bind('small', 'uri:spiffe://example.org/ns/*/sa/billing');";
$node->safe_psql('postgres', $sql);

ok( $node->safe_psql(
		'postgres',
		"SELECT bool_and(length(label) > 4000) FROM pg_shseclabel s "
		  . "JOIN pg_roles r ON r.oid = s.objoid WHERE r.rolname IN ('billing', 'staff')")
	  eq 't',
	'the labels are far over the 2 kB at which PostgreSQL moves them out of line');

$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'billing'),
	'large label: a matching certificate logs in',
	sql => 'SELECT mtls_ident.session_identity()',
	expected_stdout => qr{^uri:spiffe://example\.org/ns/prod/sa/billing$},
	log_like => [qr/outcome=accept reason=ok role="billing"/]);
$node->connect_fails(
	client_connstr($node, 'spiffe_other', user => 'billing'),
	'large label: a certificate that matches nothing is refused',
	expected_stderr => qr/certificate authentication failed for user "billing"/,
	log_like => [qr/outcome=reject reason=no_match role="billing"/]);
$node->connect_ok(
	client_connstr($node, 'email_dave', user => 'dave'),
	'large label on a group: its {role} binding admits a member');
$node->connect_fails(
	client_connstr($node, 'email_eve', user => 'dave'),
	'large label on a group: another member\'s certificate is refused',
	expected_stderr => qr/certificate authentication failed for user "dave"/,
	log_like => [qr/outcome=reject reason=no_match role="dave"/]);
$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'small'),
	'a role with a small label is unaffected');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM mtls_ident.auth_log WHERE role = 'billing' AND reason = 'no_match'"),
	'1',
	'the deferred refusal is in auth_log');

# the enforcer reads the large label too: unbind ends the live session
my $s = open_session($node, 'spiffe_billing', 'billing');
sleep(2);
still_alive($node, $s, 'large label, binding in place');
$node->safe_psql('postgres',
	"SELECT mtls_ident.unbind('billing', 'uri:spiffe://example.org/ns/*/sa/billing')");
ok(session_gone($node, $s->pid), 'large label: unbind ends the live session');
$s->quit;

# Without the shared relcache init file (gone after a VACUUM or ANALYZE of
# a shared catalog until a backend writes it again), pg_shseclabel cannot
# be opened before a database is selected: logins are decided later too.
$node->safe_psql('postgres', 'VACUUM ANALYZE pg_shseclabel');
unlink($node->data_dir . '/global/pg_internal.init');
ok(!-e $node->data_dir . '/global/pg_internal.init',
	'the shared relcache init file is gone');
$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'small'),
	'no relcache init file: a matching certificate logs in',
	log_like => [qr/outcome=accept reason=ok role="small"/]);
unlink($node->data_dir . '/global/pg_internal.init');
$node->connect_fails(
	client_connstr($node, 'spiffe_other', user => 'small'),
	'no relcache init file: a certificate that matches nothing is refused',
	expected_stderr => qr/certificate authentication failed for user "small"/,
	log_like => [qr/outcome=reject reason=no_match role="small"/]);
unlink($node->data_dir . '/global/pg_internal.init');
is($node->safe_psql('postgres', 'SELECT 1'), '1',
	'no relcache init file: a local superuser login works');

my $log = slurp_file($node->logfile);
unlike($log, qr/cannot read pg_class/, 'nothing failed reading pg_class');
unlike($log, qr/background worker "mtls_ident enforcer" \(PID \d+\) exited/,
	'the enforcer never died');

$node->stop;
done_testing();
