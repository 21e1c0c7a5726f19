# Hostile certificates (SPEC section 3, doc/matching.md "Hostile values
# never match"): every hostile SAN that gets through TLS is refused by
# exact, wildcard and permissive regex bindings alike; large certificates;
# bad labels; and the server survives all of it.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

my $node = new_node('hostile', conf => "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

# --- helpers -----------------------------------------------------------------

# helpers in MtlsTest.pm: bind_role, cert_accepted, cert_refused
sub role_with { bind_role($node, @_); return; }

# $cert logs in as $role; the session's identity is $identity.
sub accepts { local $Test::Builder::Level = $Test::Builder::Level + 1; cert_accepted($node, @_); return; }

# Refused (no_match): a hostile SAN matches nothing.
sub refuses_hostile
{
	my ($cert, $role, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	cert_refused($node, $cert, $role, 'no_match', $name);
	return;
}

# The log marks the hostile SAN "(rejected as malformed)" (doc/matching.md).
sub logged_malformed
{
	my ($cert) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $fp = cert_fingerprint($cert);
	like(
		slurp_file($node->logfile),
		qr/outcome=reject reason=no_match .* fingerprint=$fp sans=\[[^\n]*\(rejected as malformed\)\]/,
		"$cert: the log shows its SAN as rejected as malformed");
	return;
}

my $billing_uri = 'spiffe://example.org/ns/prod/sa/billing';

# --- URI ---------------------------------------------------------------------

role_with('uri_exact', "uri:$billing_uri");
role_with(
	'uri_wild',
	'uri:spiffe://example.org/ns/*/sa/billing',
	'uri:spiffe://example.org/ns/prod/sa/*',
	'uri:spiffe://example.org/**');
role_with('uri_rx', 'uri:~spiffe://example\.org/.*');
role_with('uri_rx_any', 'uri:~.*');

for my $role (qw(uri_exact uri_wild uri_rx uri_rx_any))
{
	accepts('spiffe_billing', $role, "uri:$billing_uri",
		"control: $role accepts the well-formed SAN");
}

# hostile_uri_userinfo, _port and _upper_scheme are well-formed URIs that
# simply are not in the trust domain example.org: no binding here names
# them, so they do not belong in this list.
my @hostile_uri = qw(
  hostile_uri_nul hostile_uri_utf8 hostile_uri_pct hostile_uri_pct_dotdot
  hostile_uri_dot hostile_uri_dotdot hostile_uri_empty_seg hostile_uri_query
  hostile_uri_fragment hostile_uri_trailing_slash hostile_uri_huge);
for my $cert (@hostile_uri)
{
	for my $role (qw(uri_wild uri_rx uri_rx_any))
	{
		refuses_hostile($cert, $role, "$cert is refused by $role");
	}
	logged_malformed($cert);
}
refuses_hostile('hostile_uri_nul', 'uri_exact',
	'a URI SAN with a NUL after the bound value is refused by the exact binding'
);
like(
	slurp_file($node->logfile),
	qr/sans=\[uri:spiffe:\/\/example\.org\/ns\/prod\/sa\/billing\\x00\.evil\.com \(rejected as malformed\)\]/,
	'the NUL is logged escaped');

for my $cert (qw(hostile_uri_userinfo hostile_uri_port hostile_uri_upper_scheme))
{
	for my $role (qw(uri_exact uri_wild uri_rx))
	{
		$node->connect_fails(
			client_connstr($node, $cert, user => $role),
			"$cert is refused by $role",
			expected_stderr =>
			  qr/FATAL:  certificate authentication failed for user "$role"/,
			log_like => [qr/outcome=reject reason=no_match role="$role" /]);
	}
}

# --- DNS ---------------------------------------------------------------------

role_with('dns_exact', 'dns:db.example.com');
role_with('dns_wild', 'dns:*.example.com');
role_with('dns_rx', 'dns:~.*');
accepts('dns_db', $_, 'dns:db.example.com', "control: $_ accepts db.example.com")
  for qw(dns_exact dns_wild dns_rx);

for my $cert (
	qw(hostile_dns_nul hostile_dns_utf8 hostile_dns_wildcard
	hostile_dns_empty_label hostile_dns_empty))
{
	refuses_hostile($cert, $_, "$cert is refused by $_") for qw(dns_wild dns_rx);
	logged_malformed($cert);
}
refuses_hostile('hostile_dns_nul', 'dns_exact',
	'a DNS SAN with a NUL after the bound name is refused by the exact binding');

# --- email -------------------------------------------------------------------

role_with('email_exact', 'email:dave@example.com');
role_with('email_wild', 'email:*@example.com');
role_with('email_rx', 'email:~.*');
accepts('email_dave', $_, 'email:dave@example.com',
	"control: $_ accepts dave\@example.com")
  for qw(email_exact email_wild email_rx);

for my $cert (qw(hostile_email_nul hostile_email_utf8 hostile_email_two_at))
{
	refuses_hostile($cert, $_, "$cert is refused by $_")
	  for qw(email_wild email_rx);
	logged_malformed($cert);
}
refuses_hostile('hostile_email_nul', 'email_exact',
	'an email SAN with a NUL after the bound address is refused by the exact binding'
);

# --- IP ----------------------------------------------------------------------

role_with('ip_any', 'ip:0.0.0.0/0', 'ip:::/0');
accepts('ip4', 'ip_any', 'ip:10.1.2.3', 'control: ip_any accepts an IPv4 SAN');
refuses_hostile('hostile_ip_5byte', 'ip_any',
	'a 5-byte IP SAN matches neither 0.0.0.0/0 nor ::/0');
logged_malformed('hostile_ip_5byte');

# --- several SANs, one of them hostile ---------------------------------------

my $mixed = mint_cert(
	san => [
		'URI:spiffe://example.org/ns/prod/./sa/billing',
		"URI:$billing_uri"
	],
	end_offset => 30 * 86400);
accepts($mixed, 'uri_wild', "uri:$billing_uri",
	'a hostile SAN next to a good one: the good one matches');

# --- CN ----------------------------------------------------------------------

role_with('cn_exact', 'cn:legacy-app');
role_with('cn_evil', 'cn:evil');
role_with('cn_rx', 'cn:~.*');
accepts('cn_legacy', $_, 'cn:legacy-app', "control: $_ accepts CN=legacy-app")
  for qw(cn_exact cn_rx);
for my $subj ('/CN=legacy-app/CN=evil', '/CN=evil/CN=legacy-app')
{
	my $two_cn = mint_cert(subj => $subj, end_offset => 30 * 86400);
	refuses_hostile($two_cn, $_, "a subject with two CNs ($subj) is refused by $_")
	  for qw(cn_exact cn_evil cn_rx);
}

# --- large certificates ------------------------------------------------------

role_with('many', 'dns:host-2999.example.com');
accepts('many_sans_3000', 'many', 'dns:host-2999.example.com',
	'3000 SANs: the last one matches');
$node->connect_ok(
	client_connstr($node, 'many_sans_3000', user => 'many'),
	'3000 SANs: session_sans() has them all',
	sql             => 'SELECT cardinality(mtls_ident.session_sans())',
	expected_stdout => qr/\A3000\z/);
role_with('many_miss', 'dns:host-3000.example.com');
$node->connect_fails(
	client_connstr($node, 'many_sans_3000', user => 'many_miss'),
	'3000 SANs, none bound: refused',
	expected_stderr =>
	  qr/FATAL:  certificate authentication failed for user "many_miss"/,
	log_like => [
		qr/outcome=reject reason=no_match role="many_miss" .* sans=\[dns:host-0\.example\.com, .*dns:host-15\.example\.com\b/
	],
	log_unlike => [qr/host-16\.example\.com/]);

# --- labels ------------------------------------------------------------------

my ($ret, $out, $err) = $node->psql('postgres',
	q{SECURITY LABEL FOR mtls_ident ON ROLE uri_exact IS 'bind "uri:spiffe://example.org/**/x"'}
);
isnt($ret, 0, 'SECURITY LABEL with an invalid pattern is refused');
like($err, qr/ERROR:/, 'with an ERROR');
($ret, $out, $err) = $node->psql('postgres',
	q{SECURITY LABEL FOR mtls_ident ON ROLE uri_exact IS 'garbage'});
isnt($ret, 0, 'SECURITY LABEL with a malformed label is refused');
accepts('spiffe_billing', 'uri_exact', "uri:$billing_uri",
	'the role keeps its bindings after refused SECURITY LABELs');

# A label damaged behind the provider's back: its role cannot log in (fail
# closed), and nobody else notices.
$node->safe_psql(
	'postgres', q{
	CREATE ROLE damaged LOGIN;
	SELECT mtls_ident.bind('damaged', 'uri:spiffe://example.org/ns/prod/sa/billing');
	SET allow_system_table_mods = on;
	UPDATE pg_shseclabel SET label = 'bind "uri:spiffe://example.org/ns/prod/sa/billing'
	WHERE provider = 'mtls_ident' AND objoid = 'damaged'::regrole;
});
$node->connect_fails(
	client_connstr($node, 'spiffe_billing', user => 'damaged'),
	'a role whose label does not parse cannot log in',
	expected_stderr => qr/FATAL/,
	log_like        => [qr/invalid mtls_ident label/]);
accepts('spiffe_billing', 'uri_wild', "uri:$billing_uri",
	'another role logs in while one label is damaged');
accepts('dns_db', 'dns_exact', 'dns:db.example.com',
	'and another one');

# --- the server survived -----------------------------------------------------

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still answers');
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|server process .* exited with exit code [^01]/,
	'no backend crashed');

done_testing();
