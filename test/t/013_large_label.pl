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

# a small shared label cache, so that the large labels below overflow it
my $node = new_node('big',
	conf => "mtls_ident.enforce_interval = '500ms'\nmtls_ident.expiry_warning = 0\n"
	  . "mtls_ident.label_cache_size = '64kB'\nautovacuum = off\n");
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
	'the refusal is in auth_log');

# The shared label cache: once a large label has been read with a database
# selected, later logins take its text from shared memory and are decided
# in the hook itself, before "connection authorized".
$node->connect_fails(
	client_connstr($node, 'spiffe_other', user => 'billing'),
	'label cache: a refusal is decided in the hook',
	expected_stderr => qr/certificate authentication failed for user "billing"/,
	log_like => [qr/outcome=reject reason=no_match role="billing"/],
	log_unlike => [qr/connection authorized: user=billing/]);

# A changed label is never served from the cache: the new tuple is another
# key.  Unbind the binding the certificate matches while its old label is
# cached; the next login must be refused, and rebinding admits it again.
my $h1 = sha256_hex('billing-1');
$node->safe_psql('postgres',
	"SELECT mtls_ident.unbind('billing', 'uri:spiffe://example.org/ns/$h1/sa/x1')");
$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'billing'),
	'label cache: warm after a label change',
	log_like => [qr/outcome=accept reason=ok role="billing"/]);
$node->safe_psql('postgres',
	"SELECT mtls_ident.unbind('billing', 'uri:spiffe://example.org/ns/*/sa/billing')");
$node->connect_fails(
	client_connstr($node, 'spiffe_billing', user => 'billing'),
	'label cache: an unbound certificate is refused right after unbind',
	expected_stderr => qr/certificate authentication failed for user "billing"/,
	log_like => [qr/outcome=reject reason=no_match role="billing"/]);
$node->connect_fails(
	client_connstr($node, 'spiffe_billing', user => 'billing'),
	'label cache: ... and again, with the new label cached',
	expected_stderr => qr/certificate authentication failed for user "billing"/,
	log_like => [qr/outcome=reject reason=no_match role="billing"/],
	log_unlike => [qr/connection authorized: user=billing/]);
$node->safe_psql('postgres',
	"SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/*/sa/billing')");
$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'billing'),
	'label cache: binding again admits it',
	log_like => [qr/outcome=accept reason=ok role="billing"/]);

# VACUUM FULL moves every tuple: old keys are gone, logins go on
$node->safe_psql('postgres', 'VACUUM FULL pg_shseclabel');
$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'billing'),
	'label cache: after VACUUM FULL of pg_shseclabel, a matching certificate logs in');
$node->connect_fails(
	client_connstr($node, 'spiffe_other', user => 'billing'),
	'label cache: after VACUUM FULL, a certificate that matches nothing is refused',
	expected_stderr => qr/certificate authentication failed for user "billing"/);

# More large labels than the 64 kB cache holds: entries are overwritten in
# turn, and every role is still judged by its own label.
my $many = '';
for my $r (1 .. 16)
{
	$many .= "CREATE ROLE big$r LOGIN;";
	for my $i (1 .. 60)
	{
		my $h = sha256_hex("big$r-$i");
		$many .= "SELECT mtls_ident.bind('big$r', 'uri:spiffe://example.org/ns/$h/sa/x$i');";
	}
	$many .= "SELECT mtls_ident.bind('big$r', 'uri:spiffe://example.org/ns/prod/sa/big$r');";
}
$node->safe_psql('postgres', $many);
is( $node->safe_psql(
		'postgres',
		"SELECT sum(length(label)) > 64 * 1024 FROM pg_shseclabel s "
		  . "JOIN pg_roles r ON r.oid = s.objoid WHERE r.rolname LIKE 'big%'"),
	't',
	'the labels of the 16 roles take more than the cache holds');
my %bigcert = map { $_ => mint_cert(san => "URI:spiffe://example.org/ns/prod/sa/big$_") } 1 .. 16;
for my $pass (1 .. 2)
{
	for my $r (1 .. 16)
	{
		my $c = $bigcert{$r};
		my $other = $r == 16 ? 1 : $r + 1;
		$node->connect_ok(
			client_connstr($node, $c, user => "big$r"),
			"pass $pass: big$r logs in with its certificate",
			log_like => [qr/outcome=accept reason=ok role="big$r"/]);
		$node->connect_fails(
			client_connstr($node, $c, user => "big$other"),
			"pass $pass: big${r}'s certificate does not reach big$other",
			expected_stderr => qr/certificate authentication failed for user "big$other"/,
			log_like => [qr/outcome=reject reason=no_match role="big$other"/]);
	}
}

# the enforcer reads the large label too: unbind ends the live session
my $s = open_session($node, 'spiffe_billing', 'billing');
sleep(2);
still_alive($node, $s, 'large label, binding in place');
$node->safe_psql('postgres',
	"SELECT mtls_ident.unbind('billing', 'uri:spiffe://example.org/ns/*/sa/billing')");
ok(session_gone($node, $s->pid), 'large label: unbind ends the live session');
$s->quit;

# Without the shared relcache init file (gone after a VACUUM or ANALYZE of
# a shared catalog until a backend writes it again), pg_shseclabel's index
# cannot be opened before a database is selected: its heap is scanned, and
# logins are still decided in the hook.
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
	log_like => [qr/outcome=reject reason=no_match role="small"/],
	log_unlike => [qr/connection authorized: user=small/]);
unlink($node->data_dir . '/global/pg_internal.init');
$node->connect_ok(
	client_connstr($node, 'email_dave', user => 'dave'),
	'no relcache init file: a group\'s {role} binding (large label) admits a member',
	log_like => [qr/outcome=accept reason=ok role="dave"/]);
unlink($node->data_dir . '/global/pg_internal.init');
$node->connect_fails(
	client_connstr($node, 'spiffe_other', user => 'billing'),
	'no relcache init file: a large cached label refuses in the hook',
	expected_stderr => qr/certificate authentication failed for user "billing"/,
	log_like => [qr/outcome=reject reason=no_match role="billing"/],
	log_unlike => [qr/connection authorized: user=billing/]);
unlink($node->data_dir . '/global/pg_internal.init');
is($node->safe_psql('postgres', 'SELECT 1'), '1',
	'no relcache init file: a local superuser login works');

my $log = slurp_file($node->logfile);
unlike($log, qr/cannot read pg_class/, 'nothing failed reading pg_class');
unlike($log, qr/damaged entry/, 'no cache entry was ever found damaged');
unlike($log, qr/background worker "mtls_ident enforcer" \(PID \d+\) exited/,
	'the enforcer never died');

# With the cache disabled, logins are decided at the end of start-up
$node->append_conf('postgresql.conf', "mtls_ident.label_cache_size = 0\n");
$node->restart;
is($node->safe_psql('postgres', 'SHOW mtls_ident.label_cache_size'), '0',
	'the label cache is off');
for my $n (1 .. 2)
{
	$node->connect_ok(
		client_connstr($node, $bigcert{1}, user => 'big1'),
		"no label cache ($n): a matching certificate logs in",
		log_like => [qr/connection authorized: user=big1.*outcome=accept reason=ok role="big1"/s]);
	$node->connect_fails(
		client_connstr($node, $bigcert{2}, user => 'big1'),
		"no label cache ($n): a certificate that matches nothing is refused",
		expected_stderr => qr/certificate authentication failed for user "big1"/,
		log_like => [qr/connection authorized: user=big1/, qr/outcome=reject reason=no_match role="big1"/]);
}

$node->stop;
done_testing();
