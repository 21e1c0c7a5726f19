# The enforcer also runs on a hot standby (connected to mtls_ident.database), and
# ends sessions there when a binding removed on the primary replicates.

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
	conf             => "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
bound_role($primary, 'app', 'app1', 'app2');

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
chmod 0600, $standby->data_dir . '/server.key';    # the copy loses the mode
$standby->start;
$primary->wait_for_catchup($standby);

ok( $standby->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity "
		  . "WHERE backend_type = 'mtls_ident enforcer' AND datname = 'postgres'"),
	'the enforcer runs on the standby');

my $c1 = mint_cert(san => spiffe('app1'));
my $c2 = mint_cert(san => spiffe('app2'));
my $s1 = open_session($standby, $c1, 'app');
my $s2 = open_session($standby, $c2, 'app');
is(scalar $s1->query('SELECT pg_is_in_recovery()'),
	't', 'a certificate session on the standby');

my $off = -s $standby->logfile;
$primary->safe_psql('postgres',
	"SELECT mtls_ident.unbind('app', 'uri:spiffe://example.org/ns/prod/sa/app1')");
$primary->wait_for_catchup($standby);
ok(session_gone($standby, $s1->pid),
	'unbind on the primary ends the standby session that used the binding');
my $pid1 = $s1->pid;
ok( $standby->log_contains(
		qr/ending session pid=$pid1 role="app" .*reason=no_match/, $off),
	'the standby logs why');
sleep(2);
still_alive($standby, $s2, 'the other binding');

$s1->quit;
$s2->quit;
$standby->stop;
$primary->stop;
done_testing();
