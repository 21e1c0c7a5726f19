#!/usr/bin/perl
#
# patch-cert.pl -- replace bytes inside a certificate's TBSCertificate and
# re-sign it, for values no openssl command can write (a subject CN with an
# embedded NUL).  FROM and TO must have the same length, so every DER length
# stays valid; TO may use \0 for a NUL byte.  Prints the new PEM.
#
# Usage: patch-cert.pl CERT.pem ISSUER.key FROM TO > OUT.pem

use strict;
use warnings FATAL => 'all';
use File::Temp qw(tempdir);
use MIME::Base64;

my ($certfile, $keyfile, $from, $to) = @ARGV;
die "usage: $0 CERT.pem ISSUER.key FROM TO\n" unless defined $to;
$to =~ s/\\0/\0/g;
die "FROM and TO differ in length\n" unless length($from) == length($to);

open my $fh, '<', $certfile or die "$certfile: $!\n";
my $pem = do { local $/; <$fh> };
close $fh;
$pem =~ /-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----/s
  or die "$certfile: no certificate\n";
my $der = decode_base64($1);

# Read one TLV at $pos; return (whole element, position after it).
sub tlv
{
	my ($buf, $pos) = @_;
	my $start = $pos++;
	my $len = ord substr($buf, $pos++, 1);
	if ($len & 0x80)
	{
		my $n = $len & 0x7f;
		$len = 0;
		$len = ($len << 8) | ord substr($buf, $pos++, 1) for 1 .. $n;
	}
	return (substr($buf, $start, $pos - $start + $len), $pos + $len, $pos);
}

sub der_len
{
	my ($n) = @_;
	return chr($n) if $n < 0x80;
	my $b = '';
	while ($n > 0) { $b = chr($n & 0xff) . $b; $n >>= 8; }
	return chr(0x80 | length($b)) . $b;
}

# Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
my (undef, undef, $inner) = tlv($der, 0);
my ($tbs, $p) = tlv($der, $inner);
my ($alg) = tlv($der, $p);

my $at = index($tbs, $from);
die "FROM not found in the certificate\n" if $at < 0;
die "FROM found twice in the certificate\n" if index($tbs, $from, $at + 1) >= 0;
substr($tbs, $at, length $from) = $to;

my $dir = tempdir(CLEANUP => 1);
open my $out, '>:raw', "$dir/tbs" or die "$dir/tbs: $!\n";
print $out $tbs;
close $out;
system('openssl', 'dgst', '-sha256', '-sign', $keyfile, '-out', "$dir/sig",
	"$dir/tbs") == 0
  or die "openssl dgst failed\n";
open my $sf, '<:raw', "$dir/sig" or die "$dir/sig: $!\n";
my $sig = do { local $/; <$sf> };
close $sf;

my $bits = "\0" . $sig;
my $body = $tbs . $alg . "\x03" . der_len(length $bits) . $bits;
my $cert = "\x30" . der_len(length $body) . $body;
print "-----BEGIN CERTIFICATE-----\n", encode_base64($cert),
  "-----END CERTIFICATE-----\n";
