# Revocation without a reload: mtls_ident re-reads ssl_crl_file and
# ssl_crl_dir when they change on disk, ends live sessions that use a
# revoked certificate and refuses the next login (reason revoked), keeps
# the last good set when a CRL is garbage or not signed by a trusted CA,
# and has the set in force again right after a crash restart.
#
# PostgreSQL's own handshake keeps using the CRLs it loaded at start, so
# every refusal below comes from mtls_ident.

use strict;
use warnings FATAL => 'all';

use Cwd qw(abs_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $scratch = abs_path(PostgreSQL::Test::Utils::tempdir('crl'));

# Every CRL must be signed by a CA of ssl_ca_file: put the intermediate
# client_ca there next to the roots.
my $ca_bundle = "$scratch/ca_bundle.crt";
{
	open my $fh, '>', $ca_bundle or die "$ca_bundle: $!";
	print $fh slurp_file(pki_dir() . "/$_.crt") for qw(root_ca client_ca root2_ca);
	close $fh or die "$ca_bundle: $!";
}
my $crl = make_crl(out => "$scratch/server.crl");    # empty, all three CAs
my $crl_dir = "$scratch/crl.d";
mkdir $crl_dir or die "$crl_dir: $!";

my $node = new_node(
	'crl',
	crl  => $crl,
	conf => "ssl_ca_file = '$ca_bundle'\n"
	  . "restart_after_crash = on\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

ok( $node->log_contains(
		qr/mtls_ident: revocation set loaded: 0 revoked certificates from 3 CRLs/),
	'the CRLs are loaded at start');

bound_role($node, 'rv', 'rv');
my $c_rev = mint_cert(san => spiffe('rv'));
my $c_keep = mint_cert(san => spiffe('rv'));
$node->connect_ok(client_connstr($node, $c_rev, user => 'rv'),
	'before revocation, the certificate logs in');
my $s_rev = open_session($node, $c_rev, 'rv');
my $s_keep = open_session($node, $c_keep, 'rv');
my $revpid = $s_rev->pid;

# --- a CRL written over ssl_crl_file ------------------------------------------

my $off = -s $node->logfile;
make_crl(ca => 'client_ca', revoke => [$c_rev], out => $crl);
ok(session_gone($node, $revpid),
	'a CRL written over ssl_crl_file ends the live session using the revoked certificate'
);
ok( $node->log_contains(
		qr/revocation set loaded: 1 revoked certificates from 3 CRLs/, $off),
	'the new CRL was loaded without a reload');
ok( $node->log_contains(
		qr/ending session pid=$revpid role="rv" .*reason=revoked/, $off),
	'the log says the session ended because its certificate was revoked');
like(
	$s_rev->ended_message,
	qr/FATAL:  terminating connection because the client certificate was revoked/,
	'the client is told its certificate was revoked');
sleep(2);
still_alive($node, $s_keep, 'another certificate of the same role');

$node->connect_fails(
	client_connstr($node, $c_rev, user => 'rv'),
	'the next login with the revoked certificate is refused, without a reload',
	expected_stderr => qr/certificate authentication failed for user "rv"/,
	log_like        => [qr/outcome=reject reason=revoked role="rv"/]);
$node->connect_ok(client_connstr($node, $c_keep, user => 'rv'),
	'another certificate still logs in');

# --- a garbage CRL keeps the last good set --------------------------------------

$off = -s $node->logfile;
{
	open my $fh, '>', $crl or die "$crl: $!";
	print $fh "this is not a CRL\n";
	close $fh or die "$crl: $!";
}
ok( $node->wait_for_log(
		qr/WARNING:  mtls_ident: could not load CRL file "\Q$crl\E": not a PEM or DER CRL/,
		$off),
	'a garbage CRL file is reported');
$node->connect_fails(
	client_connstr($node, $c_rev, user => 'rv'),
	'after a garbage CRL, the revoked certificate is still refused',
	expected_stderr => qr/certificate authentication failed for user "rv"/,
	log_like        => [qr/reason=revoked/]);
$node->connect_ok(client_connstr($node, $c_keep, user => 'rv'),
	'after a garbage CRL, other certificates still log in');
still_alive($node, $s_keep, 'after a garbage CRL');

# A corrupt PEM block (valid header, broken body) is refused as well.
$off = -s $node->logfile;
{
	my $text = slurp_file(make_crl(ca => 'client_ca'));
	$text =~ s/(-----BEGIN X509 CRL-----\n)..../$1!!!!/;
	open my $fh, '>', $crl or die "$crl: $!";
	print $fh $text;
	close $fh or die "$crl: $!";
}
ok($node->wait_for_log(qr/could not load CRL file "\Q$crl\E"/, $off),
	'a corrupt PEM CRL is reported');
$node->connect_fails(
	client_connstr($node, $c_rev, user => 'rv'),
	'after a corrupt CRL, the revoked certificate is still refused',
	log_like => [qr/reason=revoked/]);

# --- a CRL not signed by a CA of ssl_ca_file is not used ------------------------

$off = -s $node->logfile;
make_crl(ca => 'untrusted_ca', out => $crl);
ok( $node->wait_for_log(
		qr/could not load CRL file "\Q$crl\E": the CRL issued by ".*" is not signed by a CA certificate of ssl_ca_file/,
		$off),
	'a CRL from a CA outside ssl_ca_file is reported');
$node->connect_fails(
	client_connstr($node, $c_rev, user => 'rv'),
	'a file with an unverifiable CRL does not replace the set',
	log_like => [qr/reason=revoked/]);

# --- a new good CRL replaces the set --------------------------------------------

$off = -s $node->logfile;
make_crl(ca => 'client_ca', out => $crl);
ok( $node->wait_for_log(
		qr/revocation set loaded: 0 revoked certificates from 3 CRLs/, $off),
	'a new good CRL is loaded');
$node->connect_ok(client_connstr($node, $c_rev, user => 'rv'),
	'a certificate no longer listed logs in again');

# --- ssl_crl_dir, DER -------------------------------------------------------------

my $c_dir = mint_cert(san => spiffe('rv'));
my $pem = make_crl(ca => 'client_ca', revoke => [$c_dir], bundle => 0);
system('openssl', 'crl', '-in', $pem, '-outform', 'DER', '-out',
	"$crl_dir/client_ca.der") == 0
  or die "openssl crl failed";
$node->append_conf('postgresql.conf', "ssl_crl_dir = '$crl_dir'\n");
$off = -s $node->logfile;
$node->reload;
ok( $node->wait_for_log(
		qr/revocation set loaded: 1 revoked certificates from 4 CRLs/, $off),
	'a DER CRL in ssl_crl_dir is loaded');
$node->connect_fails(
	client_connstr($node, $c_dir, user => 'rv'),
	'a certificate revoked by a CRL in ssl_crl_dir is refused',
	log_like => [qr/reason=revoked/]);

# --- after a crash restart the set is in force at once -------------------------

my $wpid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'");
$off = -s $node->logfile;
kill 'KILL', $wpid;
crash_restart_wait($node, $off);
$node->poll_query_until('postgres', 'SELECT 1', '1');
$node->connect_fails(
	client_connstr($node, $c_dir, user => 'rv'),
	'right after a crash restart, a revoked certificate is refused',
	log_like => [qr/reason=revoked/]);
$node->connect_ok(client_connstr($node, $c_keep, user => 'rv'),
	'and others log in');

$s_keep->quit;
$s_rev->quit;
$node->stop;

# --- an intermediate CA missing from ssl_ca_file ---------------------------------

# ssl_ca_file holds only the roots: the client_ca CRL cannot be verified
# until a client presents a chain with client_ca, which mtls_ident learns.
my $crl2 = make_crl(out => "$scratch/node2.crl");
my $node2 = new_node(
	'crl_roots_only',
	crl  => $crl2,
	conf => "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node2->start;
$node2->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
ok( $node2->log_contains(
		qr/could not load CRL file ".*": the CRL issued by ".*" is not signed by a CA certificate of ssl_ca_file/
	),
	'without the intermediate in ssl_ca_file, its CRL cannot be verified at start');
bound_role($node2, 'rv', 'rv');
my $s2 = open_session($node2, $c_rev, 'rv');
my $s2pid = $s2->pid;
$off = -s $node2->logfile;
make_crl(ca => 'client_ca', revoke => [$c_rev], out => $crl2);
ok(session_gone($node2, $s2pid),
	'once a client presented the intermediate, its CRL ends the revoked session');
ok( $node2->log_contains(
		qr/revocation set loaded: 1 revoked certificates from 3 CRLs/, $off),
	'the intermediate CA learnt from a verified chain verifies its CRL');
$s2->quit;
$node2->stop;

done_testing();
