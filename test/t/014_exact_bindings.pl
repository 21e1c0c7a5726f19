# Exact bindings are not compiled when they cannot match the certificate
# (the login-path prefilter, doc/benchmarks.md): a role with many exact
# bindings must behave exactly as if every binding had been compiled.  The
# role stays bound when none of its exact bindings names the certificate
# (so the cert method cannot let such a client in), the one that does name
# it admits it, DNS names still compare case-insensitively, a group's
# {role} binding still applies next to a member's own exact ones, and the
# enforcer, which parses each role's label once a sweep, still judges each
# session by its own certificate.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $node = new_node('exact',
	conf => "mtls_ident.enforce_interval = '200ms'\nmtls_ident.expiry_warning = 0\n",
	hba => "hostssl all many 127.0.0.1/32 cert\n"
	  . "hostssl all all 127.0.0.1/32 trust clientcert=verify-ca");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

# 'many': 300 exact URI bindings, one exact DNS binding written in upper
# case with a trailing dot; 'dave': one exact binding that names nothing
# he presents, and membership in a group with a {role} binding
my $sql = "CREATE ROLE many LOGIN; CREATE ROLE staff NOLOGIN; "
  . "CREATE ROLE dave LOGIN IN ROLE staff; CREATE ROLE ops LOGIN;";
for my $i (1 .. 300)
{
	$sql .= "SELECT mtls_ident.bind('many', 'uri:spiffe://example.org/ns/n$i/sa/many');";
	$sql .= "SELECT mtls_ident.bind('staff', 'uri:spiffe://example.org/staff/n$i');"
	  if $i <= 50;
}
$sql .= "SELECT mtls_ident.bind('many', 'dns:DB.Example.COM.');";
$sql .= "SELECT mtls_ident.bind('staff', 'uri:spiffe://example.org/ns/prod/sa/{role}');";
$sql .= "SELECT mtls_ident.bind('dave', 'uri:spiffe://example.org/ns/nowhere/sa/dave');";
$sql .= "SELECT mtls_ident.bind('ops', 'uri:spiffe://example.org/ns/n1/sa/many');";
$node->safe_psql('postgres', $sql);

my $first = mint_cert(cn => 'many', san => 'URI:spiffe://example.org/ns/n1/sa/many');
my $last = mint_cert(cn => 'many', san => 'URI:spiffe://example.org/ns/n300/sa/many');
my $near = mint_cert(cn => 'many', san => 'URI:spiffe://example.org/ns/n300/sa/Many');
my $none = mint_cert(cn => 'many', san => 'URI:spiffe://example.org/ns/n301/sa/many');
my $dns = mint_cert(cn => 'many', san => 'DNS:db.example.com');
my $two = mint_cert(cn => 'many',
	san => [ 'DNS:other.example.com', 'URI:spiffe://example.org/ns/n150/sa/many' ]);

my %accept = (
	$first => 'uri:spiffe://example.org/ns/n1/sa/many',
	$last => 'uri:spiffe://example.org/ns/n300/sa/many',
	$dns => 'dns:db.example.com',
	$two => 'uri:spiffe://example.org/ns/n150/sa/many');
for my $c ($first, $last, $dns, $two)
{
	my $want = quotemeta $accept{$c};
	$node->connect_ok(
		client_connstr($node, $c, user => 'many'),
		"cert method, 301 exact bindings: $accept{$c} logs in through its binding",
		sql => 'SELECT mtls_ident.session_identity()',
		expected_stdout => qr/^$want$/,
		log_like => [qr/outcome=accept reason=ok role="many" .*identity=$want/]);
}

# The cert method lets CN=many in; only the bindings stand in the way.  A
# role none of whose exact bindings names the certificate is still bound.
for my $c ($none, $near)
{
	$node->connect_fails(
		client_connstr($node, $c, user => 'many'),
		'cert method, 301 exact bindings: a certificate named by none is refused',
		expected_stderr => qr/certificate authentication failed for user "many"/,
		log_like => [qr/outcome=reject reason=no_match role="many"/]);
}
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM mtls_ident.auth_log WHERE role = 'many' AND outcome = 'reject' AND reason = 'no_match'"
	),
	'2',
	'both refusals are in auth_log as no_match (not no_binding)');

# check() takes the same path
my $check = sub {
	my ($c, $role) = @_;
	my $pem = cert_pem($c);
	return $node->safe_psql('postgres',
		"SELECT allowed, reason, coalesce(identity, '-') FROM mtls_ident.check(\$pem\$$pem\$pem\$, '$role')"
	);
};
is($check->($last, 'many'), 't|ok|uri:spiffe://example.org/ns/n300/sa/many',
	'check(): the last exact binding matches');
is($check->($none, 'many'), 'f|no_match|-',
	'check(): no exact binding names the certificate: no_match');

# a member's own exact binding names nothing; the group's {role} binding
# still admits him, and only him; the group's plain bindings do not apply
$node->connect_ok(
	client_connstr($node, 'spiffe_dave', user => 'dave'),
	'group {role} binding next to a member\'s own exact binding',
	sql => 'SELECT mtls_ident.session_identity()',
	expected_stdout => qr{^uri:spiffe://example\.org/ns/prod/sa/dave$});
my $staffcert = mint_cert(san => 'URI:spiffe://example.org/staff/n7');
$node->connect_fails(
	client_connstr($node, $staffcert, user => 'dave'),
	'a group\'s exact binding does not apply to its members',
	expected_stderr => qr/certificate authentication failed for user "dave"/,
	log_like => [qr/outcome=reject reason=no_match role="dave"/]);
$node->connect_fails(
	client_connstr($node, 'spiffe_billing', user => 'dave'),
	'member: a certificate named by no binding is refused',
	expected_stderr => qr/certificate authentication failed for user "dave"/,
	log_like => [qr/outcome=reject reason=no_match role="dave"/]);

# The enforcer: two roles and three sessions, each checked against its own
# certificate, although a sweep parses each label once.
my $s1 = open_session($node, $first, 'many');
my $s300 = open_session($node, $last, 'many');
my $sops = open_session($node, $first, 'ops');
sleep(1);
still_alive($node, $s1, 'n1 session');
still_alive($node, $s300, 'n300 session');
still_alive($node, $sops, 'ops session');

$node->safe_psql('postgres',
	"SELECT mtls_ident.unbind('many', 'uri:spiffe://example.org/ns/n2/sa/many')");
sleep(1);
still_alive($node, $s1, 'unbinding an exact binding nobody uses: n1 session');
still_alive($node, $s300, 'unbinding an exact binding nobody uses: n300 session');

$node->safe_psql('postgres',
	"SELECT mtls_ident.unbind('many', 'uri:spiffe://example.org/ns/n300/sa/many')");
ok(session_gone($node, $s300->pid),
	'unbinding the binding a session logged in with ends that session');
still_alive($node, $s1, 'the other session of the role');
still_alive($node, $sops, 'the session of another role with the same certificate');
$node->log_check(
	'the enforcer says why',
	0,
	log_like => [
		qr/ending session pid=\d+ role="many" identity=uri:spiffe:\/\/example\.org\/ns\/n300\/sa\/many: reason=no_match/
	]);
$s1->quit;
$sops->quit;
$s300->quit;

$node->stop;
done_testing();
