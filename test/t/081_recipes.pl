# The recipes of doc/recipes/ run as written.  Each recipe's certificate
# is reproduced with openssl in the shape that CA issues (subject, SANs,
# key usage, extended key usage, lifetime); the recipe's printed excerpt of
# "openssl x509 -text" must describe it; then the blocks marked
# "<!-- test: ... -->" are run verbatim: "hba" and "conf" lines installed,
# "sql" run by a superuser, "client ROLE IDENTITY" run by bash with PGHOST,
# PGPORT and CERT_DIR set, which must log in as ROLE with IDENTITY.

use strict;
use warnings FATAL => 'all';

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use IPC::Run;
use POSIX qw(strftime);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

my $top = abs_path("$FindBin::RealBin/../..");
my $recipes = "$top/doc/recipes";
my $pki = "$top/test/pki";

# The certificate of each recipe, as its CA issues it, and the names the
# recipe gives its files (crt: leaf and chain, key, root: the CA that
# verifies the server).
my %recipe = (
	'spiffe-spire.md' => {
		subj  => '/C=US/O=SPIRE',
		ext   => [
			'keyUsage = critical,digitalSignature,keyEncipherment,keyAgreement',
			'extendedKeyUsage = serverAuth,clientAuth',
			'subjectAltName = URI:spiffe://example.org/ns/prod/sa/billing'
		],
		life  => 3600,
		files => { 'svid.pem' => 'crt', 'svid_key.pem' => 'key', 'svid_bundle.pem' => 'root' },
		info  => 'O=SPIRE,C=US|{uri:spiffe://example.org/ns/prod/sa/billing}|{serverAuth,clientAuth}',
	},
	'vault-pki.md' => {
		subj  => '/CN=billing.svc.example.com',
		ext   => [
			'keyUsage = critical,digitalSignature,keyEncipherment,keyAgreement',
			'extendedKeyUsage = clientAuth',
			'subjectAltName = DNS:billing.svc.example.com'
		],
		life  => 86400,
		files => { 'client.crt' => 'crt', 'client.key' => 'key', 'server_ca.crt' => 'root' },
		info  => 'CN=billing.svc.example.com|{dns:billing.svc.example.com}|{clientAuth}',
	},
	'step-ca.md' => {
		subj  => '/CN=billing.svc.example.com',
		ext   => [
			'keyUsage = critical,digitalSignature',
			'extendedKeyUsage = serverAuth,clientAuth',
			'subjectAltName = DNS:billing.svc.example.com'
		],
		life  => 86400,
		files => { 'billing.crt' => 'crt', 'billing.key' => 'key', 'root_ca.crt' => 'root' },
		info  => 'CN=billing.svc.example.com|{dns:billing.svc.example.com}|{serverAuth,clientAuth}',
	},
	'cert-manager.md' => {
		subj  => '/',
		ext   => [
			'keyUsage = critical,digitalSignature,keyEncipherment',
			'extendedKeyUsage = clientAuth',
			'subjectAltName = critical,URI:spiffe://cluster.local/ns/billing/sa/billing'
		],
		life  => 86400,
		files => { 'tls.crt' => 'crt', 'tls.key' => 'key', 'ca.crt' => 'root' },
		info  => '|{uri:spiffe://cluster.local/ns/billing/sa/billing}|{clientAuth}',
	},
	'poolers.md' => {
		subj  => '/CN=pgbouncer.db.example.com',
		ext   => [
			'keyUsage = critical,digitalSignature',
			'extendedKeyUsage = clientAuth',
			'subjectAltName = DNS:pgbouncer.db.example.com'
		],
		life  => 86400,
		files => { 'pgbouncer.crt' => 'crt', 'pgbouncer.key' => 'key', 'server_ca.crt' => 'root' },
		info  => 'CN=pgbouncer.db.example.com|{dns:pgbouncer.db.example.com}|{clientAuth}',
	},);

is_deeply(
	[ sort grep { $_ ne 'README.md' } map { s{.*/}{}r } glob("$recipes/*.md") ],
	[ sort keys %recipe ],
	'every recipe has a certificate shape in this test');

my $node = new_node('recipes', conf => "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
my $bindir = $node->config_data('--bindir');

sub x509_time { return strftime('%Y%m%d%H%M%SZ', gmtime($_[0])); }

# Issue a certificate from client_ca with exactly these extensions; return
# the directory holding leaf.crt, leaf.key.
sub issue
{
	my ($r) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir('issue');
	open my $fh, '>', "$dir/ext.cnf" or die;
	print $fh "[ext]\nbasicConstraints = critical,CA:FALSE\n",
	  join("\n", @{ $r->{ext} }),
	  "\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
	close $fh;
	my $now = time;
	my $script = join "\n", 'set -eu', "PKI_TMP='$dir'", ". '$pki/pkilib.sh'",
	  "PKI_CONF='$pki/conf/ca.cnf'",
	  "(umask 077 && cp '$pki/certs/client_ca.key' '$dir/ca.key')",
	  "pki_key '$dir/leaf.key'",
	  "pki_csr '$dir/leaf.key' '$r->{subj}' '$dir/leaf.csr'",
	  "pki_sign '$pki/certs/client_ca.crt' '$dir/ca.key' '$dir/leaf.csr' '$dir/ext.cnf' ext "
	  . x509_time($now - 60) . ' ' . x509_time($now - 60 + $r->{life})
	  . " '' '$dir/leaf.crt'", '';
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'bash', '-c', $script ], '<', \undef, '>', \$out, '2>', \$err)
	  or die "issuing a certificate failed: $err";
	return $dir;
}

# Fenced blocks after "<!-- test: WHAT -->", in order: [ WHAT, text ].
sub marked_blocks
{
	my ($text) = @_;
	my @b;
	while ($text =~ /<!-- test: ([^>]*?) -->\n```[a-z]*\n(.*?)```/gs)
	{
		push @b, [ $1, $2 ];
	}
	return @b;
}


# The README's pg_hba.conf line, installed as written.
{
	my @b = marked_blocks(slurp_file("$recipes/README.md"));
	is(scalar(@b), 1, 'README.md has one marked block');
	is($b[0][0], 'hba', 'it is the pg_hba.conf line');
	write_hba($node, hba => $b[0][1]);
	reload_wait($node);
	is( $node->safe_psql('postgres',
			q{SELECT auth_method || ' ' || array_to_string(options, ' ') FROM pg_hba_file_rules WHERE type = 'hostssl'}),
		'trust clientcert=verify-ca', 'the recipes\' pg_hba.conf line is in force');
}

# What the recipes promise beyond their client command, run right after
# each recipe (its roles and settings in place).
my %extra = (
	'spiffe-spire.md' => sub {
		# the {role} template of the workloads group
		my $svid = issue(
			{
				%{ $recipe{'spiffe-spire.md'} },
				ext => [
					'keyUsage = critical,digitalSignature,keyEncipherment,keyAgreement',
					'extendedKeyUsage = serverAuth,clientAuth',
					'subjectAltName = URI:spiffe://example.org/ns/prod/sa/reporting'
				]
			});
		open my $fh, '>', "$svid/reporting.crt" or die;
		print $fh slurp_file("$svid/leaf.crt") . slurp_file("$pki/certs/client_ca.crt");
		close $fh;
		copy("$svid/leaf.key", "$svid/reporting.key") or die;
		chmod 0600, "$svid/reporting.key";
		cert_accepted($node, "$svid/reporting", 'reporting',
			'uri:spiffe://example.org/ns/prod/sa/reporting',
			'spiffe-spire: a member of workloads logs in with its own SPIFFE ID');
		cert_refused($node, "$svid/reporting", 'billing', 'no_match',
			'spiffe-spire: ... and not as billing');
	},
	'vault-pki.md' => sub {
		my $v = issue($recipe{'vault-pki.md'});
		$node->safe_psql('postgres',
			q{CREATE ROLE vault_cn LOGIN; SELECT mtls_ident.bind('vault_cn', 'cn:billing.svc.example.com')});
		is( $node->safe_psql('postgres',
				q{SELECT reason FROM mtls_ident.check($pem$} . slurp_file("$v/leaf.crt") . q{$pem$, 'vault_cn')}),
			'no_match',
			'vault-pki: a cn: binding does not match a Vault certificate (its CN is also a SAN)');
		# dns:{role}.svc... matches only roles named by a lowercase DNS label
		$node->safe_psql('postgres', q{CREATE ROLE "Billing" LOGIN IN ROLE vault_clients});
		is( $node->safe_psql('postgres',
				q{SELECT reason FROM mtls_ident.check($pem$} . slurp_file("$v/leaf.crt") . q{$pem$, '"Billing"')}),
			'no_match',
			'vault-pki: dns:{role}.svc.example.com never admits a role whose name is not a lowercase DNS label (Billing)');
		is( $node->safe_psql('postgres',
				q{SELECT allowed FROM mtls_ident.check($pem$} . slurp_file("$v/leaf.crt") . q{$pem$, 'billing')}),
			't', 'vault-pki: ... while billing, in the same group, is admitted');
		$node->safe_psql('postgres', q{DROP ROLE "Billing"});
	},
	'step-ca.md' => sub {
		my $long = issue({ %{ $recipe{'step-ca.md'} }, life => 86401 });
		is( $node->safe_psql('postgres',
				q{SELECT reason FROM mtls_ident.check($pem$} . slurp_file("$long/leaf.crt") . q{$pem$, 'billing')}),
			'lifetime_too_long',
			'step-ca: max_certificate_lifetime = 24h refuses a certificate one second longer');
	},
	'poolers.md' => sub {
		my $p = issue($recipe{'poolers.md'});
		is( $node->safe_psql('postgres',
				q{SELECT allowed FROM mtls_ident.check($pem$} . slurp_file("$p/leaf.crt") . q{$pem$, 'app_ro')}),
			't', 'poolers: the pooler\'s certificate opens every role it is bound to');
	},);

for my $name (sort keys %recipe)
{
	my $r = $recipe{$name};
	# each recipe starts from a cluster without its roles
	$node->safe_psql('postgres',
		q{DO $$DECLARE r text; BEGIN
		    FOR r IN SELECT rolname FROM pg_roles WHERE oid >= 16384 LOOP
		      EXECUTE format('DROP ROLE %I', r);
		    END LOOP; END$$});
	my $text = slurp_file("$recipes/$name");
	my $issued = issue($r);
	my $pem = slurp_file("$issued/leaf.crt");

	# the certificate is what the recipe says it is
	is( $node->safe_psql('postgres',
			q{SELECT subject || '|' || sans::text || '|' || eku::text FROM mtls_ident.cert_info($pem$}
			  . $pem . '$pem$)'),
		$r->{info}, "$name: subject, SANs and EKU as that CA issues them");
	is( $node->safe_psql('postgres',
			q{SELECT extract(epoch FROM not_after - not_before)::bigint FROM mtls_ident.cert_info($pem$}
			  . $pem . '$pem$)'),
		$r->{life}, "$name: lifetime $r->{life} s");
	my ($excerpt) = $text =~ /```\n(Subject:.*?)```/s;
	ok(defined $excerpt, "$name: shows the certificate's fields");
	my $dump = '';
	IPC::Run::run([ 'openssl', 'x509', '-in', "$issued/leaf.crt", '-noout', '-text' ],
		'>', \$dump) or die 'openssl x509 failed';
	# (OpenSSL 3.0 writes a name "CN = x", 3.5 "CN=x": compared without
	# the blanks around "=")
	my $canon = sub { my $l = shift; $l =~ s/^\s+|\s+$//g; $l =~ s/\s*=\s*/=/g if $l =~ /^(?:Subject|Issuer):/; $l };
	my @dump = map { $canon->($_) } split /\n/, $dump;
	for my $line (split /\n/, $excerpt // '')
	{
		my $want = $canon->($line);
		$line =~ s/^\s+|\s+$//g;
		ok((grep { $_ eq $want } @dump), "$name: the certificate has \"$line\"");
	}

	# the files, named as the recipe names them
	my $cert_dir = PostgreSQL::Test::Utils::tempdir('cert_dir');
	for my $f (sort keys %{ $r->{files} })
	{
		my $what = $r->{files}{$f};
		my $content = $what eq 'crt' ? $pem . slurp_file("$pki/certs/client_ca.crt")
		  : $what eq 'key' ? slurp_file("$issued/leaf.key")
		  : slurp_file("$pki/certs/root_ca.crt");
		open my $fh, '>', "$cert_dir/$f" or die;
		print $fh $content;
		close $fh;
		chmod 0600, "$cert_dir/$f";
	}

	my @blocks = marked_blocks($text);
	ok(scalar(grep { $_->[0] =~ /^client / } @blocks), "$name: has a client block");
	for my $b (@blocks)
	{
		my ($what, $body) = @$b;
		if ($what eq 'conf')
		{
			$node->append_conf('postgresql.conf', $body);
			reload_wait($node);
			my ($guc, $val) = $body =~ /^(\S+)\s*=\s*'([^']*)'/m;
			is( $node->safe_psql('postgres',
					"SELECT current_setting('$guc')::interval = '$val'::interval"),
				't', "$name: $guc = $val is in force");
		}
		elsif ($what eq 'sql')
		{
			my ($ret, $out, $err) = $node->psql('postgres', $body,
				on_error_stop => 1);
			is($ret, 0, "$name: its SQL runs") or diag $err;
		}
		elsif ($what =~ /^client (\S+) (\S+)$/)
		{
			my ($role, $identity) = ($1, $2);
			my ($out, $err) = ('', '');
			local $ENV{PATH} = "$bindir:$ENV{PATH}";
			local $ENV{PGHOST} = 'localhost';
			local $ENV{PGPORT} = $node->port;
			local $ENV{CERT_DIR} = $cert_dir;
			local $ENV{HOME} = $cert_dir;
			local $ENV{PGSSLCRL} = "$cert_dir/none";
			local $ENV{PGSSLCRLDIR} = "$cert_dir/none";
			delete local $ENV{PGSSLCERT};
			delete local $ENV{PGSSLKEY};
			delete local $ENV{PGSSLROOTCERT};
			delete local $ENV{PGUSER};
			delete local $ENV{PGDATABASE};
			my $ok = IPC::Run::run([ 'bash', '-c', "set -e\n$body" ],
				'<', \undef, '>', \$out, '2>', \$err);
			ok($ok, "$name: the client command logs in as $role") or diag $err;
			is($out, "$identity\n", "$name: with identity $identity");
			like(
				slurp_file($node->logfile),
				qr/outcome=accept reason=ok role="\Q$role\E" database="postgres" client=\S+ identity=\Q$identity\E /,
				"$name: the server logged the accepted login");
		}
		elsif ($what ne 'hba')
		{
			fail("$name: unknown test block \"$what\"");
		}
	}
	$extra{$name}->() if $extra{$name};
}

done_testing();
