# Enforcement does not stop when the enforcer's database goes away (SPEC
# section 2): with mtls_ident.database dropped, renamed or closed to
# connections, the worker says so in the log, reads labels stored out of
# line in another database, and keeps ending sessions -- unbound ones,
# with a label stored inline or out of line, and expired ones.  With no
# database at all it still enforces what needs none.  When its database
# is back, it goes back to it.

use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

# the label cache is off: out-of-line labels can only be read with a database
my $node = new_node(
	'enfdb',
	conf => "mtls_ident.database = 'enfdb'\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n"
	  . "mtls_ident.label_cache_size = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

my $sqldb = 'postgres';

sub worker_db
{
	return $node->safe_psql($sqldb,
		"SELECT coalesce(datname, '(none)') FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'");
}

sub worker_in
{
	my ($db) = @_;
	my $q = $db eq '(none)' ? 'datname IS NULL' : "datname = '$db'";
	return $node->poll_query_until($sqldb,
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer' AND $q");
}

sub restart_worker
{
	$node->safe_psql($sqldb,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'");
	return;
}

sub gone_within
{
	my ($pid, $secs) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		return 1 unless session_alive_in($pid);
		usleep(200_000);
	}
	return 0;
}

sub session_alive_in
{
	my ($pid) = @_;
	return $node->safe_psql($sqldb, "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid") eq '1';
}

# --- started without its database: a fallback, then back -------------------

ok(worker_in('postgres'), 'mtls_ident.database does not exist at start: the worker uses postgres');
ok( $node->log_contains(
		qr/WARNING:  mtls_ident enforcer: database "enfdb" \(mtls_ident\.database\) does not exist; reading labels stored out of line in database "postgres" instead/),
	'and says so, naming the database');
$node->safe_psql('postgres', 'CREATE DATABASE enfdb');
ok(worker_in('enfdb'), 'once the database exists, the worker goes back to it');

# roles: one with a small (inline) label, one with a large (out of line) one
my $sql = "CREATE ROLE inl LOGIN; CREATE ROLE big LOGIN;";
for my $i (1 .. 60)
{
	my $h = sha256_hex("big-$i");
	$sql .= "SELECT mtls_ident.bind('big', 'uri:spiffe://example.org/ns/$h/sa/x$i');";
}
for my $n (1 .. 4)
{
	$sql .= "SELECT mtls_ident.bind('inl', 'uri:spiffe://example.org/ns/prod/sa/inl$n');";
	$sql .= "SELECT mtls_ident.bind('big', 'uri:spiffe://example.org/ns/prod/sa/big$n');";
}
$sql .= "SELECT mtls_ident.bind('inl', 'uri:spiffe://example.org/ns/prod/sa/inlexp');";
$node->safe_psql('postgres', $sql);
is( $node->safe_psql(
		'postgres',
		"SELECT length(label) > 4000 FROM pg_shseclabel WHERE objoid = 'big'::regrole"),
	't',
	'the large label is stored out of line');

# Open an inline-label session, an out-of-line-label session and one about
# to expire (its timeout cancelled by an ERROR: only the worker can end it).
sub open_three
{
	my ($n) = @_;
	my $si = open_session($node, mint_cert(san => spiffe("inl$n")), 'inl');
	my $sb = open_session($node, mint_cert(san => spiffe("big$n")), 'big');
	my $se = open_session($node, mint_cert(san => spiffe('inlexp'), end_offset => 15), 'inl');
	$se->query('SELECT 1/0');
	return ($si, $sb, $se);
}

sub still_enforced
{
	my ($what, $n, $si, $sb, $se) = @_;
	$node->safe_psql($sqldb,
		"SELECT mtls_ident.unbind('inl', 'uri:spiffe://example.org/ns/prod/sa/inl$n'), "
		  . "mtls_ident.unbind('big', 'uri:spiffe://example.org/ns/prod/sa/big$n')");
	ok(gone_within($si->pid, 30), "$what: an unbound session (label inline) is ended");
	ok(gone_within($sb->pid, 30), "$what: an unbound session (label out of line) is ended");
	like($sb->ended_message, qr/no longer matches the role's bindings/, "$what: and told why");
	ok(gone_within($se->pid, 60), "$what: an expired session is ended");
	$_->quit for ($si, $sb, $se);
	return;
}

# --- ALLOW_CONNECTIONS false, then the worker restarts ----------------------

my @s = open_three(1);
my $off = -s $node->logfile;
$node->safe_psql('postgres', 'ALTER DATABASE enfdb ALLOW_CONNECTIONS false');
restart_worker();
ok(worker_in('postgres'), 'enfdb closed to connections: the worker moves to postgres');
ok( $node->wait_for_log(
		qr/WARNING:  mtls_ident enforcer: database "enfdb" \(mtls_ident\.database\) does not accept connections; reading labels stored out of line in database "postgres" instead/,
		$off),
	'and says so');
still_enforced('closed to connections', 1, @s);
$node->safe_psql('postgres', 'ALTER DATABASE enfdb ALLOW_CONNECTIONS true');
ok(worker_in('enfdb'), 'connections allowed again: the worker goes back to enfdb');

# --- RENAME (the worker must be out of the way for it to succeed) ----------

@s = open_three(2);
$off = -s $node->logfile;
my $renamed = 0;
for (1 .. 100)
{
	restart_worker();
	my ($ret) = $node->psql('postgres', 'ALTER DATABASE enfdb RENAME TO enfdb_old');
	if ($ret == 0) { $renamed = 1; last; }
	usleep(100_000);
}
ok($renamed, 'enfdb renamed');
ok(worker_in('postgres'), 'enfdb renamed: the worker moves to postgres');
ok( $node->wait_for_log(
		qr/mtls_ident enforcer: database "enfdb" \(mtls_ident\.database\) does not exist; reading labels stored out of line in database "postgres" instead/,
		$off),
	'and says so');
still_enforced('renamed', 2, @s);
$node->safe_psql('postgres', 'ALTER DATABASE enfdb_old RENAME TO enfdb');
ok(worker_in('enfdb'), 'renamed back: the worker goes back to enfdb');

# --- DROP DATABASE ... WITH (FORCE) -------------------------------------------

@s = open_three(3);
$off = -s $node->logfile;
$node->safe_psql('postgres', 'DROP DATABASE enfdb WITH (FORCE)');
ok(worker_in('postgres'), 'enfdb dropped: the worker moves to postgres');
ok( $node->wait_for_log(
		qr/mtls_ident enforcer: database "enfdb" \(mtls_ident\.database\) does not exist; reading labels stored out of line in database "postgres" instead/,
		$off),
	'and says so');
still_enforced('dropped', 3, @s);

# --- no database accepts connections: what needs none is still enforced ----

@s = open_three(4);
my ($si, $sb, $se) = @s;
$sqldb = 'template1';
$off = -s $node->logfile;
$node->safe_psql($sqldb, 'ALTER DATABASE postgres ALLOW_CONNECTIONS false');
restart_worker();
ok(worker_in('(none)'), 'no database accepts connections: the worker runs without one');
ok( $node->wait_for_log(
		qr/WARNING:  mtls_ident enforcer: database "enfdb" \(mtls_ident\.database\) does not exist and no other database accepts connections; checking sessions without a database/,
		$off),
	'and says so');
$node->safe_psql($sqldb, 'SECURITY LABEL FOR mtls_ident ON ROLE inl IS NULL');
ok(gone_within($si->pid, 30), 'no database: a session whose inline label went is ended');
ok(gone_within($se->pid, 60), 'no database: an expired session is ended');
my $bpid = $sb->pid;
ok( $node->wait_for_log(
		qr/cannot re-check session pid=$bpid role="big" against its bindings: they are stored out of line and the enforcer has no database/,
		$off),
	'no database: a session whose label is out of line is checked for expiry and revocation only, and the log says so');
ok(session_alive_in($bpid), 'that session is left');
$node->safe_psql($sqldb, 'ALTER DATABASE postgres ALLOW_CONNECTIONS true');
ok(worker_in('postgres'), 'a database accepts connections again: the worker uses it');
$node->safe_psql($sqldb,
	"SECURITY LABEL FOR mtls_ident ON ROLE big IS NULL");
ok(gone_within($bpid, 30), 'and the session whose label is out of line is checked again');
$_->quit for @s;

$node->stop;
done_testing();
