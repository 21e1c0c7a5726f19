# A revocation once in force stays in force across a restart and a crash
# restart (the enforcer SIGKILLed, a backend SIGKILLed), even when the CRL
# is issued by an intermediate CA that is not in ssl_ca_file and was learnt
# from a client's chain: the set and the learnt CA certificates are kept in
# $PGDATA/pg_mtls_ident/revocation.state.  An older CRL written over a newer
# one lifts nothing, not even after a restart.  A damaged state file is
# reported and set aside, and no revoked certificate gets in meanwhile.
# Before any set is in force, a login that brings the intermediate CA is
# decided against the CRL that CA verifies.

use strict;
use warnings FATAL => 'all';

use Cwd qw(abs_path);
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $scratch = abs_path(PostgreSQL::Test::Utils::tempdir('crl_persist'));

my $c_rev = mint_cert(san => spiffe('rv'));
my $c_keep = mint_cert(san => spiffe('rv'));

# An older CRL of the client CA (lower CRL number, earlier thisUpdate) that
# revokes nothing, made first; then the newer one that revokes $c_rev.
#
# PostgreSQL's own handshake reads ssl_crl_file at start (here the
# committed CRLs, which revoke nothing) and finds CRLs in ssl_crl_dir only
# under hashed names: the CRLs under test sit in ssl_crl_dir under a plain
# name, which mtls_ident reads and PostgreSQL does not, so every refusal
# below comes from mtls_ident, also after a restart.
my $pg_crl = "$scratch/pg.crl";
{
	open my $fh, '>', $pg_crl or die "$pg_crl: $!";
	print $fh slurp_file(pki_dir() . "/$_.crl") for qw(root_ca client_ca root2_ca);
	close $fh or die "$pg_crl: $!";
}
my $crl_dir = "$scratch/crl.d";
mkdir $crl_dir or die "$crl_dir: $!";
my $older = make_crl(ca => 'client_ca', out => "$scratch/older.crl", bundle => 0);
sleep(1);    # thisUpdate has one-second resolution
my $crl = make_crl(ca => 'client_ca', revoke => [$c_rev], out => "$crl_dir/client_ca.crl",
	bundle => 0);

# ssl_ca_file holds the roots only: the client CA's CRL verifies only with
# the intermediate learnt from a client chain.
my $node = new_node(
	'crl_persist',
	crl     => $pg_crl,
	crl_dir => $crl_dir,
	conf => "restart_after_crash = on\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node->start;
my $pgdata = $node->data_dir;
my $state = "$pgdata/pg_mtls_ident/revocation.state";

ok( $node->log_contains(
		qr/WARNING:  mtls_ident: no verified CRL of "CN=mtls_ident test client CA,O=mtls_ident test" yet: every certificate it issued is refused until one verifies/),
	'first start, intermediate CRL unverifiable: its issuer is pending, said so');
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
bound_role($node, 'rv', 'rv');

# a certificate of another CA, whose CRL verified, need not wait
my $c_root2 = mint_cert(san => spiffe('rv'), ca => 'root2_ca');
$node->connect_ok(client_connstr($node, $c_root2, user => 'rv'),
	'meanwhile, a certificate of another CA (its CRL verified) logs in');

sub check_reason
{
	my ($cert) = @_;
	return $node->safe_psql('postgres',
		    'SELECT allowed, reason FROM mtls_ident.check('
		  . ql(slurp_file(cert_path($cert, 'leaf')))
		  . ", 'rv')");
}

is(check_reason($c_keep), 'f|revoked',
	'while its CRL has not verified, check() counts a certificate of the pending CA as revoked');

my $off = -s $node->logfile;
$node->connect_fails(
	client_connstr($node, $c_rev, user => 'rv'),
	'the first login, revoked, brings the intermediate and is refused at once',
	expected_stderr => qr/certificate authentication failed for user "rv"/,
	log_like        => [qr/outcome=reject reason=revoked role="rv"/]);
ok($node->log_contains(qr/revocation set loaded: 1 revoked certificates/, $off),
	'that login loaded the CRL its chain made verifiable');
$node->connect_ok(client_connstr($node, $c_keep, user => 'rv'),
	'another certificate of that CA logs in');
ok($node->wait_for_log(qr/revocation state saved: 1 revoked certificates/, $off),
	'the enforcer saved the revocation state');
ok(-f $state, 'the state file exists under $PGDATA/pg_mtls_ident');

# After each kind of restart, the set is back before the first login: the
# postmaster verifies the intermediate's CRL with the CA kept in the state
# file, and the revoked certificate is refused at the very first login.
sub after_restart
{
	my ($what, $off) = @_;
	$node->poll_query_until('postgres', 'SELECT 1', '1');
	ok( $node->log_contains(qr/revocation set in force: 1 revoked certificates/, $off),
		"$what: the set is restored from the state file");
	ok( $node->log_contains(qr/revocation set loaded: 1 revoked certificates/, $off)
		  && !$node->log_contains(qr/could not load CRL file/, $off),
		"$what: the intermediate's CRL verifies before any client shows the CA");
	$node->connect_fails(
		client_connstr($node, $c_rev, user => 'rv'),
		"$what: the revoked certificate is refused at the first login",
		expected_stderr => qr/certificate authentication failed for user "rv"/,
		log_like        => [qr/outcome=reject reason=revoked role="rv"/]);
	$node->connect_ok(client_connstr($node, $c_keep, user => 'rv'),
		"$what: others log in");
	return;
}

# --- crash restart: the enforcer SIGKILLed ------------------------------------
my $wpid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'");
$off = -s $node->logfile;
kill 'KILL', $wpid;
crash_restart_wait($node, $off);
after_restart('crash restart (enforcer killed)', $off);

# --- crash restart: a backend SIGKILLed ----------------------------------------
my $s = open_session($node, $c_keep, 'rv');
$off = -s $node->logfile;
kill 'KILL', $s->pid;
crash_restart_wait($node, $off);
after_restart('crash restart (backend killed)', $off);
$s->quit;

# --- plain restart ---------------------------------------------------------------
$off = -s $node->logfile;
$node->restart;
after_restart('restart', $off);

# --- an older CRL written over a newer one ------------------------------------------
$off = -s $node->logfile;
copy($older, "$crl.new") or die "copy: $!";
rename("$crl.new", $crl) or die "rename: $!";
ok( $node->wait_for_log(
		qr/could not load CRL file "\Q$crl\E": the CRL issued by ".*" \(number \w+, thisUpdate \d+\) is older than the one in force/,
		$off),
	'an older CRL over a newer one is reported');
$node->connect_fails(
	client_connstr($node, $c_rev, user => 'rv'),
	'and lifts nothing: the revoked certificate is still refused',
	log_like => [qr/reason=revoked/]);
is(check_reason($c_rev), 'f|revoked', 'check() still says revoked');
$off = -s $node->logfile;
$node->restart;
$node->poll_query_until('postgres', 'SELECT 1', '1');
ok($node->log_contains(qr/is older than the one in force/, $off),
	'after a restart the older CRL is refused again');
$node->connect_fails(
	client_connstr($node, $c_rev, user => 'rv'),
	'after a restart with the older CRL on disk, the revocation stands',
	log_like => [qr/reason=revoked/]);

# --- a damaged state file ---------------------------------------------------------------
# (the newer CRL back on disk first: with its state file gone, the server
# knows only what the CRL files say, see doc/enforcement.md)
$off = -s $node->logfile;
make_crl(ca => 'client_ca', revoke => [$c_rev], out => $crl, bundle => 0);
ok($node->wait_for_log(qr/revocation state saved: 1 revoked certificates/, $off),
	'a newer CRL is loaded and saved');
$node->stop;
{
	open my $fh, '+<', $state or die "$state: $!";
	binmode $fh;
	seek $fh, 40, 0;
	my $b;
	read $fh, $b, 1;
	seek $fh, 40, 0;
	print $fh chr(ord($b) ^ 0xff);
	close $fh or die "$state: $!";
}
$off = -s $node->logfile;
$node->start;
ok( $node->log_contains(
		qr/WARNING:  mtls_ident: the revocation state file ".*" is damaged: checksum mismatch/,
		$off),
	'a damaged state file is reported');
ok(-f "$state.damaged", 'and kept aside for inspection');
ok($node->log_contains(qr/no verified CRL of "CN=mtls_ident test client CA/, $off),
	'without it, the unverifiable CRL leaves its issuer pending');
$node->connect_fails(
	client_connstr($node, $c_rev, user => 'rv'),
	'with a damaged state file, the revoked certificate is refused at the first login',
	log_like => [qr/reason=revoked/]);
$node->connect_ok(client_connstr($node, $c_keep, user => 'rv'),
	'others log in');
ok($node->wait_for_log(qr/revocation state saved: 1 revoked certificates/, $off),
	'a good load writes a new state file');

$node->stop;

# --- first start with a CRL file that does not parse ---------------------------------
# Its issuer is unknown, so no set can be in force: every certificate is
# refused (fail closed) until the file loads.
my $dir2 = "$scratch/crl2.d";
mkdir $dir2 or die "$dir2: $!";
{
	open my $fh, '>', "$dir2/broken.crl" or die "$dir2/broken.crl: $!";
	print $fh "this is not a CRL\n";
	close $fh or die "$dir2/broken.crl: $!";
}
my $node2 = new_node(
	'crl_garbage_first',
	crl     => $pg_crl,
	crl_dir => $dir2,
	conf    => "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node2->start;
ok($node2->log_contains(qr/WARNING:  mtls_ident: no revocation set is in force/),
	'first start with a CRL file that does not parse: no set in force, said so');
$node2->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
bound_role($node2, 'rv', 'rv');
$node2->connect_fails(
	client_connstr($node2, $c_root2, user => 'rv'),
	'no set in force: a certificate is refused, closed',
	expected_stderr => qr/certificate authentication failed for user "rv"/,
	log_like        => [
		qr/treated as revoked: no revocation set is in force yet/,
		qr/outcome=reject reason=revoked role="rv"/
	]);
$off = -s $node2->logfile;
unlink "$dir2/broken.crl" or die "unlink: $!";
# (what is left: the CRLs of ssl_crl_file, of which the client CA's waits
# for that CA, pending, and the roots' verify)
$node2->wait_for_log(qr/no verified CRL of "CN=mtls_ident test client CA/, $off);
$node2->connect_ok(client_connstr($node2, $c_root2, user => 'rv'),
	'once the broken file is gone, the certificate logs in');
$node2->stop;

done_testing();
