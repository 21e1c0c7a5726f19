# Smoke test of the test PKI and of MtlsTest.pm, without mtls_ident: the
# committed certificates, a certificate minted now and a CRL made now work
# with a stock PostgreSQL server ("cert" authentication).

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;    # MtlsTest.pm, whatever prove's -I flags
use MtlsTest;

# PostgreSQL checks a CRL for every CA of the chain: start with empty ones.
my $crl_path = make_crl();
my $node = new_node(
	'smoke',
	preload => 0,
	crl     => $crl_path,
	hba     => 'hostssl all all 127.0.0.1/32 cert');
$node->start;

$node->safe_psql('postgres', 'CREATE ROLE "legacy-app" LOGIN');

$node->connect_ok(
	client_connstr($node, 'cn_legacy', user => 'legacy-app'),
	'committed certificate with matching CN logs in',
	sql => 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
	expected_stdout => qr/^t$/);

$node->connect_fails(
	client_connstr($node, 'untrusted_client', user => 'legacy-app'),
	'certificate from an untrusted CA is refused',
	expected_stderr => qr/alert unknown ca/,
	log_like        => [qr/certificate verify failed/]);

$node->connect_fails(
	client_connstr($node, undef, user => 'legacy-app'),
	'no client certificate: cert authentication fails',
	expected_stderr => qr/connection requires a valid client certificate/);

my $short = mint_cert(cn => 'legacy-app', end_offset => 30);
$node->connect_ok(
	client_connstr($node, $short, user => 'legacy-app'),
	'certificate minted now, expiring in 30 s, logs in');

my $expired = mint_cert(
	cn           => 'legacy-app',
	start_offset => -7200,
	end_offset   => -3600);
$node->connect_fails(
	client_connstr($node, $expired, user => 'legacy-app'),
	'certificate minted already expired is refused',
	expected_stderr => qr/alert certificate expired/);

# A certificate that expires in 15 seconds works, then stops working
# (15 s: minting and a TLS login take seconds on a loaded machine).
my $brief = mint_cert(cn => 'legacy-app', end_offset => 15);
my $brief_end = time + 15;
$node->connect_ok(
	client_connstr($node, $brief, user => 'legacy-app'),
	'certificate expiring in 15 s logs in');
sleep(1) while time <= $brief_end + 1;
$node->connect_fails(
	client_connstr($node, $brief, user => 'legacy-app'),
	'the same certificate after its end is refused',
	expected_stderr => qr/alert certificate expired/);

# Given serial, another issuer (a root: no chain appended), key reuse.
my $r2 = mint_cert(
	name   => 'r2',
	cn     => 'legacy-app',
	ca     => 'root2_ca',
	serial => '0A1B2C',
	key    => 'cn_legacy');
is(cert_serial($r2), '0A1B2C', 'mint_cert honours serial');
is(slurp_file(cert_path($r2, 'crt')),
	slurp_file(cert_path($r2, 'leaf')),
	'certificate issued by a root is not bundled');
$node->connect_ok(
	client_connstr($node, $r2, user => 'legacy-app'),
	'certificate minted by root2_ca logs in');

# Revocation of a committed certificate through a CRL made now.
make_crl(ca => 'client_ca', revoke => ['cn_legacy'], out => $crl_path);
$node->reload;
$node->connect_fails(
	client_connstr($node, 'cn_legacy', user => 'legacy-app'),
	'revoked certificate is refused after reload',
	expected_stderr => qr/alert certificate revoked/);
$node->connect_ok(
	client_connstr($node, $short, user => 'legacy-app'),
	'certificate not in the CRL still logs in');

# Every committed client certificate gets through PostgreSQL's TLS layer
# (so mtls_ident's hook sees it), except the ones listed here, which the
# TLS layer, PostgreSQL core or libpq refuse before any hook runs.
make_crl(out => $crl_path);
write_hba($node);    # the recommended trust clientcert=verify-ca line
$node->reload;
my $verify_failed = [qr/could not accept SSL connection: certificate verify failed/];
my %refused = (
	untrusted_client => [ qr/alert unknown ca/, $verify_failed ],
	expired_static   => [ qr/alert certificate expired/, $verify_failed ],
	not_yet_valid_static => [ qr/alert bad certificate/, $verify_failed ],
	# OpenSSL's "SSL client" purpose check wants clientAuth in any EKU.
	eku_server_only => [ qr/alert unsupported certificate/, $verify_failed ],
	eku_any         => [ qr/alert unsupported certificate/, $verify_failed ],
	# PostgreSQL core drops a CN with an embedded NUL after the handshake.
	hostile_cn_nul => [
		qr/SSL connection has been closed unexpectedly/,
		[qr/SSL certificate's common name contains embedded null/]
	],
	# Bigger than OpenSSL's 100 kB limit on a certificate chain message.
	# The client sees the alert as "illegal parameter" (OpenSSL 3.0) or
	# "bad certificate" (3.5, 3.6); the server says the same either way.
	many_sans_5000 => [
		qr/alert (?:illegal parameter|bad certificate)/,
		[qr/could not accept SSL connection: excessive message size/]
	],
	# OpenSSL 3.0's libpq cannot even load it; 3.5's loads and sends it, and
	# the server's TLS layer refuses it ("invalid certificate").
	hostile_san_malformed =>
	  [ qr/could not read certificate file|alert unknown ca/, [] ],);
# Every refusal above happens before authentication: no hook could see it.
my $authenticated = [qr/connection authorized|connection authenticated/];
for my $leaf (sort glob(pki_dir() . '/*.leaf.crt'))
{
	my ($name) = $leaf =~ m{([^/]+)\.leaf\.crt$};
	my $connstr = client_connstr($node, $name, user => 'legacy-app');
	if (my $r = $refused{$name})
	{
		$node->connect_fails($connstr, "TLS refuses $name",
			expected_stderr => $r->[0],
			log_like        => $r->[1],
			log_unlike      => $authenticated);
	}
	else
	{
		$node->connect_ok($connstr, "TLS accepts $name");
	}
}

# The helpers agree with OpenSSL and with the server.
like(cert_fingerprint('spiffe_billing'), qr/^[0-9a-f]{64}$/,
	'cert_fingerprint is lowercase hex SHA-256');
like(cert_serial('spiffe_billing'), qr/^[0-9A-F]+$/,
	'cert_serial is uppercase hex');
like(
	cert_pem('spiffe_billing'),
	qr/\A-----BEGIN CERTIFICATE-----\n[^-]+-----END CERTIFICATE-----\n\z/,
	'cert_pem is the leaf alone');
my ($fp) = run_command(
	[
		'openssl', 'x509', '-in', cert_path('spiffe_billing', 'leaf'),
		'-noout', '-fingerprint', '-sha256'
	]);
$fp =~ s/^.*=//;
$fp =~ s/[:\n]//g;
is(cert_fingerprint('spiffe_billing'), lc $fp,
	'cert_fingerprint matches openssl');

done_testing();
