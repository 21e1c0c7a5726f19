# Upgrades keep bindings (SPEC section 7): CREATE EXTENSION mtls_ident
# VERSION '1.0', bindings, logins and a live session, then ALTER EXTENSION
# mtls_ident UPDATE.  Afterwards the extension is at the control file's
# default_version; the bindings, the views (bindings, sessions, auth_log,
# stats) and the logins are as before; and the updated extension has the
# same objects, definitions and privileges as a fresh CREATE EXTENSION.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

# Minted certificates expire within days: no expiry WARNING on stderr.
my $node = new_node('upgrade', conf => "mtls_ident.expiry_warning = 0\n");
$node->start;

sub q1 { return $node->safe_psql(@_); }

# The version lives in the control file alone: the installed one (what
# UPDATE goes to) is this tree's.
my $control = slurp_file("$FindBin::RealBin/../../mtls_ident.control");
my ($tree_version) = $control =~ /^\s*default_version\s*=\s*'([^']+)'/m
  or die "no default_version in mtls_ident.control";
is( q1('postgres',
		"SELECT default_version FROM pg_available_extensions WHERE name = 'mtls_ident'"),
	$tree_version,
	"the installed control file's default_version is this tree's ($tree_version)");
isnt($tree_version, '1.0', 'there is an update to test');

q1('postgres', "CREATE EXTENSION mtls_ident VERSION '1.0'");
is(q1('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'mtls_ident'"),
	'1.0', 'created at 1.0');

bind_role($node, 'billing', 'uri:spiffe://example.org/ns/*/sa/billing');
bind_role($node, 'dbrole',
	[ 'dns:db.example.com', 'CN=mtls_ident test client CA,O=mtls_ident test' ]);
q1('postgres', "SELECT mtls_ident.revoke_issued_before('dbrole', '2001-02-03 04:05:06+00')");
q1('postgres', 'CREATE ROLE reader LOGIN; GRANT pg_read_all_stats TO reader');

# what the views say, the same way before and after
my %snap_sql = (
	bindings => 'SELECT role, identity, issuer, revoked_before FROM mtls_ident.bindings ORDER BY 1, 2',
	auth_log => q{SELECT at, pid, role, outcome, reason, identity FROM mtls_ident.auth_log
		WHERE role IN ('billing', 'dbrole') ORDER BY at, pid},
	stats    => 'SELECT outcome, reason, count FROM mtls_ident.stats WHERE count > 0 ORDER BY 1, 2',
	# (set below: the session that lives across the update)
	sessions => undef,
	# every column of the four views: name and type (an update may add
	# columns, never drop or retype one)
	columns => q{SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		WHERE c.relnamespace = 'mtls_ident'::regnamespace AND c.relkind = 'v' AND a.attnum > 0
		ORDER BY 1},);
sub snapshot { return { map { $_ => q1('postgres', $snap_sql{$_}) } keys %snap_sql }; }

sub logins
{
	my ($when) = @_;
	cert_accepted($node, 'spiffe_billing', 'billing',
		'uri:spiffe://example.org/ns/prod/sa/billing', "$when: the bound SPIFFE ID logs in");
	cert_refused($node, 'spiffe_other', 'billing', 'no_match',
		"$when: another trust domain is refused");
	cert_accepted($node, 'dns_db', 'dbrole', 'dns:db.example.com',
		"$when: the issuer-pinned DNS binding logs in");
	cert_refused($node, 'spiffe_billing', 'dbrole', 'no_match',
		"$when: a certificate without the bound DNS name is refused");
	return;
}

logins('1.0');
# a session that lives across the update
my $live = open_session($node, 'spiffe_billing_staging', 'billing');
$snap_sql{sessions} =
  'SELECT pid, role, identity, fingerprint, not_after FROM mtls_ident.sessions WHERE pid = '
  . $live->pid;
my $before = snapshot();
like($before->{bindings}, qr/^billing\|uri:spiffe:\/\/example\.org\/ns\/\*\/sa\/billing\|\|$/m,
	'1.0: the binding is listed');
like($before->{sessions}, qr/^\Q${\ $live->pid }\E\|billing\|uri:spiffe:\/\/example\.org\/ns\/staging\/sa\/billing\|/m,
	'1.0: the live session is listed');
like($before->{stats}, qr/^accept\|ok\|\d+$/m, '1.0: stats counts the accepted logins');

q1('postgres', 'ALTER EXTENSION mtls_ident UPDATE');
is(q1('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'mtls_ident'"),
	$tree_version, "updated to the control file's version ($tree_version)");

my $after = snapshot();
is($after->{bindings}, $before->{bindings}, 'update: bindings unchanged');
is($after->{auth_log}, $before->{auth_log}, 'update: auth_log unchanged');
is($after->{stats},    $before->{stats},    'update: stats unchanged');
is($after->{sessions}, $before->{sessions}, 'update: sessions unchanged');
still_alive($node, $live, 'update: the session opened at 1.0');
my %after_cols = map { $_ => 1 } split /\n/, $after->{columns};
my @lost = grep { !$after_cols{$_} } split /\n/, $before->{columns};
is_deeply(\@lost, [], 'update: every view column of 1.0 is still there, same type');
is( q1('postgres',
		q{SELECT count(*) FROM mtls_ident.auth_log WHERE role IN ('billing', 'dbrole')},
		extra_params => [ '-U', 'reader' ]),
	scalar(split /\n/, $after->{auth_log}),
	'update: pg_read_all_stats still reads auth_log');

my $mark = q1('postgres',
	q{SELECT max(at) FROM mtls_ident.auth_log WHERE role IN ('billing', 'dbrole')});
logins($tree_version);
is( q1('postgres',
		q{SELECT count(*) FROM mtls_ident.auth_log WHERE role IN ('billing', 'dbrole') AND at > }
		  . "'$mark'"),
	'4', "$tree_version: the four new logins are logged");
$live->quit;

# 1.0 + update and a fresh CREATE EXTENSION have the same objects, the same
# definitions and the same privileges
q1('postgres', 'CREATE DATABASE fresh');
q1('fresh', 'CREATE EXTENSION mtls_ident');
is(q1('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'mtls_ident'"),
	$tree_version, "fresh: CREATE EXTENSION gives $tree_version");
my %compare = (
	'members (pg_describe_object of pg_depend on the extension)' => q{
		SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
		WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mtls_ident')
		ORDER BY 1},
	'functions (signature, result, body, attributes, ACL)' => q{
		SELECT p.oid::regprocedure, pg_get_function_result(p.oid), p.prosrc, p.probin,
		       p.provolatile, p.proisstrict, p.prosecdef, p.proconfig, p.proacl
		FROM pg_proc p WHERE p.pronamespace = 'mtls_ident'::regnamespace ORDER BY 1::text},
	'relations (kind, definition, ACL)' => q{
		SELECT c.relname, c.relkind, pg_get_viewdef(c.oid), c.relacl
		FROM pg_class c WHERE c.relnamespace = 'mtls_ident'::regnamespace ORDER BY 1},
	'view columns' => $snap_sql{columns},
	'schema ACL' => q{SELECT nspacl FROM pg_namespace WHERE nspname = 'mtls_ident'},);
for my $what (sort keys %compare)
{
	my $updated = q1('postgres', $compare{$what});
	isnt($updated, '', "updated: $what listed");
	is(q1('fresh', $compare{$what}), $updated, "fresh = 1.0 + update: $what");
}

done_testing();
