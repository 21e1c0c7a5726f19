# The bounds of the session slots and of the auth_log ring, and what they
# must not change: a subject DN over 2 kB (kept whole up to 6528 bytes) and a
# certificate with more SANs than the slot keeps are still judged on the
# whole certificate by the enforcer; a UTF-8 subject is written as
# `openssl x509 -nameopt RFC2253` writes it; the ring keeps exactly the last
# mtls_ident.auth_log_size events, oldest first; audit-mode refusals are
# counted as would_reject.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $RING = 16;
my $node = new_node(
	'bounds',
	conf => "mtls_ident.auth_log_size = $RING\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub openssl_subject
{
	my ($cert) = @_;
	my ($out) = run_command(
		[
			'openssl', 'x509', '-in', cert_path($cert, 'leaf'),
			'-noout', '-subject', '-nameopt', 'RFC2253'
		]);
	$out =~ /^subject=(.*)$/m or die "unexpected openssl output: $out";
	return $1;
}

# The enforcer has made at least one complete pass over the slots since
# now: two canary sessions, unbound one after the other, are each ended
# (the second by a pass that started after the first was gone).
my $canaries = 0;

sub enforcer_passed
{
	for (1 .. 2)
	{
		my $sa = 'canary' . ++$canaries;
		bound_role($node, $sa, $sa);
		my $cert = mint_cert(san => spiffe($sa));
		my $s = open_session($node, $cert, $sa);
		sql("SELECT mtls_ident.unbind('$sa', 'uri:spiffe://example.org/ns/prod/sa/$sa')");
		return 0 unless session_gone($node, $s->pid);
		$s->quit;
	}
	return 1;
}

# --- a subject DN longer than 2048 bytes, bound with a dn: regex --------------
my $subj = join('', map { "/OU=unit-$_-" . ('x' x 52) } 1 .. 45) . '/CN=longsubject';
my $big = mint_cert(subj => $subj);
my $big_dn = openssl_subject($big);
cmp_ok(length($big_dn), '>', 2048, 'the long subject is over 2048 bytes ('
	  . length($big_dn) . ')');
sql('CREATE ROLE bigdn LOGIN');
# an exact dn: pattern is limited to 1024 bytes; a regex reaches the end
# of a longer DN
sql("SELECT mtls_ident.bind('bigdn', 'dn:~CN=longsubject,.*,OU=unit-1-x+')");
is(sql("SELECT subject FROM mtls_ident.cert_info(\$\$" . cert_pem($big) . "\$\$)"),
	$big_dn, 'cert_info: the long subject in full');

my $s_big = open_session($node, $big, 'bigdn');
is($s_big->query('SELECT mtls_ident.session_identity()'),
	"dn:$big_dn", 'long subject: session_identity() is the whole DN');
my $row = sql("SELECT subject FROM mtls_ident.sessions WHERE pid = " . $s_big->pid);
cmp_ok(length($big_dn), '<', 6528, 'the long subject is within the slot bound for names');
is($row, $big_dn,
	'long subject: sessions.subject keeps the whole name (up to the documented 6528 bytes)');
ok(enforcer_passed(), 'the enforcer made passes');
still_alive($node, $s_big,
	'a session admitted by a dn: regex on a subject over 2048 bytes');
$s_big->quit;

# --- more SANs than the slot keeps ------------------------------------------
sql('CREATE ROLE many LOGIN');
sql("SELECT mtls_ident.bind('many', 'dns:host-2999.example.com')");
sql("SELECT mtls_ident.bind('many', 'dns:host-2000.example.com')");
my $s_many = open_session($node, 'many_sans_3000', 'many');
is($s_many->query('SELECT mtls_ident.session_identity()'),
	'dns:host-2999.example.com', 'many SANs: the first binding matched');
is( sql("SELECT sans_truncated AND NOT 'dns:host-2000.example.com' = ANY (sans) "
		  . "FROM mtls_ident.sessions WHERE pid = " . $s_many->pid),
	't',
	'many SANs: the slot dropped host-2000 (so this test means something)');
# the certificate still matches the other binding
sql("SELECT mtls_ident.unbind('many', 'dns:host-2999.example.com')");
is(sql("SELECT allowed FROM mtls_ident.check(\$\$"
		  . cert_pem('many_sans_3000') . "\$\$, 'many')"),
	't', 'many SANs: check() still admits the certificate');
ok(enforcer_passed(), 'the enforcer made passes');
still_alive($node, $s_many,
	'a session whose certificate still matches a binding through a SAN the slot dropped'
);
$s_many->quit;

# --- a UTF-8 subject ----------------------------------------------------------
my $utf = mint_cert(
	subj => '/O=Zoë Corp/CN=zoë',
	san  => spiffe('zoe'));
my $utf_dn = openssl_subject($utf);
is($utf_dn, 'CN=zo\C3\AB,O=Zo\C3\AB Corp', 'openssl escapes the UTF-8 bytes');
bound_role($node, 'zoe', 'zoe');
is(sql("SELECT subject FROM mtls_ident.cert_info(\$\$" . cert_pem($utf) . "\$\$)"),
	$utf_dn, 'cert_info: UTF-8 subject as openssl -nameopt RFC2253');
my $s_utf = open_session($node, $utf, 'zoe');
is(sql("SELECT subject FROM mtls_ident.sessions WHERE pid = " . $s_utf->pid),
	$utf_dn, 'sessions: UTF-8 subject as openssl -nameopt RFC2253');
$s_utf->quit;

# --- stats: audit-mode refusals are would_reject -----------------------------
sql('CREATE ROLE nobind LOGIN');
sql('SELECT mtls_ident.reset_stats()');
$node->append_conf('postgresql.conf', "mtls_ident.mode = 'audit'\n");
$node->reload;
ok($node->poll_query_until('postgres', 'SHOW mtls_ident.mode', 'audit'),
	'audit mode');
$node->connect_ok(client_connstr($node, 'spiffe_other', user => 'zoe'),
	"audit: no_match lets in $_") for 1 .. 2;
$node->connect_ok(client_connstr($node, 'spiffe_billing', user => 'nobind'),
	'audit: no_binding lets in');
is( sql("SELECT string_agg(outcome || '/' || reason || '=' || count, ',' ORDER BY outcome, reason) "
		  . 'FROM mtls_ident.stats WHERE count > 0'),
	'would_reject/no_binding=1,would_reject/no_match=2',
	'stats counts audit-mode refusals as would_reject, exactly');
$node->append_conf('postgresql.conf', "mtls_ident.mode = 'enforce'\n");
$node->reload;
ok($node->poll_query_until('postgres', 'SHOW mtls_ident.mode', 'enforce'),
	'enforce mode');

# --- the ring keeps the last auth_log_size events, oldest first --------------
my $N = 40;
for my $i (1 .. $N)
{
	$node->connect_fails(
		client_connstr($node, 'spiffe_other', user => 'zoe', dbname => "ring_$i"),
		"ring: refused attempt $i");
}
is(sql('SELECT count(*) FROM mtls_ident.auth_log'),
	$RING, "auth_log holds exactly auth_log_size ($RING) events");
is( sql("SELECT string_agg(database, ',') FROM mtls_ident.auth_log"),
	join(',', map { "ring_$_" } ($N - $RING + 1) .. $N),
	'auth_log holds the last events, oldest first');
is( sql('SELECT bool_and(at >= prev) FROM (SELECT at, lag(at) OVER () AS prev '
		  . 'FROM mtls_ident.auth_log) x WHERE prev IS NOT NULL'),
	't',
	'auth_log times never go backwards');
is(sql("SELECT count(*) FROM mtls_ident.stats WHERE outcome = 'reject' AND reason = 'no_match' AND count = $N"),
	'1', 'stats counted every event, not only those the ring kept');

$node->stop;
done_testing();
