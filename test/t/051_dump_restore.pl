# pg_dumpall / restore keeps every binding and cutoff: the labels are
# dumped with the roles, and a restored cluster admits and refuses the
# same clients.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

my $old = new_node('old', conf => "mtls_ident.expiry_warning = 0\n");
$old->start;
$old->safe_psql(
	'postgres', q{
	CREATE EXTENSION mtls_ident;
	CREATE ROLE billing LOGIN;
	CREATE ROLE web LOGIN;
	CREATE ROLE staff NOLOGIN;
	CREATE ROLE dave LOGIN IN ROLE staff;
	CREATE ROLE "odd ""name""" LOGIN;
	SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/*/sa/billing');
	SELECT mtls_ident.bind('billing', 'uri:~spiffe://example\.org/ns/(a|b)/sa/x');
	SELECT mtls_ident.bind('web', 'dns:db.example.com',
	                       'CN=mtls_ident test client CA,O=mtls_ident test');
	SELECT mtls_ident.bind('web', 'sha256:' || repeat('ab', 32));
	SELECT mtls_ident.bind('staff', 'email:{role}@example.com');
	SELECT mtls_ident.bind('"odd ""name"""', 'cn:legacy-app');
	SELECT mtls_ident.revoke_issued_before('staff', '2020-01-02 03:04:05.123456+00');
	SELECT mtls_ident.revoke_issued_before('web', '2099-01-01 00:00:00+00');
});
$old->safe_psql('postgres', 'CREATE DATABASE app');
$old->safe_psql('app',      'CREATE EXTENSION mtls_ident');

my $q_bindings = 'SELECT role, identity, issuer, revoked_before '
  . 'FROM mtls_ident.bindings ORDER BY 1, 2, 3';
my $q_labels = 'SELECT r.rolname, s.label FROM pg_shseclabel s '
  . "JOIN pg_roles r ON r.oid = s.objoid WHERE s.provider = 'mtls_ident' ORDER BY 1";
my $before_b = $old->safe_psql('postgres', $q_bindings);
my $before_l = $old->safe_psql('postgres', $q_labels);
is(scalar(split /\n/, $before_b), 6, 'six binding rows (two with cutoffs) before the dump');

my $dump = $old->basedir . '/all.sql';
$old->command_ok(
	[ 'pg_dumpall', '-h', $old->host, '-p', $old->port, '-f', $dump ],
	'pg_dumpall');
my $text = slurp_file($dump);
like($text, qr/SECURITY LABEL FOR mtls_ident ON ROLE billing IS/,
	'the dump holds the labels as SECURITY LABEL statements');

my $new = new_node('new', conf => "mtls_ident.expiry_warning = 0\n");
$new->start;
$new->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=0', '-h', $new->host,
		'-p', $new->port, '-d', 'postgres', '-f', $dump
	],
	'restore into a fresh cluster with the library preloaded');

is($new->safe_psql('postgres', $q_bindings),
	$before_b, 'every binding and cutoff is back');
is($new->safe_psql('postgres', $q_labels),
	$before_l, 'the labels are byte for byte the same');
is($new->safe_psql('app', 'SELECT count(*) FROM mtls_ident.bindings'),
	'6', 'the extension is back in database app too');

# the restored cluster decides as the old one did
for my $node ($old, $new)
{
	my $n = $node->name;
	$node->connect_ok(client_connstr($node, 'spiffe_billing', user => 'billing'),
		"$n: billing admitted");
	$node->connect_fails(
		client_connstr($node, 'spiffe_other', user => 'billing'),
		"$n: another trust domain refused",
		expected_stderr => qr/certificate authentication failed/,
		log_like => [qr/reason=no_match role="billing"/]);
	$node->connect_fails(
		client_connstr($node, 'dns_db', user => 'web'),
		"$n: the cutoff on web refuses",
		expected_stderr => qr/certificate authentication failed/,
		log_like => [qr/reason=issued_before_cutoff role="web"/]);
	$node->connect_ok(client_connstr($node, 'email_dave', user => 'dave'),
		"$n: the {role} binding of staff admits dave");
	$node->connect_ok(client_connstr($node, 'cn_legacy', user => 'odd "name"'),
		"$n: a role name with quotes keeps its binding");
}

$old->stop;
$new->stop;
done_testing();
