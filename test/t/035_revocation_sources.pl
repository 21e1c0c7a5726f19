# mtls_ident.revocation_sources, file rows: one row per CRL file of
# ssl_crl_file and ssl_crl_dir, with the issuer, thisUpdate and nextUpdate
# that openssl crl prints, the number of revoked serials, attempts,
# failures and the last error (NULL once a read succeeds).  Readable by
# pg_read_all_stats, not by PUBLIC.

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

my $scratch = abs_path(PostgreSQL::Test::Utils::tempdir('revsrc'));

my $ca_bundle = "$scratch/ca_bundle.crt";
{
	open my $fh, '>', $ca_bundle or die "$ca_bundle: $!";
	print $fh slurp_file(pki_dir() . "/$_.crt") for qw(root_ca client_ca root2_ca);
	close $fh or die "$ca_bundle: $!";
}
my $c1 = mint_cert(san => spiffe('rv'));
my $c2 = mint_cert(san => spiffe('rv'));
my $crl = make_crl(out => "$scratch/server.crl");    # empty, all three CAs
my $crl_dir = "$scratch/crl.d";
mkdir $crl_dir or die "$crl_dir: $!";
my $dir_crl = "$crl_dir/client_ca.crl";
make_crl(ca => 'client_ca', revoke => [ $c1, $c2 ], out => $dir_crl, bundle => 0);

my $node = new_node(
	'revsrc',
	crl     => $crl,
	crl_dir => $crl_dir,
	conf    => "ssl_ca_file = '$ca_bundle'\n"
	  . "mtls_ident.enforce_interval = '1s'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

# what openssl says of the CRLs of a file (PEM, one or more): issuers in
# file order joined by "; ", the oldest lastUpdate, the earliest
# nextUpdate, the number of revoked serials
sub openssl_crl
{
	my ($path) = @_;
	my @blocks = slurp_file($path) =~ /(-----BEGIN X509 CRL-----.*?-----END X509 CRL-----\n)/sg;
	my (%f, @issuers);
	$f{entries} = 0;
	for my $i (0 .. $#blocks)
	{
		my $one = "$scratch/one_$i.crl";
		open my $fh, '>', $one or die "$one: $!";
		print $fh $blocks[$i];
		close $fh or die "$one: $!";
		my $out = `openssl crl -in '$one' -noout -issuer -lastupdate -nextupdate -nameopt RFC2253`;
		push @issuers, $1 if $out =~ /^issuer=(.*)$/m;
		for my $k (qw(lastUpdate nextUpdate))
		{
			my ($d) = $out =~ /^$k=(.*)$/m;
			chomp(my $epoch = `date -u -d '$d' +%s`);
			$f{$k} = $epoch if !defined $f{$k} || $epoch < $f{$k};
		}
		my $text = `openssl crl -in '$one' -noout -text`;
		$f{entries} += () = $text =~ /Serial Number:/g;
	}
	$f{issuer} = join('; ', @issuers);
	return \%f;
}

sub row
{
	my ($path) = @_;
	return $node->safe_psql('postgres',
		"SELECT source, issuer, extract(epoch FROM this_update)::bigint,
		        extract(epoch FROM next_update)::bigint, entries, queries,
		        failures, coalesce(error, '<null>'), last_attempt IS NOT NULL,
		        coalesce(extract(epoch FROM last_success)::text, '<null>')
		 FROM mtls_ident.revocation_sources WHERE location = " . ql($path));
}

is( $node->safe_psql('postgres',
		'SELECT count(*) FROM mtls_ident.revocation_sources'),
	'2', 'one row per CRL file (ssl_crl_file, one file in ssl_crl_dir)');

for my $path ($crl, $dir_crl)
{
	my $o = openssl_crl($path);
	my @r = split /\|/, row($path);
	is($r[0], 'file', "$path: source is file");
	is($r[1], $o->{issuer},
		"$path: issuer as openssl crl -nameopt RFC2253 prints it (each CRL's)");
	is($r[2], $o->{lastUpdate}, "$path: this_update is the oldest lastUpdate");
	is($r[3], $o->{nextUpdate}, "$path: next_update is the earliest nextUpdate");
	is($r[4], $o->{entries}, "$path: entries counts the revoked serials");
	is($r[6], '0', "$path: no failures");
	is($r[7], '<null>', "$path: error is NULL");
	is($r[8], 't', "$path: last_attempt is set");
	isnt($r[9], '<null>', "$path: last_success is set");
	ok($r[5] >= 1, "$path: queries counts the reads");
}
is((split /\|/, row($dir_crl))[4], '2', 'entries: the two revoked serials');
like((split /\|/, row($crl))[1], qr/; .*; /, 'a file of three CRLs names three issuers');

# a garbage CRL: failures and error; last_success stays
my @before = split /\|/, row($dir_crl);
my $off = -s $node->logfile;
{
	open my $fh, '>', "$dir_crl.new" or die "$dir_crl.new: $!";
	print $fh "this is not a CRL\n";
	close $fh or die "$dir_crl.new: $!";
	rename "$dir_crl.new", $dir_crl or die "rename: $!";
}
$node->wait_for_log(qr/could not load CRL file "\Q$dir_crl\E"/, $off);
my @bad = split /\|/, row($dir_crl);
is($bad[6], '1', 'a garbage CRL counts one failure');
like($bad[7], qr/^not a PEM or DER CRL/, 'error says what is wrong');
is($bad[9], $before[9], 'last_success still says when the file last loaded');
ok($bad[5] > $before[5], 'queries counts the failed read too');
is($bad[4], '2', 'entries still those of the last good CRL (still in force)');

# a good CRL again: error NULL, failures kept
$off = -s $node->logfile;
make_crl(ca => 'client_ca', revoke => [$c1], out => $dir_crl, bundle => 0);
$node->wait_for_log(qr/revocation set loaded/, $off);
my @good = split /\|/, row($dir_crl);
is($good[7], '<null>', 'after a good CRL, error is NULL again');
is($good[6], '1', 'failures keeps counting what failed');
is($good[4], '1', 'entries: the new CRL\'s one serial');
ok($good[9] >= $before[9], 'last_success moved on');

# privileges
$node->safe_psql('postgres',
	'CREATE ROLE plain LOGIN; CREATE ROLE watcher LOGIN IN ROLE pg_read_all_stats');
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	'SELECT count(*) FROM mtls_ident.revocation_sources',
	extra_params => [ '-U', 'plain' ]);
like($stderr, qr/permission denied/, 'PUBLIC cannot read revocation_sources');
($ret, $stdout, $stderr) = $node->psql('postgres',
	'SELECT * FROM mtls_ident._revocation_sources()',
	extra_params => [ '-U', 'plain' ]);
like($stderr, qr/permission denied/, 'nor call its function');
is( $node->safe_psql(
		'postgres', 'SELECT count(*) FROM mtls_ident.revocation_sources',
		extra_params => [ '-U', 'watcher' ]),
	'2',
	'pg_read_all_stats members read every row');

$node->stop;
done_testing();
