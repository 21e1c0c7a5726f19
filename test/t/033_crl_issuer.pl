# A CRL revokes the certificates of its issuer however the issuer's name is
# spelled: X.509 compares names case-insensitively and across string types
# (UTF8String, PrintableString, T61String...), with white space collapsed,
# and so does mtls_ident, at load time and at lookup.  Here the client CA's
# own key signs CRLs whose issuer is written in other case and spacing, or
# in another string type: each verifies against the real client CA (as
# OpenSSL compares names), so each must revoke: the live session ends, the
# next login is refused, check() says revoked.

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

my $scratch = abs_path(PostgreSQL::Test::Utils::tempdir('crl_issuer'));

my $ca_bundle = "$scratch/ca_bundle.crt";
{
	open my $fh, '>', $ca_bundle or die "$ca_bundle: $!";
	print $fh slurp_file(pki_dir() . "/$_.crt") for qw(root_ca client_ca root2_ca);
	close $fh or die "$ca_bundle: $!";
}

# A twin of the client CA: same key, subject spelled $subj, string type by
# $mask (OpenSSL's string_mask).  Returns the path prefix crl.sh takes.
sub twin_ca
{
	my ($name, $subj, $mask) = @_;
	my $cnf = "$scratch/$name.cnf";
	open my $fh, '>', $cnf or die "$cnf: $!";
	print $fh "[req]\ndistinguished_name = dn\nstring_mask = $mask\n"
	  . "utf8 = yes\nx509_extensions = v3\n[dn]\n"
	  . "[v3]\nbasicConstraints = critical,CA:true\n"
	  . "subjectKeyIdentifier = hash\n";
	close $fh or die "$cnf: $!";
	copy(pki_dir() . '/client_ca.key', "$scratch/$name.key")
	  or die "copying the client CA key: $!";
	chmod 0600, "$scratch/$name.key";
	system('openssl', 'req', '-new', '-x509', '-config', $cnf, '-key',
		"$scratch/$name.key", '-subj', $subj, '-days', '3650', '-out',
		"$scratch/$name.crt") == 0
	  or die "openssl req failed";
	return "$scratch/$name";
}

# the real client CA: O=mtls_ident test, CN=mtls_ident test client CA (UTF8String)
my $real = `openssl x509 -in ${\ pki_dir()}/client_ca.crt -noout -subject -nameopt RFC2253`;
like($real, qr/CN=mtls_ident test client CA,O=mtls_ident test/,
	'the client CA is spelled as the test expects');

my $twin_case = twin_ca('twin_case',
	'/O=MTLS_IDENT  TEST/CN=  MTLS_IDENT TEST   CLIENT CA ', 'utf8only');
my $twin_t61 = twin_ca('twin_t61', '/O=mtls_ident test/CN=mtls_ident test client CA',
	'nombstr');
like(
	`openssl asn1parse -in $twin_t61.crt`,
	qr/T61STRING\s+:mtls_ident test client CA/,
	'the second twin spells the issuer as a T61String');

my $crl = make_crl(out => "$scratch/server.crl");
my $node = new_node(
	'crl_issuer',
	crl  => $crl,
	conf => "ssl_ca_file = '$ca_bundle'\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
bound_role($node, 'rv', 'rv');

my $c_case = mint_cert(san => spiffe('rv'));
my $c_t61 = mint_cert(san => spiffe('rv'));
my $c_keep = mint_cert(san => spiffe('rv'));

sub check_reason
{
	my ($cert) = @_;
	return $node->safe_psql('postgres',
		    'SELECT allowed, reason FROM mtls_ident.check('
		  . ql(slurp_file(cert_path($cert, 'leaf')))
		  . ", 'rv')");
}

for my $case (
	[ 'other case and spacing (UTF8String)', $twin_case, $c_case, [$c_case] ],
	[ 'T61String instead of UTF8String', $twin_t61, $c_t61, [ $c_case, $c_t61 ] ])
{
	my ($what, $twin, $cert, $revoke) = @$case;

	is(check_reason($cert), 't|ok', "$what: before its CRL, check() says ok");
	my $s = open_session($node, $cert, 'rv');
	my $pid = $s->pid;
	my $off = -s $node->logfile;
	make_crl(ca => $twin, revoke => $revoke, out => $crl, bundle => 0);
	ok( $node->wait_for_log(
			qr/revocation set loaded: ${\ scalar @$revoke} revoked certificates/, $off),
		"$what: the CRL verifies against the client CA and is loaded");
	ok(session_gone($node, $pid), "$what: the enforcer ends the live session");
	$node->connect_fails(
		client_connstr($node, $cert, user => 'rv'),
		"$what: the revoked certificate's next login is refused",
		expected_stderr => qr/certificate authentication failed for user "rv"/,
		log_like        => [qr/outcome=reject reason=revoked role="rv"/]);
	is(check_reason($cert), 'f|revoked', "$what: check() says revoked");
	$s->quit;
}

$node->connect_ok(client_connstr($node, $c_keep, user => 'rv'),
	'a certificate of the same CA that no CRL lists still logs in');
is(check_reason($c_keep), 't|ok', 'and check() says ok for it');

$node->stop;
done_testing();
