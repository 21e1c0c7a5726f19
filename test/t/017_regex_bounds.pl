# Regular-expression bindings cannot escape their anchoring and cannot stall
# a login or the enforcer (issue 10 defect 4; SPEC section 3,
# doc/matching.md "What a regex may not contain").
#
# - bind() refuses a regex that would escape "^(?:...)$" and one with
#   back-references; SECURITY LABEL refuses them the same way.
# - A binding stored behind the check hook's back (as one written before
#   these rules existed) is not evaluated: it admits nothing, even a
#   certificate that only the escape would admit (the cause is in the server
#   log), the enforcer ends a session that relied on it, and unbind()
#   removes it.
# - The worst regex still accepted, on a 4 kB SAN, decides the login, and
#   the enforcer keeps sweeping while a session that uses it is live.
#   Timings are measured and reported (note), not asserted tightly: the
#   machine is shared.
# Real TLS connections through "hostssl ... trust clientcert=verify-ca".

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $node = new_node('regex_bounds',
	conf => "mtls_ident.expiry_warning = 0\nmtls_ident.enforce_interval = '1s'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

my $escape =
  'uri:~spiffe://example\.org/ns/prod/sa/billing)|(nomatch';
my $backref = 'dns:~(a*)(a*)(a*)\1\2\3\.example\.com';

# a label written behind the check hook's back: what an older version (or a
# restored dump of one) may have left in the catalog
sub store_label_unchecked
{
	my ($role, $label) = @_;
	$node->safe_psql('postgres',
		"SECURITY LABEL FOR mtls_ident ON ROLE " . qi($role)
		  . " IS 'bind \"cn:placeholder\"'");
	$node->safe_psql('postgres',
		"UPDATE pg_shseclabel SET label = " . ql($label)
		  . " WHERE provider = 'mtls_ident' AND objoid = "
		  . ql(qi($role)) . "::regrole");
	return;
}

# --- bind() and SECURITY LABEL refuse ----------------------------------------

$node->safe_psql('postgres', 'CREATE ROLE esc LOGIN');
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT mtls_ident.bind('esc', " . ql($escape) . ")");
isnt($rc, 0, 'bind() refuses a regex that escapes its anchoring');
like($err, qr/unbalanced "\)"/, '... saying the parentheses do not balance');

($rc, $out, $err) = $node->psql('postgres',
	"SELECT mtls_ident.bind('esc', " . ql($backref) . ")");
isnt($rc, 0, 'bind() refuses a back-reference');
like($err, qr/back-references .* are not allowed/, '... saying why');

(my $label_escape = $escape) =~ s/\\/\\\\/g;
($rc, $out, $err) = $node->psql('postgres',
	"SECURITY LABEL FOR mtls_ident ON ROLE esc IS "
	  . ql("bind \"$label_escape\""));
isnt($rc, 0, 'SECURITY LABEL refuses the escaping regex too');
like($err, qr/unbalanced "\)"/, '... with the same message');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_shseclabel WHERE objoid = 'esc'::regrole"),
	'0', 'nothing was stored');

# --- a stored escaping binding admits nothing, fail closed -------------------

my $extra = mint_cert(san => 'URI:spiffe://example.org/ns/prod/sa/billing/extra');
my $nomatch = mint_cert(san => 'URI:spiffe://example.org/nomatch');
store_label_unchecked('esc', "bind \"$label_escape\"");
for my $c ([ $extra, 'a URI only the escape admits' ],
	[ 'spiffe_billing', 'the URI the regex was meant for' ],
	[ $nomatch, 'the other side of the escape' ])
{
	my $off = -s $node->logfile;
	cert_refused($node, $c->[0], 'esc', 'no_match',
		"stored escaping regex: $c->[1] is refused");
	ok( $node->log_contains(
			qr/mtls_ident: invalid binding "\Q$escape\E" on role with OID \d+ is not evaluated\n.*DETAIL: .*unbalanced "\)"/,
			$off),
		'... and the log names the invalid binding');
}
is($node->safe_psql('postgres',
		"SELECT mtls_ident.unbind('esc', " . ql($escape) . ")"),
	't', 'unbind() removes the stored escaping binding by its text');
$node->safe_psql('postgres',
	"SELECT mtls_ident.bind('esc', 'uri:~spiffe://example\\.org/ns/prod/sa/(billing|nomatch)')");
cert_accepted($node, 'spiffe_billing', 'esc',
	'uri:spiffe://example.org/ns/prod/sa/billing',
	'the regex written as a group admits the URI it was meant for');
cert_refused($node, $extra, 'esc', 'no_match',
	'... and not a longer path');

# --- a live session that relied on it is ended by the enforcer ---------------

bound_role($node, 'enc', 'enc');
$node->safe_psql('postgres',
	"SELECT mtls_ident.bind('enc', 'uri:~spiffe://example\\.org/ns/prod/sa/(enc|x)')");
my $c_enc = mint_cert(san => spiffe('enc'));
my $s_enc = open_session($node, $c_enc, 'enc');
store_label_unchecked('enc',
	'bind "uri:~spiffe://example\\\\.org/ns/prod/sa/enc)|(x"');
ok(session_gone($node, $s_enc->pid),
	'the enforcer ends a session whose only binding became an escaping regex');
$s_enc->quit;

# --- a stored back-reference is never run ------------------------------------

my $long_a = ('a' x 4000) . '.example.com';
my $c_long_a = mint_cert(san => "DNS:$long_a");
$node->safe_psql('postgres', 'CREATE ROLE bref LOGIN');
(my $label_backref = $backref) =~ s/\\/\\\\/g;
store_label_unchecked('bref', "bind \"$label_backref\"");
{
	my $off = -s $node->logfile;
	my $t0 = time;
	cert_refused($node, $c_long_a, 'bref', 'no_match',
		'stored back-reference: the login is refused, not evaluated');
	note(sprintf('stored back-reference login decided in %.2f s', time - $t0));
	ok( $node->log_contains(
			qr/invalid binding .* is not evaluated\n.*DETAIL: .*back-references/,
			$off),
		'... and the log says why');
}

# --- the worst accepted regex on a 4 kB SAN ----------------------------------

# The slowest shape found among patterns that are accepted (at most 32
# quantifiers, no non-greedy ones, 1024 bytes): ten "(.*a.?b?)" groups and
# 700 "." on a random a/b subject of 4000 bytes -- tens of milliseconds in
# the engine (doc/matching.md).  The same 100 times over, or 200
# "(a|b|ab|ba)*" groups, took seconds: refused now.
my $worst = 'uri:~spiffe://example\.org/x/' . ('(.*a.?b?)' x 10) . ('.' x 700);
ok(length($worst) <= 1024, 'the worst pattern fits an identity');
srand(17);
my $path = join '', map { rand() < 0.5 ? 'a' : 'b' } 1 .. 4000;
substr($path, -701, 1) = 'a';    # so that the tenth group can end there
my $worst_uri = "spiffe://example.org/x/$path";
ok(length($worst_uri) <= 4096, 'the SAN is within the 4096-byte bound');

($rc, $out, $err) = $node->psql('postgres',
	"SELECT mtls_ident.bind('esc', "
	  . ql('uri:~spiffe://example\.org/x/' . ('(a|b|ab|ba)*' x 33)) . ")");
isnt($rc, 0, 'bind() refuses 33 quantified groups');
like($err, qr/too many quantifiers/, '... saying why');
($rc, $out, $err) = $node->psql('postgres',
	"SELECT mtls_ident.bind('esc', "
	  . ql('uri:~spiffe://example\.org/x/(a*?b*)') . ")");
isnt($rc, 0, 'bind() refuses a non-greedy quantifier');
like($err, qr/non-greedy/, '... saying why');

# the engine alone, on this subject (for the report)
{
	(my $rx = $worst) =~ s/^uri:~//;
	my $t0 = time;
	is($node->safe_psql('postgres',
			"SELECT " . ql($worst_uri) . " ~ " . ql("^(?:$rx)\$")),
		't', 'the worst pattern matches its subject (PostgreSQL regex engine)');
	note(sprintf('worst pattern, one match in SQL: %.3f s', time - $t0));
}

my $c_worst = mint_cert(san => "URI:$worst_uri");
$node->safe_psql('postgres', 'CREATE ROLE worst LOGIN');
$node->safe_psql('postgres', "SELECT mtls_ident.bind('worst', " . ql($worst) . ")");
{
	my $t0 = time;
	cert_accepted($node, $c_worst, 'worst', "uri:$worst_uri",
		'the worst accepted regex decides the login on a 4 kB SAN');
	note(sprintf('worst pattern login (TLS connect included): %.2f s',
			time - $t0));
}
my $other = mint_cert(san => 'URI:spiffe://example.org/x/' . ('b' x 4000));
cert_refused($node, $other, 'worst', 'no_match',
	'... and refuses a subject it does not match');

# the enforcer re-checks a session that uses it every sweep, and keeps
# sweeping: a canary session is ended when its binding goes
my $s_worst = open_session($node, $c_worst, 'worst');
bound_role($node, 'canary', 'canary');
my $c_canary = mint_cert(san => spiffe('canary'));
my $s_canary = open_session($node, $c_canary, 'canary');
sleep(3);    # a few sweeps over the worst session
{
	my $t0 = time;
	$node->safe_psql('postgres',
		"SELECT mtls_ident.unbind('canary', 'uri:spiffe://example.org/ns/prod/sa/canary')");
	ok(session_gone($node, $s_canary->pid),
		'the enforcer keeps sweeping while a session uses the worst regex');
	note(sprintf('canary ended %.2f s after unbind', time - $t0));
}
ok(session_alive($node, $s_worst->pid),
	'the session of the worst regex is still valid and alive');
$_->quit for ($s_worst, $s_canary);

$node->stop;
done_testing();
