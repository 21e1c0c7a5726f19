# The login rules (SPEC section 4, doc/rules.md): no_binding with trust,
# other pg_hba methods, no_certificate and the Unix-socket exemption, the
# per-certificate checks (revocation cutoff, lifetime, EKU, validity),
# audit and off modes, what the client is told, and the expiry WARNING.

use strict;
use warnings FATAL => 'all';

use POSIX qw(strftime);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

# log_error_verbosity = verbose puts the SQLSTATE in the server log.
my $node = new_node(
	'methods',
	conf => "mtls_ident.expiry_warning = 0\n"
	  . "log_error_verbosity = verbose\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

# --- helpers -----------------------------------------------------------------

sub psql_ok
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

sub bind_to
{
	my ($role, $identity, $issuer) = @_;
	bind_role($node, $role, [ $identity, $issuer ]);
	return;
}

# Set an mtls_ident setting with ALTER SYSTEM, reload, and wait until new
# backends see it ($value as SHOW prints it).
sub set_guc
{
	my ($name, $value) = @_;
	psql_ok("ALTER SYSTEM SET $name = " . ql($value));
	$node->reload;
	ok( $node->poll_query_until(
			'postgres', "SELECT current_setting('$name') = " . ql($value)),
		"$name = $value is in force");
	return;
}

# Rewrite pg_hba.conf and wait until the postmaster has loaded it: it
# reloads pg_hba.conf before it passes the SIGHUP on to the backends, so a
# new setting seen by a new backend means the new pg_hba.conf is in force.
my $reloads = 0;
sub hba_reload
{
	my ($hba) = @_;
	write_hba($node, hba => $hba);
	$reloads++;
	psql_ok("ALTER SYSTEM SET cursor_tuple_fraction = '0.$reloads'");
	$node->reload;
	ok( $node->poll_query_until(
			'postgres',
			"SELECT current_setting('cursor_tuple_fraction') = '0.$reloads'"),
		"pg_hba.conf reload $reloads is in force");
	return;
}

sub socket_connstr
{
	my ($role, $dbname) = @_;
	return $node->connstr($dbname // 'postgres') . ' user=' . $role;
}

# a login as $role on $connstr that mtls_ident decides and accepts, with
# identity $identity (undef: none); see MtlsTest.pm
sub accepts_on { local $Test::Builder::Level = $Test::Builder::Level + 1; login_accepted($node, @_); return; }

sub accepts { local $Test::Builder::Level = $Test::Builder::Level + 1; cert_accepted($node, @_); return; }

sub refuses_on { local $Test::Builder::Level = $Test::Builder::Level + 1; login_refused($node, @_); return; }

sub refuses { local $Test::Builder::Level = $Test::Builder::Level + 1; cert_refused($node, @_); return; }

# mtls_ident.check(pem, role) as "allowed|reason"
sub check_is
{
	my ($cert, $role, $expected, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $pem = cert_pem($cert);
	is( psql_ok(
			    'SELECT allowed, reason FROM mtls_ident.check($pem$'
			  . $pem
			  . '$pem$, '
			  . ql(qi($role)) . ')'),
		$expected, $name);
	return;
}

sub x509_time
{
	my ($t) = @_;
	return strftime('%Y%m%d%H%M%SZ', gmtime($t));
}

my $billing_uri = 'spiffe://example.org/ns/prod/sa/billing';
my $billing_pattern = 'uri:spiffe://example.org/ns/*/sa/billing';

psql_ok(
	q{
	CREATE ROLE billing LOGIN;
	CREATE ROLE nobody LOGIN;
	CREATE ROLE bigboss LOGIN SUPERUSER;
	CREATE DATABASE nocert;
});
$node->safe_psql('nocert', 'CREATE EXTENSION mtls_ident');
bind_to('billing', $billing_pattern);

# --- what the client is told -------------------------------------------------

{
	my ($ret, $stdout, $stderr) = $node->psql(
		'postgres', undef,
		connstr => client_connstr($node, 'spiffe_other', user => 'billing'),
		extra_params => ['-w']);
	isnt($ret, 0, 'a certificate that matches no binding is refused');
	like(
		$stderr,
		qr/FATAL:  certificate authentication failed for user "billing"/,
		'the client is told authentication failed for that role');
	for my $secret ($billing_pattern, qr/spiffe/i, qr/no_match/,
		qr/binding/i, qr/example\.org/, qr/reason/, qr/outcome/)
	{
		unlike($stderr, ref $secret ? $secret : qr/\Q$secret\E/,
			"the client message does not reveal $secret");
	}
	my $log = slurp_file($node->logfile);
	my $serial = cert_serial('spiffe_other');
	my $fp = cert_fingerprint('spiffe_other');
	like(
		$log,
		qr/FATAL:  28000: certificate authentication failed for user "billing"/,
		'the refusal has SQLSTATE 28000');
	like(
		$log,
		qr/DETAIL:  mtls_ident: outcome=reject reason=no_match role="billing" database="postgres" client=127\.0\.0\.1 identity=none subject="" issuer="CN=mtls_ident test client CA,O=mtls_ident test" serial=$serial fingerprint=$fp sans=\[uri:spiffe:\/\/other\.org\/ns\/prod\/sa\/billing\]/,
		'the server log has the reason and the certificate');
}

# --- rule 1: a certificate for a role nobody bound ---------------------------

refuses('spiffe_billing', 'nobody', 'no_binding',
	'trust + certificate + unbound role: refused');
refuses('spiffe_billing', 'bigboss', 'no_binding',
	'trust + certificate + unbound superuser: refused');
my $bootstrap = psql_ok('SELECT current_user');
refuses('spiffe_billing', $bootstrap, 'no_binding',
	'trust + certificate + the bootstrap superuser: refused');
bind_to('bigboss', "uri:$billing_uri");
refuses('spiffe_other', 'bigboss', 'no_match',
	'a bound superuser with a certificate that does not match: refused');
accepts('spiffe_billing', 'bigboss', "uri:$billing_uri",
	'a bound superuser with a matching certificate: accepted');
accepts('spiffe_billing', 'billing', "uri:$billing_uri",
	'a bound role with a matching certificate: accepted');

set_guc('mtls_ident.mode', 'off');
$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'nobody'),
	'mode = off: the unbound role logs in',
	sql             => 'SELECT mtls_ident.session_identity() IS NULL',
	expected_stdout => qr/\At\z/,
	log_unlike      => [qr/mtls_ident:/]);
$node->connect_ok(
	client_connstr($node, 'spiffe_other', user => 'billing'),
	'mode = off: a certificate that matches no binding logs in',
	log_unlike => [qr/mtls_ident:/]);
set_guc('mtls_ident.mode', 'enforce');
refuses('spiffe_billing', 'nobody', 'no_binding',
	'mode = enforce again: the unbound role is refused');

# --- rule 1 with other pg_hba methods ----------------------------------------

psql_ok(
	q{
	CREATE ROLE "legacy-app" LOGIN;
	SET password_encryption = 'scram-sha-256';
	CREATE ROLE pwuser LOGIN PASSWORD 'pw-secret';
});
hba_reload(
	join "\n",
	'hostssl all "legacy-app" 127.0.0.1/32 cert',
	'hostssl all pwuser 127.0.0.1/32 scram-sha-256 clientcert=verify-ca',
	'hostssl nocert all 127.0.0.1/32 trust',
	'hostnossl nocert all 127.0.0.1/32 trust',
	'hostssl all all 127.0.0.1/32 trust clientcert=verify-ca');

$node->connect_ok(
	client_connstr($node, 'cn_legacy', user => 'legacy-app'),
	'cert method, unbound role: PostgreSQL\'s CN check decides',
	sql             => 'SELECT mtls_ident.session_identity() IS NULL',
	expected_stdout => qr/\At\z/);
is( psql_ok(
		q{SELECT outcome, reason, identity IS NULL FROM mtls_ident.auth_log
		  WHERE role = 'legacy-app' ORDER BY at DESC LIMIT 1}),
	'accept|ok|t',
	'cert method, unbound role: recorded in auth_log as accept/ok without identity'
);
$node->connect_fails(
	client_connstr($node, 'dn_alice', user => 'legacy-app'),
	'cert method, unbound role: PostgreSQL still checks the CN',
	expected_stderr => qr/certificate authentication failed/,
	log_unlike      => [qr/mtls_ident: outcome=/]);

bind_to('legacy-app', 'dns:legacy-app.example.com');
refuses('cn_legacy', 'legacy-app', 'no_match',
	'cert method, bound role: a CN-only certificate that matches no binding is refused'
);
accepts('cn_legacy_with_san', 'legacy-app', 'dns:legacy-app.example.com',
	'cert method, bound role: a matching certificate is accepted');

$node->connect_ok(
	client_connstr(
		$node, 'spiffe_other',
		user  => 'pwuser',
		extra => "password='pw-secret'"),
	'password + clientcert, unbound role: accepted as PostgreSQL decides',
	sql             => 'SELECT mtls_ident.session_identity() IS NULL',
	expected_stdout => qr/\At\z/);
$node->connect_fails(
	client_connstr(
		$node, 'spiffe_other',
		user  => 'pwuser',
		extra => "password='wrong'"),
	'password + clientcert, unbound role: a wrong password is still refused',
	expected_stderr => qr/password authentication failed for user "pwuser"/);
bind_to('pwuser', "uri:$billing_uri");
refuses('spiffe_other', 'pwuser', 'no_match',
	'password + clientcert, bound role: the right password does not save a certificate that matches nothing',
	extra => "password='pw-secret'");
accepts('spiffe_billing', 'pwuser', "uri:$billing_uri",
	'password + clientcert, bound role: matching certificate and password',
	extra => "password='pw-secret'");

# --- rule 2: no certificate --------------------------------------------------

refuses(undef, 'billing', 'no_certificate',
	'no certificate, bound role: refused (no password back door)',
	dbname => 'nocert');
refuses(undef, 'billing', 'no_certificate',
	'no TLS at all, bound role: refused',
	dbname  => 'nocert',
	sslmode => 'disable');
$node->connect_ok(
	client_connstr(
		$node, undef,
		user    => 'nobody',
		dbname  => 'nocert',
		sslmode => 'disable'),
	'no TLS at all, unbound role: accepted',
	log_unlike => [qr/mtls_ident: outcome=/]);
$node->connect_ok(
	client_connstr($node, undef, user => 'nobody', dbname => 'nocert'),
	'no certificate, unbound role: accepted',
	log_unlike => [qr/mtls_ident: outcome=/]);
refuses('spiffe_billing', 'nobody', 'no_binding',
	'trust without clientcert: a presented certificate still needs a binding',
	dbname => 'nocert');
accepts('spiffe_billing', 'billing', "uri:$billing_uri",
	'trust without clientcert: a matching certificate is accepted',
	dbname => 'nocert');
like(
	slurp_file($node->logfile),
	qr/outcome=reject reason=no_certificate role="billing" database="nocert" client=127\.0\.0\.1 identity=none no client certificate/,
	'no_certificate is logged with "no client certificate"');

accepts_on(socket_connstr('billing'), 'billing', undef,
	'Unix socket, exempt_local = on: a bound role needs no certificate');
set_guc('mtls_ident.exempt_local', 'off');
refuses_on(socket_connstr('billing'), 'billing', 'no_certificate',
	'Unix socket, exempt_local = off: a bound role is refused');
$node->connect_ok(socket_connstr('nobody'),
	'Unix socket, exempt_local = off: an unbound role is not affected');
set_guc('mtls_ident.exempt_local', 'on');
accepts_on(socket_connstr('billing'), 'billing', undef,
	'Unix socket, exempt_local = on again');

# --- rule 3: revocation cutoff -----------------------------------------------

psql_ok('CREATE ROLE cut_billing LOGIN');
bind_to('cut_billing', "uri:$billing_uri");
accepts('spiffe_billing', 'cut_billing', "uri:$billing_uri",
	'before any cutoff: the committed certificate logs in');
psql_ok(
	q{SELECT mtls_ident.revoke_issued_before('cut_billing', now() - interval '30 seconds')}
);
refuses('spiffe_billing', 'cut_billing', 'issued_before_cutoff',
	'revoke_issued_before: a certificate issued before the cutoff is refused');
my $after_cut = mint_cert(
	san          => "URI:$billing_uri",
	start_offset => -10,
	end_offset   => 30 * 86400);
accepts($after_cut, 'cut_billing', "uri:$billing_uri",
	'revoke_issued_before: a certificate issued after the cutoff logs in');
check_is('expired_static', 'cut_billing', 'f|issued_before_cutoff',
	'rule 3 order: issued_before_cutoff is checked before expired');
psql_ok(q{SELECT mtls_ident.revoke_issued_before('cut_billing', NULL)});
accepts('spiffe_billing', 'cut_billing', "uri:$billing_uri",
	'revoke_issued_before(role, NULL) removes the cutoff');

# The boundary: notBefore equal to the cutoff is not "before" it.
my $t = time() - 120;
my $nb_before = mint_cert(
	san        => "URI:$billing_uri",
	start      => x509_time($t - 1),
	end_offset => 30 * 86400);
my $nb_at = mint_cert(
	san        => "URI:$billing_uri",
	start      => x509_time($t),
	end_offset => 30 * 86400);
psql_ok("SELECT mtls_ident.revoke_issued_before('cut_billing', to_timestamp($t))");
refuses($nb_before, 'cut_billing', 'issued_before_cutoff',
	'notBefore one second before the cutoff: refused');
accepts($nb_at, 'cut_billing', "uri:$billing_uri",
	'notBefore equal to the cutoff: accepted');
psql_ok(
	"SELECT mtls_ident.revoke_issued_before('cut_billing', to_timestamp($t.5))");
refuses($nb_at, 'cut_billing', 'issued_before_cutoff',
	'notBefore half a second before a fractional cutoff: refused');

# A group's cutoff applies to what its {role} bindings admit, not to the
# member's own bindings.
psql_ok(
	q{
	CREATE ROLE cutgroup NOLOGIN;
	CREATE ROLE cutmember LOGIN IN ROLE cutgroup;
});
bind_to('cutgroup', 'uri:spiffe://example.org/ns/prod/sa/{role}');
bind_to('cutmember', 'uri:spiffe://example.org/ns/prod/sa/cutmember-own');
my $member_cert = mint_cert(
	san          => 'URI:spiffe://example.org/ns/prod/sa/cutmember',
	start_offset => -3600,
	end_offset   => 30 * 86400);
my $own_cert = mint_cert(
	san          => 'URI:spiffe://example.org/ns/prod/sa/cutmember-own',
	start_offset => -3600,
	end_offset   => 30 * 86400);
accepts($member_cert, 'cutmember',
	'uri:spiffe://example.org/ns/prod/sa/cutmember',
	'{role} binding of a group, no cutoff: accepted');
psql_ok(
	q{SELECT mtls_ident.revoke_issued_before('cutgroup', now() - interval '60 seconds')}
);
refuses($member_cert, 'cutmember', 'issued_before_cutoff',
	'a cutoff on the group refuses what its {role} binding admitted');
accepts($own_cert, 'cutmember',
	'uri:spiffe://example.org/ns/prod/sa/cutmember-own',
	'a cutoff on the group does not touch the member\'s own bindings');

# Two groups admit the same certificate through the same {role} template,
# one of them has a cutoff: the outcome does not depend on which group
# the catalog happens to list first.
psql_ok(
	q{
	CREATE ROLE order_a1 NOLOGIN;
	CREATE ROLE order_a2 NOLOGIN;
	CREATE ROLE order_b1 NOLOGIN;
	CREATE ROLE order_b2 NOLOGIN;
	CREATE ROLE order_ma LOGIN IN ROLE order_a1, order_a2;
	CREATE ROLE order_mb LOGIN IN ROLE order_b1, order_b2;
});
bind_to($_, 'uri:spiffe://example.org/ns/prod/sa/{role}')
  for qw(order_a1 order_a2 order_b1 order_b2);
psql_ok(
	q{SELECT mtls_ident.revoke_issued_before(r, now() - interval '60 seconds')
	  FROM unnest('{order_a1,order_b2}'::regrole[]) r});
{
	my %ret;
	for my $m (qw(order_ma order_mb))
	{
		my $c = mint_cert(
			san          => "URI:spiffe://example.org/ns/prod/sa/$m",
			start_offset => -3600,
			end_offset   => 30 * 86400);
		($ret{$m}) = $node->psql('postgres', 'SELECT 1',
			connstr      => client_connstr($node, $c, user => $m),
			extra_params => ['-w']);
	}
	is($ret{order_ma}, $ret{order_mb},
		'cutoff on one of two groups with the same template: same outcome whichever group has it'
	);
}

# --- rule 3: lifetime --------------------------------------------------------

set_guc('mtls_ident.max_certificate_lifetime', '1h');
refuses('spiffe_billing', 'billing', 'lifetime_too_long',
	'max_certificate_lifetime = 1h: a 100-year certificate is refused');
my $half_hour = mint_cert(
	san          => "URI:$billing_uri",
	start_offset => -60,
	end_offset   => 1740);
accepts($half_hour, 'billing', "uri:$billing_uri",
	'max_certificate_lifetime = 1h: a 30-minute certificate logs in');
my $now = time();
my $exactly_1h = mint_cert(
	san   => "URI:$billing_uri",
	start => x509_time($now - 60),
	end   => x509_time($now + 3540));
my $over_1h = mint_cert(
	san   => "URI:$billing_uri",
	start => x509_time($now - 60),
	end   => x509_time($now + 3541));
accepts($exactly_1h, 'billing', "uri:$billing_uri",
	'max_certificate_lifetime = 1h: exactly one hour is accepted');
refuses($over_1h, 'billing', 'lifetime_too_long',
	'max_certificate_lifetime = 1h: one hour and one second is refused');
psql_ok('CREATE ROLE ekurole LOGIN');
bind_to('ekurole', 'uri:spiffe://example.org/ns/prod/sa/eku');
check_is('eku_server_only', 'ekurole', 'f|not_client_auth',
	'rule 3 order: not_client_auth is checked before lifetime_too_long');
check_is('eku_none', 'ekurole', 'f|lifetime_too_long',
	'check() applies max_certificate_lifetime');
set_guc('mtls_ident.max_certificate_lifetime', '0');
accepts('spiffe_billing', 'billing', "uri:$billing_uri",
	'max_certificate_lifetime = 0: no limit');

# --- rule 3: extendedKeyUsage and validity (TLS refuses these first) ---------

check_is('eku_server_only', 'ekurole', 'f|not_client_auth',
	'check(): EKU serverAuth only is not_client_auth');
check_is('eku_any', 'ekurole', 'f|not_client_auth',
	'check(): anyExtendedKeyUsage does not count as clientAuth');
check_is('eku_client', 'ekurole', 't|ok', 'check(): EKU clientAuth');
check_is('eku_client_server', 'ekurole', 't|ok',
	'check(): EKU serverAuth + clientAuth');
check_is('eku_none', 'ekurole', 't|ok', 'check(): no EKU extension');
set_guc('mtls_ident.require_client_auth_eku', 'off');
check_is('eku_server_only', 'ekurole', 't|ok',
	'check(): require_client_auth_eku = off accepts serverAuth only');
check_is('eku_any', 'ekurole', 't|ok',
	'check(): require_client_auth_eku = off accepts anyExtendedKeyUsage');
set_guc('mtls_ident.require_client_auth_eku', 'on');

check_is('expired_static', 'billing', 'f|expired',
	'check(): an expired certificate');
check_is('not_yet_valid_static', 'billing', 'f|expired',
	'check(): a certificate not yet valid');
check_is('spiffe_billing', 'billing', 't|ok', 'check(): control');
is( psql_ok(
		    'SELECT identity FROM mtls_ident.check($pem$'
		  . cert_pem('multi_san')
		  . q{$pem$, 'nobody')}),
	'',
	'check(): no identity without a binding');

my $tls_refused = [qr/could not accept SSL connection: certificate verify failed/];
$node->connect_fails(
	client_connstr($node, 'eku_server_only', user => 'ekurole'),
	'TLS refuses an EKU without clientAuth before the hook',
	expected_stderr => qr/alert unsupported certificate/,
	log_like        => $tls_refused);
$node->connect_fails(
	client_connstr($node, 'eku_any', user => 'ekurole'),
	'TLS refuses anyExtendedKeyUsage before the hook',
	expected_stderr => qr/alert unsupported certificate/,
	log_like        => $tls_refused);
$node->connect_fails(
	client_connstr($node, 'expired_static', user => 'billing'),
	'TLS refuses an expired certificate before the hook',
	expected_stderr => qr/alert certificate expired/,
	log_like        => $tls_refused);
$node->connect_fails(
	client_connstr($node, 'not_yet_valid_static', user => 'billing'),
	'TLS refuses a not yet valid certificate before the hook',
	expected_stderr => qr/alert bad certificate/,
	log_like        => $tls_refused);
accepts('eku_none', 'ekurole', 'uri:spiffe://example.org/ns/prod/sa/eku',
	'no EKU extension: logs in');
accepts('eku_client', 'ekurole', 'uri:spiffe://example.org/ns/prod/sa/eku',
	'EKU clientAuth: logs in');

# --- audit mode --------------------------------------------------------------

set_guc('mtls_ident.mode', 'audit');
$node->connect_ok(
	client_connstr($node, 'spiffe_other', user => 'billing'),
	'audit: a certificate that matches no binding gets in',
	sql             => 'SELECT mtls_ident.session_identity() IS NULL',
	expected_stdout => qr/\At\z/,
	log_like        => [
		qr/mtls_ident: would have refused \(audit mode\) login of role "billing"/,
		qr/outcome=would_reject reason=no_match role="billing" /
	]);
$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'nobody'),
	'audit: a certificate for an unbound role gets in',
	log_like => [qr/outcome=would_reject reason=no_binding role="nobody" /]);
$node->connect_ok(
	client_connstr($node, undef, user => 'billing', dbname => 'nocert'),
	'audit: a bound role without a certificate gets in',
	log_like =>
	  [qr/outcome=would_reject reason=no_certificate role="billing" /]);
is( psql_ok(
		q{SELECT outcome, reason FROM mtls_ident.auth_log
		  WHERE role = 'billing' ORDER BY at DESC LIMIT 1}),
	'would_reject|no_certificate',
	'audit: auth_log records would_reject');
set_guc('mtls_ident.mode', 'enforce');
refuses('spiffe_other', 'billing', 'no_match',
	'enforce again: the same certificate is refused');

# --- the expiry WARNING ------------------------------------------------------

set_guc('mtls_ident.expiry_warning', '7d');
my $short = mint_cert(san => "URI:$billing_uri", end_offset => 3600);
my $short_pem = cert_pem($short);
my $not_after = psql_ok(
	    q{SELECT to_char(not_after AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')}
	  . ' FROM mtls_ident.cert_info($pem$'
	  . $short_pem
	  . '$pem$)');
{
	my ($ret, $stdout, $stderr) = $node->psql(
		'postgres',
		'SELECT mtls_ident.session_identity(); SELECT 2',
		connstr      => client_connstr($node, $short, user => 'billing'),
		extra_params => ['-w']);
	is($ret, 0, 'a certificate expiring in an hour logs in');
	is($stdout, "uri:$billing_uri\n2", 'and runs its queries');
	like(
		$stderr,
		qr/\AWARNING:  your client certificate expires in \d+ seconds, at \Q$not_after\E UTC\n/,
		'the client gets a WARNING with the expiry time');
	my @warnings = $stderr =~ /WARNING/g;
	is(scalar @warnings, 1, 'the WARNING comes once');
}
$node->connect_ok(
	client_connstr($node, 'spiffe_billing', user => 'billing'),
	'a certificate valid for 100 years gets no WARNING');
my $eight_days = mint_cert(san => "URI:$billing_uri", end_offset => 8 * 86400);
$node->connect_ok(client_connstr($node, $eight_days, user => 'billing'),
	'a certificate valid for 8 more days gets no WARNING at 7d');
set_guc('mtls_ident.expiry_warning', '0');
$node->connect_ok(client_connstr($node, $short, user => 'billing'),
	'expiry_warning = 0: no WARNING');

# --- the server survived -----------------------------------------------------

is(psql_ok('SELECT 1'), '1', 'server still answers');
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|server process .* exited with exit code [^01]/,
	'no backend crashed');

done_testing();
