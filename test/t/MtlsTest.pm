# MtlsTest.pm -- helpers shared by the mtls_ident TAP tests (see the POD).

=pod

=head1 NAME

MtlsTest - helpers shared by the mtls_ident TAP tests

=head1 SYNOPSIS

  use PostgreSQL::Test::Cluster;
  use Test::More;
  use FindBin;
  use lib $FindBin::RealBin;   # PGXS resets PROVE_FLAGS, so do not rely on -I
  use MtlsTest;

  my $node = new_node('main');
  $node->start;
  $node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

  $node->connect_ok(client_connstr($node, 'spiffe_billing', user => 'billing'),
	'SPIFFE certificate logs in');

  my $short = mint_cert(san => 'URI:spiffe://example.org/ns/prod/sa/billing',
	end_offset => 5);
  my $crl = make_crl(ca => 'client_ca', revoke => ['spiffe_billing']);

=head1 DESCRIPTION

Certificates are named either by their name in test/pki/certs (see
test/pki/README.md) or by a path prefix DIR/NAME as returned by mint_cert()
(DIR/NAME.crt, DIR/NAME.leaf.crt, DIR/NAME.key).

Nothing is written into the source tree except under the test's tmp_check
directory (PostgreSQL::Test::Utils::tempdir).

=cut

package MtlsTest;

use strict;
use warnings FATAL => 'all';

use Carp;
use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use Exporter 'import';
use File::Basename qw(dirname basename);
use File::Copy qw(copy);
use File::Spec;
use IPC::Run;
use MIME::Base64 qw(decode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(
  pki_dir
  new_node
  write_hba
  reload_wait
  crash_restart_wait
  client_connstr
  cert_path
  cert_pem
  cert_fingerprint
  cert_serial
  mint_cert
  make_crl
  qi
  ql
  bind_role
  login_accepted
  login_refused
  cert_accepted
  cert_refused
);

my $PKI_HOME = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), '..', 'pki'));

# connect_fails, the same on every major.  PostgreSQL 18's version, given
# log_like or log_unlike, first waits for the postmaster's DEBUG2 lines of
# the backend's fork and exit ("forked new client backend", "client backend
# (PID n) exited"), which servers at the default log_min_messages never
# write: every such call would wait out the whole timeout.  This one waits
# instead until each log_like pattern is in the log written since the
# attempt (up to 30 s), then checks log_like and log_unlike
# as 15..17 do.  What a refused login logs comes before the refusal reaches
# the client, so log_unlike sees it too.
{
	no warnings 'redefine';
	*PostgreSQL::Test::Cluster::connect_fails = \&_connect_fails;
}

sub _connect_fails
{
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($self, $connstr, $test_name, %params) = @_;
	my $log_location = -s $self->logfile;

	# never prompt for a password
	my ($ret, $stdout, $stderr) = $self->psql(
		'postgres', undef,
		extra_params => ['-w'],
		connstr      => "$connstr");
	Test::More::isnt($ret, 0, $test_name);
	Test::More::like($stderr, $params{expected_stderr}, "$test_name: matches")
	  if defined $params{expected_stderr};

	# (the refusing backend logs before the client sees the refusal: the
	# wait is only for slow log writes, so a missing line costs 30 s, not
	# the 180 s default timeout)
	my @like = @{ $params{log_like} // [] };
	my $deadline = time + 30;
	while (@like && time < $deadline)
	{
		my $log =
		  PostgreSQL::Test::Utils::slurp_file($self->logfile, $log_location);
		last unless grep { $log !~ $_ } @like;
		select(undef, undef, undef, 0.1);
	}
	$self->log_check($test_name, $log_location, %params);
	return;
}

# One private scratch directory per test script: key copies, minted
# certificates, CRLs.
my $scratch;
my %key_copy;    # source key path => private 0600 copy
my $counter = 0;

sub _scratch
{
	$scratch //= abs_path(PostgreSQL::Test::Utils::tempdir('mtls'));
	return $scratch;
}

=pod

=over

=item pki_dir()

Absolute path of test/pki/certs.

=cut

sub pki_dir
{
	return "$PKI_HOME/certs";
}

# Path prefix of a certificate: a name in certs/ or a DIR/NAME prefix.
sub _prefix
{
	my ($certname) = @_;
	croak "certificate name missing" unless defined $certname;
	return $certname if $certname =~ m{/};
	return pki_dir() . "/$certname";
}

=pod

=item cert_path($certname, $what)

The file of a certificate: $what is 'crt' (leaf and chain, the default),
'leaf' (the leaf only) or 'key'.  Dies when the file does not exist.

=cut

sub cert_path
{
	my ($certname, $what) = @_;
	$what //= 'crt';
	my %suffix = (crt => '.crt', leaf => '.leaf.crt', key => '.key');
	croak "unknown certificate file kind '$what'" unless $suffix{$what};
	my $path = _prefix($certname) . $suffix{$what};
	croak "no such certificate file: $path" unless -f $path;
	return $path;
}

=pod

=item cert_pem($certname)

The PEM text of the leaf certificate alone (for mtls_ident.cert_info() and
mtls_ident.check()).

=cut

sub cert_pem
{
	my ($certname) = @_;
	return slurp_file(cert_path($certname, 'leaf'));
}

sub _leaf_der
{
	my ($certname) = @_;
	my $pem = cert_pem($certname);
	$pem =~ /-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----/s
	  or croak "no certificate in " . cert_path($certname, 'leaf');
	return decode_base64($1);
}

=pod

=item cert_fingerprint($certname)

Lowercase hex SHA-256 of the leaf certificate's DER, without colons.

=cut

sub cert_fingerprint
{
	my ($certname) = @_;
	return sha256_hex(_leaf_der($certname));
}

=pod

=item cert_serial($certname)

The leaf's serial number as uppercase hex, as OpenSSL prints it.

=cut

sub cert_serial
{
	my ($certname) = @_;
	my $out = _run('openssl', 'x509', '-in', cert_path($certname, 'leaf'),
		'-noout', '-serial');
	$out =~ /^serial=([0-9A-F]+)$/m or croak "unexpected openssl output: $out";
	return $1;
}

# Run a command; return its stdout, die with its stderr on failure.
sub _run
{
	my @cmd = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err)
	  or croak "command failed: @cmd\n$err";
	return $out;
}

# Quote a value for a libpq connection string.
sub _cq
{
	my ($v) = @_;
	$v =~ s/([\\'])/\\$1/g;
	return "'$v'";
}

=pod

=item new_node($name, %opts)

A PostgreSQL::Test::Cluster, initialised and configured, not started:
ssl = on with the server certificate (copied into the data directory, key
mode 0600), ssl_ca_file = trusted_roots.crt (root_ca and root2_ca),
listen_addresses = '127.0.0.1', log_connections = on, and
shared_preload_libraries = 'mtls_ident'.  Options:

=over

=item preload => 0

Do not load mtls_ident.

=item crl => PATH, crl_dir => PATH

Set ssl_crl_file / ssl_crl_dir to PATH as given (not copied), so that a
test can later replace the file, e.g. make_crl(out => PATH).  Note that
PostgreSQL checks CRLs for every CA of the chain: use make_crl(), whose
output also carries empty CRLs for the other CAs.

=item conf => "lines"

Appended to postgresql.conf.

=item hba => "lines", local_hba => "lines"

See write_hba().

=item allows_streaming, has_archiving

Passed to PostgreSQL::Test::Cluster::init.

=back

=cut

sub new_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	my %init;
	for my $k (qw(allows_streaming has_archiving))
	{
		$init{$k} = $opts{$k} if exists $opts{$k};
	}
	$node->init(%init);

	my $pgdata = $node->data_dir;
	for my $f (qw(server.crt server.key))
	{
		copy(pki_dir() . "/$f", "$pgdata/$f")
		  or croak "copying $f into $pgdata: $!";
	}
	chmod 0600, "$pgdata/server.key";

	my $conf = "ssl = on\n"
	  . "ssl_cert_file = 'server.crt'\n"
	  . "ssl_key_file = 'server.key'\n"
	  . "ssl_ca_file = '" . pki_dir() . "/trusted_roots.crt'\n"
	  . "listen_addresses = '127.0.0.1'\n"
	  . "log_connections = on\n";
	$conf .= "ssl_crl_file = '$opts{crl}'\n" if defined $opts{crl};
	$conf .= "ssl_crl_dir = '$opts{crl_dir}'\n" if defined $opts{crl_dir};
	$conf .= "shared_preload_libraries = 'mtls_ident'\n"
	  unless defined $opts{preload} && !$opts{preload};
	$conf .= "$opts{conf}\n" if defined $opts{conf};
	$node->append_conf('postgresql.conf', $conf);

	write_hba($node, %opts);
	return $node;
}

=pod

=item write_hba($node, hba => "lines", local_hba => "lines")

Replace pg_hba.conf with local_hba (default C<local all all trust>) followed
by hba (default C<hostssl all all 127.0.0.1/32 trust clientcert=verify-ca>,
the setup the documentation recommends).  A running node needs
$node->reload afterwards.

=cut

sub write_hba
{
	my ($node, %opts) = @_;
	my $local = $opts{local_hba} // 'local all all trust';
	my $hba = $opts{hba}
	  // 'hostssl all all 127.0.0.1/32 trust clientcert=verify-ca';
	my $file = $node->data_dir . '/pg_hba.conf';
	open my $fh, '>', $file or croak "$file: $!";
	print $fh "$local\n$hba\n";
	close $fh or croak "$file: $!";
	return;
}

# Reload the configuration and wait until it is in force: a setting only
# a reload changes, read back by a new connection (its backend is forked
# after the postmaster re-read pg_hba.conf too).  Each reload of a node
# gets a value of its own (n / 10000, compared as a number).
my %reloads;

sub reload_wait
{
	my ($node) = @_;
	my $v = sprintf('%.4f', ++$reloads{ $node->name } / 10000);
	$node->safe_psql('postgres',
		"ALTER SYSTEM SET cursor_tuple_fraction = '$v'");
	$node->reload;
	$node->poll_query_until('postgres',
		"SELECT current_setting('cursor_tuple_fraction')::float8 = $v")
	  or croak 'reload not in force';
	return;
}

# Wait until the crash restart that began after log offset $off (a SIGKILL
# of a server process) is over: the postmaster reinitialised and the
# server accepts connections again.  This waits on the log, never with
# psql: poll_query_until and safe_psql feed their query to psql's stdin,
# and a psql that cannot connect while the server recovers exits before
# reading it; with SIGPIPE ignored (PostgreSQL::Test::Utils), IPC::Run
# then dies of the EPIPE and the test ends with exit code 32 (seen once,
# 023 on the loaded 17 leg).
sub crash_restart_wait
{
	my ($node, $off) = @_;
	return $node->wait_for_log(
		qr/all server processes terminated; reinitializing.*database system is ready to accept connections/s,
		$off);
}

# A private copy of a key, mode 0600 (libpq refuses group/world-readable
# keys, and git does not keep file modes).
sub _private_key
{
	my ($src) = @_;
	return $key_copy{$src} if $key_copy{$src};
	my $dst = sprintf('%s/%d_%s', _scratch(), ++$counter, basename($src));
	copy($src, $dst) or croak "copying $src to $dst: $!";
	chmod 0600, $dst;
	return $key_copy{$src} = $dst;
}

=pod

=item client_connstr($node, $certname, %opts)

A libpq connection string for $node over TCP with TLS, presenting
certificate $certname (a name in certs/ or a mint_cert() prefix), or no
certificate at all when $certname is undef.  It never falls back to files
in ~/.postgresql: sslcert, sslkey, sslrootcert, sslcrl and sslcrldir are
always set (to a nonexistent file when unused, which libpq ignores).

The server certificate is verified against root_ca (libpq's sslmode=require
does so whenever sslrootcert exists).  Options: user, dbname (default
postgres), sslmode (default require), host (default 127.0.0.1), extra (text
appended to the string).

=cut

sub client_connstr
{
	my ($node, $certname, %opts) = @_;
	my $none = _scratch() . '/nonexistent';
	my ($cert, $key) = ($none, $none);
	if (defined $certname)
	{
		$cert = cert_path($certname, 'crt');
		$key = _private_key(cert_path($certname, 'key'));
	}
	my %kv = (
		host        => $opts{host} // '127.0.0.1',
		port        => $node->port,
		dbname      => $opts{dbname} // 'postgres',
		sslmode     => $opts{sslmode} // 'require',
		sslcert     => $cert,
		sslkey      => $key,
		sslrootcert => $opts{sslrootcert} // pki_dir() . '/root_ca.crt',
		sslcrl      => $none,
		sslcrldir   => $none,);
	$kv{user} = $opts{user} if defined $opts{user};
	my $str = join ' ',
	  map { "$_=" . _cq($kv{$_}) }
	  grep { exists $kv{$_} }
	  qw(host port dbname user sslmode sslcert sslkey sslrootcert sslcrl sslcrldir);
	$str .= " $opts{extra}" if defined $opts{extra};
	return $str;
}

=pod

=item mint_cert(%args)

Mint a certificate now with test/pki/mint.sh, in the scratch directory;
returns the DIR/NAME prefix for client_connstr() and the cert_* helpers.
Arguments (all optional): name, san (a string or an array ref, OpenSSL
syntax such as 'URI:spiffe://example.org/ns/prod/sa/x'), cn, subj, start,
start_offset, end, end_offset (seconds from now; default 86400), ca (default
client_ca), serial, eku ('none' to omit), key (reuse a key file), out (a
directory instead of the scratch directory), ext (an extension line or an
array ref of them, OpenSSL config syntax: AIA, CRL distribution points).

=cut

sub mint_cert
{
	my (%args) = @_;
	my $name = delete $args{name} // sprintf('minted_%d', ++$counter);
	my $out = delete $args{out} // _scratch();
	my @cmd = ("$PKI_HOME/mint.sh", '--out', $out, '--name', $name,
		'--tmp', _scratch());
	my $san = delete $args{san};
	if (defined $san)
	{
		push @cmd, '--san', $_ for (ref $san ? @$san : ($san));
	}
	my $ext = delete $args{ext};
	push @cmd, '--ext', $_ for (ref $ext ? @$ext : defined $ext ? ($ext) : ());
	my %flag = (
		cn           => '--cn',
		subj         => '--subj',
		start        => '--start',
		start_offset => '--start-offset',
		end          => '--end',
		end_offset   => '--end-offset',
		ca           => '--ca',
		serial       => '--serial',
		eku          => '--eku',
		key          => '--key');
	for my $k (sort keys %args)
	{
		croak "mint_cert: unknown argument '$k'" unless $flag{$k};
		my $v = $args{$k};
		$v = cert_path($v, 'key') if $k eq 'key' && $v !~ m{/};
		push @cmd, $flag{$k}, $v;
	}
	_run(@cmd);
	return "$out/$name";
}

=pod

=item qi($name), ql($text)

SQL quoting: an identifier in double quotes, a literal in single quotes.

=cut

sub qi { my ($s) = @_; $s =~ s/"/""/g; return qq{"$s"}; }
sub ql { my ($s) = @_; $s =~ s/'/''/g; return qq{'$s'}; }

=pod

=item bind_role($node, $role, @bindings)

Create login role $role unless it exists, then bind each binding to it: a
binding is "kind:pattern" or [ "kind:pattern", issuer ].

=cut

sub bind_role
{
	my ($node, $role, @bindings) = @_;
	$node->safe_psql('postgres',
		"SELECT 1 FROM pg_roles WHERE rolname = " . ql($role))
	  or $node->safe_psql('postgres', 'CREATE ROLE ' . qi($role) . ' LOGIN');
	for my $b (@bindings)
	{
		my ($identity, $issuer) = ref $b ? @$b : ($b);
		$node->safe_psql('postgres',
			    'SELECT mtls_ident.bind('
			  . ql(qi($role)) . ', '
			  . ql($identity)
			  . (defined $issuer ? ', ' . ql($issuer) : '')
			  . ')');
	}
	return;
}

=pod

=item login_accepted($node, $connstr, $role, $identity, $name)

A login as $role on $connstr that mtls_ident decides and accepts: the
session's identity is $identity (undef: none), and the server logs the
accepted login with that identity.

=cut

sub login_accepted
{
	my ($node, $connstr, $role, $identity, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $id_log = $identity // 'none';
	my $id_out = $identity // '';
	$node->connect_ok(
		$connstr, $name,
		sql             => 'SELECT mtls_ident.session_identity()',
		expected_stdout => qr/\A\Q$id_out\E\z/,
		log_like        => [
			qr/mtls_ident: accepted login of role "\Q$role\E"/,
			qr/outcome=accept reason=ok role="\Q$role\E" database="[^"]*" client=\S+ identity=\Q$id_log\E /
		]);
	return;
}

=pod

=item login_refused($node, $connstr, $role, $reason, $name)

A login as $role on $connstr that mtls_ident refuses: the client sees only
the generic message, the server log says $reason.

=cut

sub login_refused
{
	my ($node, $connstr, $role, $reason, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	$node->connect_fails(
		$connstr, $name,
		expected_stderr =>
		  qr/FATAL:  certificate authentication failed for user "\Q$role\E"/,
		log_like =>
		  [qr/outcome=reject reason=\Q$reason\E role="\Q$role\E" /]);
	return;
}

=pod

=item cert_accepted($node, $cert, $role, $identity, $name, %opts)

=item cert_refused($node, $cert, $role, $reason, $name, %opts)

login_accepted / login_refused over TCP with TLS, presenting $cert
(%opts go to client_connstr).

=cut

sub cert_accepted
{
	my ($node, $cert, $role, $identity, $name, %opts) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	login_accepted($node, client_connstr($node, $cert, user => $role, %opts),
		$role, $identity, $name);
	return;
}

sub cert_refused
{
	my ($node, $cert, $role, $reason, $name, %opts) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	login_refused($node, client_connstr($node, $cert, user => $role, %opts),
		$role, $reason, $name);
	return;
}

=pod

=item make_crl(%args)

Write a CRL with test/pki/crl.sh and return its path.  Arguments: ca
(default client_ca), revoke (array ref of certificate names or prefixes;
default none: an empty CRL), out (default a new file in the scratch
directory; an existing file is replaced atomically), bundle (default 1:
append the committed empty CRLs of the other CAs among root_ca, client_ca
and root2_ca, because PostgreSQL wants a CRL for every CA of a chain), days
(nextUpdate, default 36500).

=cut

sub make_crl
{
	my (%args) = @_;
	my $ca = $args{ca} // 'client_ca';
	my $out = $args{out} // sprintf('%s/crl_%d.crl', _scratch(), ++$counter);
	my $bundle = $args{bundle} // 1;
	my $tmp = sprintf('%s/crl_tmp_%d.crl', _scratch(), ++$counter);

	my @cmd = ("$PKI_HOME/crl.sh", '--out', $tmp, '--ca', $ca, '--tmp',
		_scratch());
	push @cmd, '--days', $args{days} if defined $args{days};
	push @cmd, '--revoke', cert_path($_, 'leaf') for @{ $args{revoke} // [] };
	_run(@cmd);

	my $text = slurp_file($tmp);
	unlink $tmp;
	if ($bundle)
	{
		for my $other (qw(root_ca client_ca root2_ca))
		{
			next if $other eq $ca;
			$text .= slurp_file(pki_dir() . "/$other.crl");
		}
	}

	# Atomic replacement: write next to the target, then rename.
	my $new = "$out.new.$$";
	open my $fh, '>', $new or croak "$new: $!";
	print $fh $text;
	close $fh or croak "$new: $!";
	rename $new, $out or croak "renaming $new to $out: $!";
	return $out;
}

=pod

=back

=cut

1;
