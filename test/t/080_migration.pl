# Migration from cert + pg_ident.conf (SPEC section 10, doc/migration.md).
#
# Part 1, the translator: a pg_ident.conf of many shapes (literal, quoted
# literal with spaces, regexes anchored and not, \1 as the role, \1 inside a
# longer user, two capture groups, a bound, all, +group, comments, a
# continued line, a map used with clientname=DN) read by
# mtls_ident.bindings_from_ident_map(); each row's identity and note are
# checked, every proposed binding is bound, and for each pair of a
# certificate and a role PostgreSQL's own decision (a real login through
# "cert map=...") is compared with mtls_ident.check() on the proposed
# bindings.
#
# Part 2, the move itself, step by step as doc/migration.md says, on a real
# cluster with real certificates: propose, bind in audit mode with the old
# "cert map=" line in place, read auth_log, enforce, switch the pg_hba.conf
# line to "trust clientcert=verify-ca", and log in before and after.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

my $local = 'local all all trust';

my $node = new_node(
	'migration',
	conf => "mtls_ident.expiry_warning = 0\nmtls_ident.mode = off\n",
	hba => join("\n",
		'hostssl shapesdb all 127.0.0.1/32 cert map=shapes',
		'hostssl dndb all 127.0.0.1/32 cert clientname=DN map=dnmap',
		'hostssl both all 127.0.0.1/32 cert map=bothmap',
		'hostssl bothdn all 127.0.0.1 255.255.255.255 cert "clientname=DN" map=bothmap',
		'hostssl nomapdb all 127.0.0.1/32 cert',
		'hostssl all all 127.0.0.1/32 cert map=app'));
my $v16 = $node->pg_version >= 16;

sub write_ident
{
	my ($text) = @_;
	my $file = $node->data_dir . '/pg_ident.conf';
	open my $fh, '>', $file or die "$file: $!";
	print $fh $text;
	close $fh or die "$file: $!";
	return;
}

write_ident(<<'EOF');
# pg_ident.conf of many shapes
# MAPNAME  SYSTEM-USERNAME            PG-USERNAME
shapes     legacy-app                 legacy_app      # a trailing comment
shapes     "with space"               spaced
shapes     "/^app-[a-z]+$"            apps
shapes     /svc                       svcrole
shapes     "/^(.*)@example\.com$"     \1
shapes     "/^ro-(.*)$"               \1_ro
shapes     "/^(\w+)\.(\w+)$"          \1
shapes     x-all                      all
shapes     x-grp                      +staff
shapes     "/^n{2}$"                  nn
shapes     cont-user \
           controle
shapes     "/^(a)\1$"                 aa
shapes     "~tilde{x}"                tilde
dnmap      "CN=alice,O=Example"       alice
dnmap      "/^CN=([^,]+),O=Example$"  \1
bothmap    both-user                  bothrole
othermap   x                          y
shapes     "/^svc-([a-z]+)$"          \1
shapes     "/^(?=la)lab$"             legacy_app
EOF
$node->start;
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION mtls_ident;
	CREATE DATABASE shapesdb; CREATE DATABASE dndb; CREATE DATABASE nomapdb;
	CREATE ROLE legacy_app LOGIN; CREATE ROLE spaced LOGIN;
	CREATE ROLE apps LOGIN; CREATE ROLE svcrole LOGIN;
	CREATE ROLE controle LOGIN; CREATE ROLE tilde LOGIN;
	CREATE ROLE staff NOLOGIN;
	CREATE ROLE dave LOGIN IN ROLE staff; CREATE ROLE bob LOGIN IN ROLE staff;
	CREATE ROLE bob2 LOGIN IN ROLE staff;
	CREATE ROLE erin LOGIN;
	CREATE ROLE alice LOGIN; CREATE ROLE app_ro LOGIN; CREATE ROLE bothrole LOGIN;
});

sub rows
{
	my ($map, $group) = @_;
	my $g = defined $group ? ql($group) : 'NULL';
	my $out = $node->safe_psql('postgres',
		    "SELECT line_number, coalesce(role, '-'), coalesce(identity, '-'), coalesce(note, '-'), issuer IS NULL"
		  . " FROM mtls_ident.bindings_from_ident_map("
		  . ql($map)
		  . ", $g)");
	my %r;
	for my $line (split /\n/, $out)
	{
		my ($n, $role, $id, $note, $nullissuer) = split /\|/, $line, 5;
		$r{$n} = { role => $role, identity => $id, note => $note };
		is($nullissuer, 't', "$map line $n: no issuer pin");
	}
	return \%r;
}

# --- part 1: the translator ------------------------------------------------

my $r = rows('shapes', 'staff');
is_deeply(
	[ sort { $a <=> $b } keys %$r ],
	[ 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 21, 22 ],
	'one row per line of the map, comments and other maps left out, the continued line once');

sub row_is
{
	my ($rows, $line, $role, $identity, $note, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is($rows->{$line}{role}, $role, "$name: role");
	is($rows->{$line}{identity}, $identity, "$name: identity");
	if (ref $note)
	{
		like($rows->{$line}{note}, $note, "$name: note");
	}
	else
	{
		is($rows->{$line}{note}, $note, "$name: note");
	}
	return;
}

row_is($r, 3, 'legacy_app', 'cn:legacy-app', '-', 'literal');
row_is($r, 4, 'spaced', 'cn:with space', '-', 'quoted literal with a space');
row_is($r, 5, 'apps', 'cn:~app-[a-z]+', '-', 'anchored regex');
row_is($r, 6, 'svcrole', 'cn:~.*svc.*', '-',
	'unanchored regex: matches anywhere in the name');
row_is($r, 7, 'staff', 'cn:~{role}@example\.com', '-',
	'\1 as the role: {role} on the group');
row_is($r, 8, '-', '-', qr/puts \\1 inside a longer name/,
	'\1 inside a longer database user');
row_is($r, 9, 'staff', '-',
	qr/^not proposed: PostgreSQL takes the role from the one match it prefers, but it has a second capture group.*would admit every role name some match could capture, more than this line admits/,
	'two capture groups: no identity (a {role} binding would admit more), the note says why');
if ($v16)
{
	row_is($r, 10, '-', 'cn:x-all', qr/database user "all" admits any role/,
		'all (PostgreSQL 16+): no role, a note');
	row_is($r, 11, '-', 'cn:x-grp',
		qr/database user "\+staff" admits every member of staff/,
		'+group (PostgreSQL 16+): no role, a note');
}
else
{
	row_is($r, 10, 'all', 'cn:x-all', 'role "all" does not exist',
		'all (PostgreSQL 15): a role name like any other');
	row_is($r, 11, '+staff', 'cn:x-grp', 'role "+staff" does not exist',
		'+group (PostgreSQL 15): a role name like any other');
}
row_is($r, 21, 'staff', '-',
	qr/^not proposed: PostgreSQL also requires the role name to match the capture group \(\[a-z\]\+\), which a binding could only check with a lookahead, and bind\(\) refuses lookaheads; cn:~svc-\{role\} on a group admits exactly what this line admits only if every member's name matches \^\(\?:\[a-z\]\+\)\$/,
	'\1 with its own expression: no identity (bind() refuses the lookahead that would check it), the note gives the exact condition');
row_is($r, 22, 'legacy_app', '-',
	qr/^not proposed: bind\(\) refuses cn:~\(\?=la\)lab: .*lookahead constraints/,
	'a lookahead in the line itself: bind() refuses the translation, no identity, bind()\'s reason in the note');
row_is($r, 12, 'nn', '-', qr/uses a bound \{m,n\}, which bind\(\) refuses/,
	'a bound: no identity');
row_is($r, 13, 'controle', 'cn:cont-user', '-',
	'a continued line');
row_is($r, 15, 'aa', '-', qr/back-reference/, 'a back-reference: no identity');
row_is($r, 16, 'tilde', 'cn:~\~tilde\u007bx\u007d', '-',
	'a literal starting with "~" or with braces becomes an escaped regex');

my $d = rows('dnmap', 'staff');
row_is($d, 17, 'alice', 'dn:CN=alice,O=Example', '-',
	'clientname=DN: a dn: binding');
row_is($d, 18, 'staff', '-',
	qr/^not proposed: .*capture group \(\[\^,\]\+\).*dn:~CN=\{role\},O=Example on a group/,
	'clientname=DN, \1 with its own expression: no identity, the note gives the dn: form');

my $nogroup = rows('shapes');
like($nogroup->{7}{note}, qr/bind this \{role\} identity to the group/,
	'\1 without group_role: the note says to bind it to a group');
is($nogroup->{7}{role}, '-', '\1 without group_role: no role');

my $both = rows('bothmap');
like($both->{19}{note},
	qr/clientname=CN \(line 4\) and clientname=DN \(line 5\)/,
	'a map used with both CN and DN (DN written in quotes, netmask form) is named');
my $other = rows('othermap');
like($other->{20}{note}, qr/no cert line of pg_hba.conf uses map "othermap"/,
	'a map no cert line uses is named');

{
	my ($ret, $out, $err) = $node->psql('postgres',
		q{SELECT count(*) FROM mtls_ident.bindings_from_ident_map('nosuchmap')});
	is($out, '0', 'an unknown map: no rows');
	like($err, qr/pg_ident.conf has no line for map "nosuchmap"/,
		'an unknown map: a NOTICE says so');
}

# The invariant of doc/migration.md: every row with an identity is accepted
# by bind() as it is (checked on a scratch role, rolled back), and a row
# without one always says why.
for my $map ('shapes', 'dnmap', 'bothmap', 'othermap')
{
	is( $node->safe_psql(
			'postgres', qq{
		BEGIN;
		CREATE ROLE mig_scratch NOLOGIN;
		SELECT count(*) FILTER (WHERE b.identity IS NOT NULL) || '|'
		       || count(*) FILTER (WHERE b.identity IS NULL AND b.note IS NULL)
		FROM mtls_ident.bindings_from_ident_map(} . ql($map) . q{, 'staff') b;
		SELECT count(*) FROM (
		  SELECT mtls_ident.bind('mig_scratch', b.identity)
		  FROM mtls_ident.bindings_from_ident_map(} . ql($map) . q{, 'staff') b
		  WHERE b.identity IS NOT NULL) x;
		ROLLBACK;}),
		$map eq 'shapes' ? "9|0\n9" : "1|0\n1",
		"$map: bind() accepts every proposed identity; every row without one has a note");
}

# Every proposed identity is bound as proposed; then PostgreSQL's own
# decision (a login through "cert map=...", mtls_ident.mode = off) and
# check() on the bindings agree for each certificate and role.
$node->safe_psql('postgres',
	q{SELECT mtls_ident.bind(quote_ident(b.role)::regrole, b.identity, b.issuer)
	  FROM mtls_ident.bindings_from_ident_map('shapes', 'staff') b
	  WHERE b.note IS NULL
	  UNION ALL
	  SELECT mtls_ident.bind(quote_ident(b.role)::regrole, b.identity, b.issuer)
	  FROM mtls_ident.bindings_from_ident_map('dnmap', 'staff') b
	  WHERE b.note IS NULL});
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM mtls_ident.bindings}),
	'8', 'bind() accepts every proposed binding that has no note');

my %cert;
sub cn_cert
{
	my ($cn, %o) = @_;
	return $cert{"$cn|" . ($o{subj} // '')} //=
	  mint_cert(defined $o{subj} ? (subj => $o{subj}) : (cn => $cn));
}

# [ certificate CN (or subject), role, database, PostgreSQL admits? ]
my @pairs = (
	[ 'legacy-app',        'legacy_app', 'shapesdb', 1 ],
	[ 'legacy-app',        'spaced',     'shapesdb', 0 ],
	[ 'Legacy-app',        'legacy_app', 'shapesdb', 0 ],
	[ 'legacy-app2',       'legacy_app', 'shapesdb', 0 ],
	[ 'with space',        'spaced',     'shapesdb', 1 ],
	[ 'app-web',           'apps',       'shapesdb', 1 ],
	[ 'app-Web',           'apps',       'shapesdb', 0 ],
	[ 'xapp-web',          'apps',       'shapesdb', 0 ],
	[ 'my-svc-1',          'svcrole',    'shapesdb', 1 ],
	[ 'sv-c',              'svcrole',    'shapesdb', 0 ],
	[ 'dave@example.com',  'dave',       'shapesdb', 1 ],
	[ 'dave@example.com',  'bob',        'shapesdb', 0 ],
	[ 'dave@example.com.x', 'dave',      'shapesdb', 0 ],
	[ 'x.dave@example.com', 'dave',      'shapesdb', 0 ],
	# line 21 is not proposed (fail closed): PostgreSQL admits, check() not
	[ 'svc-dave',          'dave',       'shapesdb', 1, undef, 0 ],
	[ 'svc-bob2',          'bob2',       'shapesdb', 0 ],
	[ 'cont-user',         'controle',   'shapesdb', 1 ],
	[ '~tilde{x}',         'tilde',      'shapesdb', 1 ],
	[ '~tilde{x}x',        'tilde',      'shapesdb', 0 ],
	[ 'alice',             'alice',      'dndb',     1, '/O=Example/CN=alice' ],
	[ 'alice',             'alice',      'dndb',     0, '/O=Example/OU=x/CN=alice' ],
	# line 18 is not proposed (fail closed): PostgreSQL admits, check() not
	[ 'bob',               'bob',        'dndb',     1, '/O=Example/CN=bob', 0 ],
	[ 'bob',               'dave',       'dndb',     0, '/O=Example/CN=bob' ],
	[ 'bo,b',              'bob',        'dndb',     0, '/O=Example/CN=bo,b' ],
	[ 'bob',               'bob',        'dndb',     0, '/O=Other/CN=bob' ],);
for my $p (@pairs)
{
	my ($cn, $role, $db, $pg, $subj, $mi) = @$p;
	$mi //= $pg;
	my $c = cn_cert($cn, subj => $subj);
	my $what = ($subj // "CN=$cn") . " as $role";
	my ($ret) = $node->psql('postgres', 'SELECT 1',
		connstr => client_connstr($node, $c, user => $role, dbname => $db),
		extra_params => ['-w']);
	is($ret == 0 ? 1 : 0, $pg,
		"$what: PostgreSQL's map " . ($pg ? 'admits' : 'refuses'));
	is( $node->safe_psql('postgres',
			'SELECT allowed FROM mtls_ident.check($pem$'
			  . cert_pem($c)
			  . '$pem$, '
			  . ql(qi($role)) . ')'),
		$mi ? 't' : 'f',
		"$what: the proposed bindings "
		  . ($mi ? 'admit' : 'refuse') . ' it'
		  . ($mi == $pg ? ' too' : ' (the line is not proposed: fail closed)'));
}

# Why line 21 is not proposed: without the lookahead, cn:~svc-{role} on
# staff would admit CN=svc-bob2 as bob2 (a member of staff), which the line
# refuses because bob2 does not match [a-z]+ (PostgreSQL's refusal is
# asserted above); it admits exactly only on a group whose members all match.
{
	my $c = cn_cert('svc-bob2');
	$node->safe_psql('postgres', q{SELECT mtls_ident.bind('staff', 'cn:~svc-{role}')});
	is( $node->safe_psql('postgres',
			'SELECT allowed FROM mtls_ident.check($pem$' . cert_pem($c) . q{$pem$, 'bob2')}),
		't',
		'CN=svc-bob2 as bob2: the {role} form without the lookahead would admit what the line refuses');
	$node->safe_psql('postgres', q{SELECT mtls_ident.unbind('staff', 'cn:~svc-{role}')});
}

# doc/migration.md: a cert line without map= compares the CN with the role
# name, and cn:{role} on a group of those roles says the same.
$node->safe_psql('postgres', q{SELECT mtls_ident.bind('staff', 'cn:{role}')});
for my $p (['dave', 'dave', 1], ['dave', 'bob', 0], ['Dave', 'dave', 0], ['dave2', 'dave', 0])
{
	my ($cn, $role, $pg) = @$p;
	my $c = cn_cert($cn);
	my ($ret) = $node->psql('postgres', 'SELECT 1',
		connstr => client_connstr($node, $c, user => $role, dbname => 'nomapdb'),
		extra_params => ['-w']);
	is($ret == 0 ? 1 : 0, $pg, "CN=$cn as $role: cert without map " . ($pg ? 'admits' : 'refuses'));
	is( $node->safe_psql('postgres',
			'SELECT allowed FROM mtls_ident.check($pem$' . cert_pem($c) . '$pem$, ' . ql($role) . ')'),
		$pg ? 't' : 'f',
		"CN=$cn as $role: cn:{role} on the group " . ($pg ? 'admits' : 'refuses') . ' it too');
}
$node->safe_psql('postgres', q{SELECT mtls_ident.unbind('staff', 'cn:{role}')});

# The documented differences, shown: \1 admits any role PostgreSQL's map
# admits, the {role} binding only members of the group it is bound to; cn:
# never matches a certificate that carries SANs.
{
	my $c = cn_cert('erin@example.com');
	my ($ret) = $node->psql('postgres', 'SELECT 1',
		connstr => client_connstr($node, $c, user => 'erin', dbname => 'shapesdb'),
		extra_params => ['-w']);
	is($ret, 0, 'CN=erin@example.com as erin: PostgreSQL\'s map admits any role');
	is( $node->safe_psql('postgres',
			'SELECT reason FROM mtls_ident.check($pem$' . cert_pem($c) . q{$pem$, 'erin')}),
		'no_binding',
		'CN=erin@example.com as erin: the {role} binding admits only members of staff');
	my $san = mint_cert(cn => 'legacy-app', san => 'DNS:legacy-app.example.com');
	($ret) = $node->psql('postgres', 'SELECT 1',
		connstr => client_connstr($node, $san, user => 'legacy_app', dbname => 'shapesdb'),
		extra_params => ['-w']);
	is($ret, 0, 'CN=legacy-app with a DNS SAN: PostgreSQL\'s map admits it');
	is( $node->safe_psql('postgres',
			'SELECT reason FROM mtls_ident.check($pem$' . cert_pem($san) . q{$pem$, 'legacy_app')}),
		'no_match',
		'CN=legacy-app with a DNS SAN: cn: does not match a certificate with SANs');
}

# The function changes nothing and needs what pg_ident_file_mappings needs.
{
	$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
	my ($ret, $out, $err) = $node->psql('postgres',
		q{SET ROLE plain; SELECT * FROM mtls_ident.bindings_from_ident_map('shapes')});
	isnt($ret, 0, 'a role without privileges cannot read the maps');
	like($err, qr/permission denied/, 'it gets "permission denied"');
	my $before = $node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_shseclabel});
	$node->safe_psql('postgres',
		q{SELECT * FROM mtls_ident.bindings_from_ident_map('shapes', 'staff')});
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_shseclabel}),
		$before, 'the function changes no binding');
}

# --- part 2: the move, step by step -----------------------------------------

# The old setup: "cert map=app" for every database (the last hba line).
write_ident(<<'EOF');
app  legacy-app                 legacy_app
app  "/^(.*)@example\.com$"     \1
app  "/^ro-(.*)$"               \1_ro
EOF
$node->safe_psql('postgres',
	q{SELECT mtls_ident.unbind(quote_ident(b.role)::regrole, b.identity) FROM mtls_ident.bindings b});
$node->reload;

my $legacy = mint_cert(cn => 'legacy-app');
my $legacy_san = mint_cert(cn => 'legacy-app', san => 'DNS:legacy-app.example.com');
my $dave = mint_cert(cn => 'dave@example.com');
my $mallory = mint_cert(cn => 'mallory');
my $ro = mint_cert(cn => 'ro-app');


sub logs_in
{
	my ($c, $role, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	$node->connect_ok(client_connstr($node, $c, user => $role), $name);
	return;
}

sub refused
{
	my ($c, $role, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	$node->connect_fails(client_connstr($node, $c, user => $role), $name,
		expected_stderr => qr/certificate authentication failed for user "\Q$role\E"/);
	return;
}

sub last_event
{
	my ($role) = @_;
	return $node->safe_psql('postgres',
		"SELECT outcome || '|' || reason || '|' || coalesce(identity, '-') FROM mtls_ident.auth_log"
		  . ' WHERE role = ' . ql($role) . ' ORDER BY at DESC LIMIT 1');
}

reload_wait($node);
logs_in($legacy, 'legacy_app', 'before: CN=legacy-app logs in as legacy_app (map)');
logs_in($legacy_san, 'legacy_app', 'before: the same CN with a DNS SAN logs in too');
logs_in($dave, 'dave', 'before: CN=dave@example.com logs in as dave (\1)');
logs_in($ro, 'app_ro', 'before: CN=ro-app logs in as app_ro (\1_ro)');
refused($mallory, 'legacy_app', 'before: CN=mallory is refused');

# Step 1-2: propose and review.
my $p = rows('app', 'staff');
is($p->{1}{identity}, 'cn:legacy-app', 'proposed: cn:legacy-app');
is($p->{2}{identity}, 'cn:~{role}@example\.com', 'proposed: {role} on staff');
like($p->{3}{note}, qr/inside a longer name/, 'proposed: \1_ro needs a hand-made binding');

# Step 3-4: audit mode, then bind what needs no decision.
$node->safe_psql('postgres', q{ALTER SYSTEM SET mtls_ident.mode = audit});
reload_wait($node);
$node->safe_psql('postgres',
	q{SELECT mtls_ident.bind(quote_ident(role)::regrole, identity, issuer)
	  FROM mtls_ident.bindings_from_ident_map('app', 'staff')
	  WHERE note IS NULL});

# Step 5: watch auth_log.
logs_in($legacy, 'legacy_app', 'audit: CN=legacy-app logs in');
is(last_event('legacy_app'), 'accept|ok|cn:legacy-app',
	'audit: auth_log shows it accepted by the new binding');
logs_in($legacy_san, 'legacy_app', 'audit: CN=legacy-app with a SAN still logs in');
is(last_event('legacy_app'), 'would_reject|no_match|-',
	'audit: auth_log shows the certificate with a SAN as would_reject');
logs_in($dave, 'dave', 'audit: dave logs in');
is(last_event('dave'), 'accept|ok|cn:dave@example.com',
	'audit: dave is accepted by the {role} binding of staff');
logs_in($ro, 'app_ro', 'audit: app_ro logs in');
is(last_event('app_ro'), 'accept|ok|-',
	'audit: app_ro is accepted by the map alone (no identity: nothing bound)');
refused($mallory, 'legacy_app', 'audit: CN=mallory is still refused by the map');
is( $node->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT role || ':' || outcome, ',' ORDER BY role || ':' || outcome)
		  FROM mtls_ident.auth_log
		  WHERE outcome = 'would_reject' OR (outcome = 'accept' AND identity IS NULL)}),
	'app_ro:accept,legacy_app:would_reject',
	'the query of doc/migration.md lists exactly what still needs a binding');

# The fixes the review calls for: the SAN of the newer certificate, and
# the hand-made binding for the \1_ro line.
$node->safe_psql('postgres',
	q{SELECT mtls_ident.bind('legacy_app', 'dns:legacy-app.example.com');
	  SELECT mtls_ident.bind('app_ro', 'cn:ro-app');});
logs_in($legacy_san, 'legacy_app', 'audit: the SAN certificate after its binding');
is(last_event('legacy_app'), 'accept|ok|dns:legacy-app.example.com',
	'audit: now accepted by the dns: binding');

# Step 6: enforce, the old line still in place.
$node->safe_psql('postgres', q{ALTER SYSTEM SET mtls_ident.mode = enforce});
reload_wait($node);
logs_in($legacy, 'legacy_app', 'enforce + cert line: CN=legacy-app');
logs_in($legacy_san, 'legacy_app', 'enforce + cert line: the SAN certificate');
logs_in($dave, 'dave', 'enforce + cert line: dave');
logs_in($ro, 'app_ro', 'enforce + cert line: app_ro');
refused($mallory, 'legacy_app', 'enforce + cert line: mallory');

# Step 7: the pg_hba.conf line changes to trust clientcert=verify-ca.
write_hba($node, local_hba => $local,
	hba => 'hostssl all all 127.0.0.1/32 trust clientcert=verify-ca');
reload_wait($node);
is( $node->safe_psql('postgres',
		q{SELECT auth_method || ' ' || array_to_string(options, ' ')
		  FROM pg_hba_file_rules WHERE type = 'hostssl'}),
	'trust clientcert=verify-ca', 'the new pg_hba.conf line is in force');
cert_accepted($node, $legacy, 'legacy_app', 'cn:legacy-app',
	'after: CN=legacy-app logs in as legacy_app');
cert_accepted($node, $legacy_san, 'legacy_app', 'dns:legacy-app.example.com',
	'after: the SAN certificate logs in');
cert_accepted($node, $dave, 'dave', 'cn:dave@example.com',
	'after: dave logs in through the {role} binding');
cert_accepted($node, $ro, 'app_ro', 'cn:ro-app',
	'after: app_ro logs in through its hand-made binding');
cert_refused($node, $mallory, 'legacy_app', 'no_match',
	'after: mallory is refused, by mtls_ident now');
cert_refused($node, $legacy, 'erin', 'no_binding',
	'after: a certificate never unlocks a role nobody bound');
cert_refused($node, $dave, 'bob', 'no_match',
	'after: dave\'s certificate does not open bob');

done_testing();
