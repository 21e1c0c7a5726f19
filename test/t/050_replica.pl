# Streaming replication: bindings made on the primary admit and refuse the
# same clients on a hot standby (labels live in a shared catalog and
# replicate), and the standby's enforcer ends live sessions there too.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $primary = new_node(
	'primary',
	allows_streaming => 1,
	local_hba        => "local all all trust\nlocal replication all trust",
	conf             => "mtls_ident.enforce_interval = '500ms'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
chmod 0600, $standby->data_dir . '/server.key';    # the copy loses the mode
$standby->start;

# bindings are made on the primary only, after the standby exists
$primary->safe_psql(
	'postgres', q{
	CREATE ROLE billing LOGIN;
	CREATE ROLE web LOGIN;
	CREATE ROLE pinned LOGIN;
	CREATE ROLE unbound LOGIN;
	CREATE ROLE staff NOLOGIN;
	CREATE ROLE dave LOGIN IN ROLE staff;
	SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/*/sa/billing');
	SELECT mtls_ident.bind('web', 'dns:*.example.com');
	SELECT mtls_ident.bind('pinned', 'uri:spiffe://example.org/ns/prod/sa/billing',
	                       'CN=mtls_ident test client CA,O=mtls_ident test');
	SELECT mtls_ident.bind('staff', 'email:{role}@example.com');
});
$primary->wait_for_catchup($standby);

is( $standby->safe_psql(
		'postgres', 'SELECT count(*) FROM mtls_ident.bindings'),
	'4',
	'the bindings replicated to the standby');

# the same client, the same answer, on both nodes
my @cases = (
	[ 'spiffe_billing',         'billing', 1, 'ok' ],
	[ 'spiffe_billing_staging', 'billing', 1, 'ok' ],
	[ 'spiffe_deep',            'billing', 0, 'no_match' ],
	[ 'dns_db',                 'web',     1, 'ok' ],
	[ 'dns_subsub',             'web',     0, 'no_match' ],
	[ 'spiffe_billing',         'pinned',  1, 'ok' ],
	[ 'root2_client',           'pinned',  0, 'issuer_mismatch' ],
	[ 'email_dave',             'dave',    1, 'ok' ],
	[ 'email_eve',              'dave',    0, 'no_match' ],
	[ 'spiffe_billing',         'unbound', 0, 'no_binding' ],);

for my $node ($primary, $standby)
{
	my $where = $node->name;
	for my $c (@cases)
	{
		my ($cert, $role, $ok, $reason) = @$c;
		my $connstr = client_connstr($node, $cert, user => $role);
		if ($ok)
		{
			$node->connect_ok($connstr, "$where: $cert as $role accepted",
				sql => 'SELECT pg_is_in_recovery()',
				expected_stdout => ($where eq 'standby' ? qr/^t$/ : qr/^f$/));
		}
		else
		{
			$node->connect_fails(
				$connstr,
				"$where: $cert as $role refused",
				expected_stderr =>
				  qr/certificate authentication failed for user "$role"/,
				log_like => [qr/outcome=reject reason=$reason role="$role"/]);
		}
	}
}

# a cutoff made on the primary refuses on the standby
$primary->safe_psql('postgres',
	"SELECT mtls_ident.revoke_issued_before('web', now())");
$primary->wait_for_catchup($standby);
$standby->connect_fails(
	client_connstr($standby, 'dns_db', user => 'web'),
	'standby: a cutoff made on the primary refuses the older certificate',
	expected_stderr => qr/certificate authentication failed for user "web"/,
	log_like => [qr/outcome=reject reason=issued_before_cutoff role="web"/]);

# the standby's enforcer ends a session whose certificate expires there
my $short = mint_cert(san => spiffe('billing'), end_offset => 6);
my $s = open_session($standby, $short, 'billing');
is(scalar $s->query('SELECT pg_is_in_recovery()'),
	't', 'a session on the standby with a certificate expiring in seconds');
is( $standby->safe_psql(
		'postgres',
		'SELECT identity FROM mtls_ident.sessions WHERE pid = ' . $s->pid),
	'uri:spiffe://example.org/ns/prod/sa/billing',
	'the standby shows it in sessions');
my $off = -s $standby->logfile;
ok(session_gone($standby, $s->pid),
	'the standby ends the session once its certificate has expired');
my $pid = $s->pid;
ok( $standby->log_contains(
		qr/(ending session pid=$pid .*reason=expired|client certificate expired)/,
		$off),
	'the standby logs that it expired');
$s->quit;

# and ends a live session when its binding is removed on the primary
my $s2 = open_session($standby, 'spiffe_billing', 'pinned');
$primary->safe_psql('postgres',
	"SELECT mtls_ident.unbind('pinned', 'uri:spiffe://example.org/ns/prod/sa/billing')");
$primary->wait_for_catchup($standby);
ok(session_gone($standby, $s2->pid),
	'unbind on the primary ends the standby session');
$s2->quit;

$standby->stop;
$primary->stop;
done_testing();
