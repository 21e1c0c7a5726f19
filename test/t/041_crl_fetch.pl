# Fetched CRLs (SPEC section 8): with mtls_ident.crl_fetch on, the worker
# fetches the http:// CRL distribution points of the client certificates
# seen at login from a real HTTP server (python3 -m http.server on
# 127.0.0.1), verifies each CRL as a CRL file is verified, ends live
# sessions it revokes and refuses their next login; a garbage CRL, a CRL
# signed by another CA and a server that is down keep the last good CRL in
# force; every failure is logged with the URL and counted in
# revocation_sources.

use strict;
use warnings FATAL => 'all';

use Cwd qw(abs_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $scratch = abs_path(PostgreSQL::Test::Utils::tempdir('crl_fetch'));
my $www = "$scratch/www";
mkdir $www or die "$www: $!";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $url = "http://127.0.0.1:$port/client_ca.crl";

# a CRL of client_ca in DER, as distribution points serve them (atomically)
sub publish_crl
{
	my (%args) = @_;
	my $pem = make_crl(%args, bundle => 0);
	system('openssl', 'crl', '-in', $pem, '-outform', 'DER', '-out',
		"$www/client_ca.crl.new") == 0
	  or die "openssl crl";
	rename "$www/client_ca.crl.new", "$www/client_ca.crl" or die;
	return;
}

sub publish_bytes
{
	my ($bytes) = @_;
	open my $fh, '>', "$www/client_ca.crl.new" or die;
	print $fh $bytes;
	close $fh;
	rename "$www/client_ca.crl.new", "$www/client_ca.crl" or die;
	return;
}

my $http;
sub start_http
{
	$http = IPC::Run::start(
		[ '/usr/bin/python3', '-m', 'http.server', '--bind', '127.0.0.1',
			$port, '--directory', $www ],
		'>', "$scratch/http.log", '2>&1');
	# wait until it listens
	for (1 .. 100)
	{
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp');
		if ($s) { close $s; return; }
		select(undef, undef, undef, 0.1);
	}
	die "the HTTP server did not start";
}
use IO::Socket::INET;

publish_crl();    # empty
start_http();

my $dp = "crlDistributionPoints = URI:$url";
my $c_rev = mint_cert(san => spiffe('cf'), ext => $dp);
my $c_keep = mint_cert(san => spiffe('cf'), ext => $dp);

# every CA that issues CRLs in ssl_ca_file, as doc/revocation.md says
my $ca_bundle = "$scratch/ca_bundle.crt";
{
	open my $fh, '>', $ca_bundle or die "$ca_bundle: $!";
	print $fh slurp_file(pki_dir() . "/$_.crt") for qw(root_ca client_ca root2_ca);
	close $fh or die "$ca_bundle: $!";
}

my $node = new_node(
	'crl_fetch',
	conf => "ssl_ca_file = '$ca_bundle'\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n"
	  . "mtls_ident.crl_fetch = on\n"
	  . "mtls_ident.crl_fetch_interval = '1s'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
bound_role($node, 'cf', 'cf');
my $id = 'uri:spiffe://example.org/ns/prod/sa/cf';

sub fetch_row
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(issuer, '') || '|' || entries || '|' || (queries > 0) || '|' || failures || '|' || coalesce(error, '') "
		  . "FROM mtls_ident.revocation_sources WHERE source = 'fetch' AND location = "
		  . ql($url));
}

my $off = -s $node->logfile;
cert_accepted($node, $c_rev, 'cf', $id, 'a certificate with a distribution point logs in');
ok($node->wait_for_log(qr/CRL fetched from "\Q$url\E": 0 revoked certificates, issued by "CN=mtls_ident test client CA,O=mtls_ident test"/, $off),
	'the worker fetched the CRL the certificate names');
my $s_rev = open_session($node, $c_rev, 'cf');
my $s_keep = open_session($node, $c_keep, 'cf');
my $revpid = $s_rev->pid;

# --- a CRL that revokes -------------------------------------------------------

$off = -s $node->logfile;
sleep(1);    # a newer thisUpdate than the empty CRL's
publish_crl(revoke => [$c_rev]);
ok(session_gone($node, $revpid), 'a fetched CRL that revokes ends the live session');
ok($node->log_contains(qr/ending session pid=$revpid role="cf" .*reason=revoked/, $off),
	'the log says why');
ok($node->log_contains(qr/CRL fetched from "\Q$url\E": 1 revoked certificates/, $off),
	'the new CRL was fetched');
cert_refused($node, $c_rev, 'cf', 'revoked', 'the next login with the revoked certificate is refused');
still_alive($node, $s_keep, 'a bystander');
like(fetch_row(), qr/^CN=mtls_ident test client CA,O=mtls_ident test\|1\|true\|0\|$/,
	'revocation_sources: the fetch row has the issuer and one revoked serial, no failure');

# --- garbage at the same URL keeps the last good CRL ----------------------------

$off = -s $node->logfile;
publish_bytes("this is not a CRL\n");
ok($node->wait_for_log(qr/could not use the CRL fetched from "\Q$url\E": (bad HTTP response|not a DER or PEM CRL)/, $off),
	'a garbage CRL is reported with its URL');
cert_refused($node, $c_rev, 'cf', 'revoked', 'after garbage, the revoked certificate is still refused');
cert_accepted($node, $c_keep, 'cf', $id, 'after garbage, other certificates log in');
like(fetch_row(), qr/^CN=mtls_ident test client CA,O=mtls_ident test\|1\|true\|[1-9]\d*\|.+$/,
	'revocation_sources counts the failure and shows the error; the last good CRL stays');

# --- a CRL signed by another CA ---------------------------------------------------

$off = -s $node->logfile;
{
	my $pem = make_crl(ca => 'untrusted_ca', bundle => 0);
	system('openssl', 'crl', '-in', $pem, '-outform', 'DER', '-out', "$www/client_ca.crl.new") == 0 or die;
	rename "$www/client_ca.crl.new", "$www/client_ca.crl" or die;
}
ok($node->wait_for_log(qr/could not use the CRL fetched from "\Q$url\E": the CRL issued by ".*" is not signed by a CA certificate of ssl_ca_file/, $off),
	'a CRL from a CA outside ssl_ca_file is reported');
cert_refused($node, $c_rev, 'cf', 'revoked', 'an unverifiable CRL does not replace the last good one');

# --- a valid CRL of another trusted CA at the same URL ------------------------------

$off = -s $node->logfile;
{
	my $pem = make_crl(ca => 'root2_ca', bundle => 0);
	system('openssl', 'crl', '-in', $pem, '-outform', 'DER', '-out', "$www/client_ca.crl.new") == 0 or die;
	rename "$www/client_ca.crl.new", "$www/client_ca.crl" or die;
}
ok($node->wait_for_log(qr/could not use the CRL fetched from "\Q$url\E": the CRL is issued by ".*", but the one in force from this location by/, $off),
	'a CRL of another (trusted) issuer does not replace the one in force from that location');
cert_refused($node, $c_rev, 'cf', 'revoked', '... and the revocation stays');

# --- the server down -----------------------------------------------------------------

$http->kill_kill;
$off = -s $node->logfile;
ok($node->wait_for_log(qr/could not use the CRL fetched from "\Q$url\E": could not connect/, $off),
	'a distribution point that is down is reported');
cert_refused($node, $c_rev, 'cf', 'revoked', 'while the server is down, the last good CRL stays in force');
still_alive($node, $s_keep, 'while the server is down');

# the last good CRL is kept across a restart (the server still down)
$s_keep->quit;
$s_rev->quit;
$off = -s $node->logfile;
$node->restart;
ok($node->wait_for_log(qr/1 fetched CRLs kept from before are in force again/, $off),
	'after a restart, the kept CRL is in force again');
cert_refused($node, $c_rev, 'cf', 'revoked', 'after a restart with the server down, the revoked certificate is still refused');
$s_keep = open_session($node, $c_keep, 'cf');

# --- a newer good CRL lifts the revocation ---------------------------------------------

sleep(1);
publish_crl();
start_http();
$off = -s $node->logfile;
ok($node->wait_for_log(qr/CRL fetched from "\Q$url\E": 0 revoked certificates/, $off),
	'a newer CRL is fetched once the server is back');
cert_accepted($node, $c_rev, 'cf', $id, 'a certificate no longer listed logs in again');

$s_keep->quit;
$http->kill_kill;
$node->stop;
done_testing();
