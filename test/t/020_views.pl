# Views and SQL functions read back with real certificates: sessions,
# session_identity(), session_sans(), auth_log, stats, reset_stats(),
# cert_info(), check(), visibility as ordinary and monitoring roles, and the
# row-level-security example of doc/views.md.  Every certificate fact is
# compared with what `openssl x509` says of the certificate.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

use Carp;
use IPC::Run;
use JSON::PP;
use Socket qw(AF_INET AF_INET6 inet_pton inet_ntop);
use Time::Local qw(timegm);

# ---------------------------------------------------------------------------
# A live psql session over any connection string (TLS with a certificate).
# ---------------------------------------------------------------------------
{

	package LiveSession;

	use Carp;
	use IPC::Run;

	sub start
	{
		my ($class, $node, $connstr) = @_;
		my $self = bless { in => '', out => '', err => '', n => 0 }, $class;
		$self->{timer} =
		  IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
		my @cmd = ($node->installed_command('psql'),
			'-XAtq', '-v', 'VERBOSITY=default', '-d', $connstr, '-f', '-');
		$self->{h} = IPC::Run::start(\@cmd, '<', \$self->{in}, '>',
			\$self->{out}, '2>', \$self->{err}, $self->{timer});
		my ($out, $err) = $self->query('SELECT pg_backend_pid()');
		croak "session did not start: $err" unless $out =~ /^(\d+)$/;
		$self->{pid} = $1;
		return $self;
	}

	sub pid { return $_[0]->{pid}; }

	# (stdout, stderr) of one statement
	sub query
	{
		my ($self, $sql) = @_;
		my $mark = sprintf('__live_session_mark_%d__', ++$self->{n});
		$self->{out} = '';
		$self->{err} = '';
		$self->{timer}->start($PostgreSQL::Test::Utils::timeout_default);
		$self->{in} .= "$sql;\n\\echo $mark\n\\warn $mark\n";
		while ($self->{out} !~ /\Q$mark\E\n/ || $self->{err} !~ /\Q$mark\E\n/)
		{
			last if $self->{timer}->is_expired;
			last unless $self->{h}->pumpable;
			eval { $self->{h}->pump; };
		}
		croak "psql timed out running: $sql" if $self->{timer}->is_expired;
		my ($out, $err) = ($self->{out}, $self->{err});
		$out =~ s/\Q$mark\E\n//;
		$err =~ s/\Q$mark\E\n//;
		chomp $out;
		return wantarray ? ($out, $err) : $out;
	}

	sub quit
	{
		my ($self) = @_;
		$self->{in} .= "\\q\n";
		eval { $self->{h}->finish; };
		return;
	}
}

# ---------------------------------------------------------------------------
# What OpenSSL says of a certificate
# ---------------------------------------------------------------------------
my %month = (
	Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
	Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
my %eku_short = (
	'TLS Web Client Authentication' => 'clientAuth',
	'TLS Web Server Authentication' => 'serverAuth',
	'Any Extended Key Usage'        => 'anyExtendedKeyUsage',
	'Code Signing'                  => 'codeSigning',
	'E-mail Protection'             => 'emailProtection',);

sub openssl_date
{
	my ($s) = @_;
	$s =~ /^(\w{3})\s+(\d+) (\d+):(\d+):(\d+) (\d{4}) GMT$/
	  or croak "unexpected openssl date: $s";
	return timegm($5, $4, $3, $2, $month{$1}, $6);
}

sub typed_san
{
	my ($s) = @_;
	return "dns:$1"   if $s =~ /^DNS:(.*)$/s;
	return "uri:$1"   if $s =~ /^URI:(.*)$/s;
	return "email:$1" if $s =~ /^email:(.*)$/s;
	if ($s =~ /^IP Address:(.*)$/s)
	{
		my $a = $1;
		my $fam = $a =~ /:/ ? AF_INET6 : AF_INET;
		return 'ip:' . inet_ntop($fam, inet_pton($fam, $a));
	}
	croak "unexpected SAN from openssl: $s";
}

sub openssl_facts
{
	my ($name) = @_;
	my $file = cert_path($name, 'leaf');
	my ($out) = run_command(
		[
			'openssl', 'x509', '-in', $file, '-noout', '-nameopt', 'RFC2253',
			'-subject', '-issuer', '-serial', '-fingerprint', '-sha256',
			'-startdate', '-enddate'
		]);
	my %f;
	for my $line (split /\n/, $out)
	{
		$f{subject}     = $1 if $line =~ /^subject=(.*)$/;
		$f{issuer}      = $1 if $line =~ /^issuer=(.*)$/;
		$f{serial}      = $1 if $line =~ /^serial=(.*)$/;
		$f{fingerprint} = lc($1 =~ s/://gr)
		  if $line =~ /^sha256 Fingerprint=(.*)$/i;
		$f{not_before} = openssl_date($1) if $line =~ /^notBefore=(.*)$/;
		$f{not_after}  = openssl_date($1) if $line =~ /^notAfter=(.*)$/;
	}
	croak "openssl output incomplete for $name: $out"
	  unless 6 == grep { defined $f{$_} }
	  qw(subject issuer serial fingerprint not_before not_after);

	my ($ext) =
	  run_command([ 'openssl', 'x509', '-in', $file, '-noout', '-ext',
			'subjectAltName' ]);
	$f{sans} = [];
	if ($ext =~ /X509v3 Subject Alternative Name:\s*\n\s+(.*)$/m)
	{
		$f{sans} = [ map { typed_san($_) } split /, /, $1 ];
	}
	($ext) =
	  run_command([ 'openssl', 'x509', '-in', $file, '-noout', '-ext',
			'extendedKeyUsage' ]);
	$f{eku} = undef;
	if ($ext =~ /X509v3 Extended Key Usage:.*\n\s+(.*)$/m)
	{
		$f{eku} =
		  [ map { $eku_short{$_} // croak "unknown EKU $_" } split /, /, $1 ];
	}
	return \%f;
}

# ---------------------------------------------------------------------------
# The node
# ---------------------------------------------------------------------------
my $node = new_node(
	'views',
	conf => "max_connections = 40\n"
	  . "mtls_ident.expiry_warning = 0\n"
	  . "mtls_ident.enforce_interval = '1s'\n",
	hba => "hostssl nocertdb all 127.0.0.1/32 trust\n"
	  . "hostssl certdb all 127.0.0.1/32 cert\n"
	  . "hostssl all all 127.0.0.1/32 trust clientcert=verify-ca");
$node->start;

my $json = JSON::PP->new->allow_nonref;

sub sql { return $node->safe_psql('postgres', $_[0]); }
sub jsql { return $json->decode(sql($_[0])); }

my $SPIFFE_BILLING = 'uri:spiffe://example.org/ns/prod/sa/billing';
my $ROOT_DN        = 'CN=mtls_ident test root CA,O=mtls_ident test';
my $ROOT2_DN       = 'CN=mtls_ident test root CA 2,O=mtls_ident test';
my $LONG_DN =
  'CN=a-rather-long-service-account-name.prod.example.com,'
  . 'OU=Platform Engineering and Operations,O=Example Corporation Worldwide';

sql(<<"EOSQL");
CREATE EXTENSION mtls_ident;
CREATE DATABASE nocertdb;
CREATE DATABASE certdb;
CREATE ROLE billing LOGIN;
CREATE ROLE multi LOGIN;
CREATE ROLE longdn LOGIN;
CREATE ROLE many300 LOGIN;
CREATE ROLE many3000 LOGIN;
CREATE ROLE nobind LOGIN;
CREATE ROLE pinned LOGIN;
CREATE ROLE pinroot LOGIN;
CREATE ROLE plain LOGIN;
CREATE ROLE "legacy-app" LOGIN;
CREATE ROLE monitor LOGIN;
CREATE ROLE billing_team LOGIN;
GRANT pg_read_all_stats TO monitor;
GRANT billing TO billing_team;
SELECT mtls_ident.bind('billing', '$SPIFFE_BILLING');
SELECT mtls_ident.bind('multi', 'email:multi\@example.com');
SELECT mtls_ident.bind('longdn', 'dn:$LONG_DN');
SELECT mtls_ident.bind('many300', '$SPIFFE_BILLING');
SELECT mtls_ident.bind('many3000', 'dns:host-2999.example.com');
SELECT mtls_ident.bind('pinned', '$SPIFFE_BILLING', '$ROOT2_DN');
SELECT mtls_ident.bind('pinroot', '$SPIFFE_BILLING', '$ROOT_DN');
SELECT mtls_ident.bind('plain', 'dns:db.example.com');
EOSQL
$node->safe_psql($_, 'CREATE EXTENSION mtls_ident') for qw(nocertdb certdb);

sub connstr_as
{
	my ($cert, $role, %o) = @_;
	return client_connstr($node, $cert, user => $role, %o);
}

# A Unix-socket connection string for a role
sub local_connstr
{
	my ($role, $db) = @_;
	return $node->connstr($db // 'postgres') . " user=$role";
}

sub local_psql
{
	my ($role, $query) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', $query, connstr => local_connstr($role));
	return ($ret, $out, $err);
}

# ---------------------------------------------------------------------------
# The views have the columns of SPEC section 5
# ---------------------------------------------------------------------------
my %want_cols = (
	sessions => 'pid integer, role name, database name, client_addr inet, '
	  . 'identity text, subject text, issuer text, serial text, '
	  . 'fingerprint text, sans text[], '
	  . 'not_before timestamp with time zone, '
	  . 'not_after timestamp with time zone, '
	  . 'authenticated_at timestamp with time zone, sans_truncated boolean',
	auth_log => 'at timestamp with time zone, pid integer, client_addr inet, '
	  . 'role name, database name, outcome text, reason text, identity text, '
	  . 'subject text, issuer text, serial text, fingerprint text, '
	  . 'sans text[], not_after timestamp with time zone',
	stats    => 'outcome text, reason text, count bigint',
	bindings => 'role name, identity text, issuer text, '
	  . 'revoked_before timestamp with time zone',);
for my $v (sort keys %want_cols)
{
	is( sql(
			"SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) "
			  . "FROM pg_attribute WHERE attrelid = 'mtls_ident.$v'::regclass AND attnum > 0"
		),
		$want_cols{$v},
		"view $v has the documented columns");
}

# ---------------------------------------------------------------------------
# sessions, session_identity(), session_sans(): live sessions vs openssl
# ---------------------------------------------------------------------------
my $SESS_COLS = q{json_build_object(
	'pid', pid, 'role', role, 'database', database,
	'client_addr', host(client_addr), 'identity', identity,
	'subject', subject, 'issuer', issuer, 'serial', serial,
	'fingerprint', fingerprint, 'sans', sans,
	'not_before', extract(epoch FROM not_before)::bigint,
	'not_after', extract(epoch FROM not_after)::bigint,
	'authenticated_at', authenticated_at,
	'sans_truncated', sans_truncated)};

sub session_row
{
	my ($pid) = @_;
	my $r = sql("SELECT $SESS_COLS FROM mtls_ident.sessions WHERE pid = $pid");
	return $r eq '' ? undef : $json->decode($r);
}

my %live;    # name => LiveSession
my @cases = (
	# cert, role, identity expected
	[ 'spiffe_billing', 'billing',  $SPIFFE_BILLING ],
	[ 'multi_san',      'multi',    'email:multi@example.com' ],
	[ 'dn_long',        'longdn',   "dn:$LONG_DN" ],
	[ 'many_sans_300',  'many300',  $SPIFFE_BILLING ],
	[ 'many_sans_3000', 'many3000', 'dns:host-2999.example.com' ],);

for my $c (@cases)
{
	my ($cert, $role, $identity) = @$c;
	my $f = openssl_facts($cert);
	my $before = sql('SELECT clock_timestamp()');
	my $s = LiveSession->start($node, connstr_as($cert, $role));
	$live{$cert} = $s;
	my $pid = $s->pid;

	my $r = session_row($pid);
	ok(defined $r, "$cert: the live session has a row in sessions");
	next unless defined $r;
	is($r->{pid},         $pid,          "$cert: pid is the backend pid");
	is($r->{role},        $role,         "$cert: role");
	is($r->{database},    'postgres',    "$cert: database");
	is($r->{client_addr}, '127.0.0.1',   "$cert: client_addr");
	is($r->{identity},    $identity,     "$cert: identity is the SAN that matched");
	is($r->{subject},     $f->{subject}, "$cert: subject as openssl prints it");
	is($r->{issuer},      $f->{issuer},  "$cert: issuer as openssl prints it");
	is($r->{serial},      $f->{serial},  "$cert: serial as openssl prints it");
	is($r->{fingerprint}, $f->{fingerprint}, "$cert: fingerprint");
	is($r->{not_before},  $f->{not_before},  "$cert: not_before");
	is($r->{not_after},   $f->{not_after},   "$cert: not_after");
	is( sql(
			"SELECT authenticated_at >= '$before'::timestamptz AND authenticated_at <= clock_timestamp() "
			  . "AND authenticated_at >= backend_start "
			  . "FROM mtls_ident.sessions JOIN pg_stat_activity USING (pid) WHERE pid = $pid"
		),
		't',
		"$cert: authenticated_at is the login time");
	is( sql(
			"SELECT s.client_addr = a.client_addr AND s.role = a.usename AND s.database = a.datname "
			  . "FROM mtls_ident.sessions s JOIN pg_stat_activity a USING (pid) WHERE pid = $pid"
		),
		't',
		"$cert: client_addr, role and database agree with pg_stat_activity");

	# in the session itself
	is($s->query('SELECT mtls_ident.session_identity()'),
		$identity, "$cert: session_identity() in the session");
	my $ss = $json->decode(
		$s->query('SELECT array_to_json(mtls_ident.session_sans())'));
	is_deeply($ss, $f->{sans},
		"$cert: session_sans() is every SAN, in certificate order ("
		  . scalar(@{ $f->{sans} }) . ")");

	if ($cert eq 'many_sans_3000')
	{
		ok($r->{sans_truncated}, "$cert: sans_truncated is true");
		ok((grep { $_ eq $identity } @{ $r->{sans} }),
			"$cert: the truncated sans still contain the matched SAN");
		cmp_ok(scalar @{ $r->{sans} }, '<', 3000,
			"$cert: sans was cut (" . scalar(@{ $r->{sans} }) . " kept)");
		cmp_ok(scalar @{ $r->{sans} }, '>=', 300,
			"$cert: several hundred SANs kept");
		# what is kept, apart from the matched SAN, is the beginning of the
		# certificate's list, in order
		my @rest = grep { $_ ne $identity } @{ $r->{sans} };
		is_deeply(\@rest, [ @{ $f->{sans} }[ 0 .. $#rest ] ],
			"$cert: the other SANs kept are the first ones, in certificate order");
	}
	else
	{
		is_deeply($r->{sans}, $f->{sans},
			"$cert: sans are every SAN, typed, in certificate order");
		ok(!$r->{sans_truncated}, "$cert: sans_truncated is false");
	}
}

is(scalar @{ openssl_facts('many_sans_300')->{sans} },
	301, 'many_sans_300 has 301 SANs according to openssl');
is(scalar @{ openssl_facts('many_sans_3000')->{sans} },
	3000, 'many_sans_3000 has 3000 SANs according to openssl');

# dn_long: the full subject, beyond pg_stat_ssl's 63 bytes
{
	my $pid = $live{dn_long}->pid;
	is( sql(
			"SELECT octet_length(s.subject) > 63 AND octet_length(l.client_dn) <= 63 "
			  . "FROM mtls_ident.sessions s JOIN pg_stat_ssl l USING (pid) WHERE pid = $pid"
		),
		't',
		'dn_long: sessions.subject is longer than pg_stat_ssl.client_dn (63 bytes)');
	is(sql("SELECT subject FROM mtls_ident.sessions WHERE pid = $pid"),
		$LONG_DN, 'dn_long: subject in full');
}

# A certificate admitted by PostgreSQL itself (cert method, role without
# bindings): a row without identity.
{
	my $f = openssl_facts('cn_legacy');
	my $s = LiveSession->start($node,
		connstr_as('cn_legacy', 'legacy-app', dbname => 'certdb'));
	my $r = session_row($s->pid);
	ok(defined $r, 'cert-method session (no binding) has a row in sessions');
	if (defined $r)
	{
		is($r->{identity}, undef, 'cert-method session: identity is NULL');
		is($r->{subject},  $f->{subject}, 'cert-method session: subject');
		is($r->{database}, 'certdb', 'cert-method session: database');
		is_deeply($r->{sans}, [], 'cert-method session: no SANs');
	}
	is($s->query(
			'SELECT mtls_ident.session_identity() IS NULL, array_to_json(mtls_ident.session_sans())'),
		't|[]',
		'cert-method session: session_identity() NULL, session_sans() empty');
	$s->quit;
}

# No certificate: Unix socket and TLS without a client certificate
is( sql(
		'SELECT mtls_ident.session_identity() IS NULL AND mtls_ident.session_sans() IS NULL'),
	't',
	'Unix-socket session: session_identity() and session_sans() are NULL');
{
	my ($ret, $out, $err) = local_psql('billing',
		'SELECT mtls_ident.session_identity() IS NULL AND mtls_ident.session_sans() IS NULL'
	);
	is($out, 't',
		'Unix-socket session of a bound role: session_identity() and session_sans() are NULL');
	my $s = LiveSession->start($node,
		connstr_as(undef, 'nobind', dbname => 'nocertdb'));
	is( $s->query(
			'SELECT mtls_ident.session_identity() IS NULL AND mtls_ident.session_sans() IS NULL'
		),
		't',
		'TLS session without a certificate: both NULL');
	is(sql("SELECT count(*) FROM mtls_ident.sessions WHERE pid = " . $s->pid),
		'0', 'TLS session without a certificate: no row in sessions');
	$s->quit;
}

# ---------------------------------------------------------------------------
# Visibility
# ---------------------------------------------------------------------------
my $plain = LiveSession->start($node, connstr_as('dns_db', 'plain'));
my @all_pids = sort { $a <=> $b } ((map { $_->pid } values %live), $plain->pid);
is(sql('SELECT string_agg(pid::text, \',\' ORDER BY pid) FROM mtls_ident.sessions'),
	join(',', @all_pids), 'the superuser sees every live certificate session');

is($plain->query('SELECT string_agg(pid::text, \',\') FROM mtls_ident.sessions'),
	$plain->pid, 'an ordinary role sees only its own session in sessions');
{
	my ($ret, $out, $err) = local_psql('plain',
		'SELECT string_agg(role, \',\') FROM mtls_ident.sessions');
	is($out, 'plain',
		'an ordinary role on a Unix socket sees its own role\'s sessions only');
}
for my $q (
	[ 'SELECT count(*) FROM mtls_ident.auth_log', qr/permission denied for view auth_log/ ],
	[ 'SELECT count(*) FROM mtls_ident.stats',    qr/permission denied for view stats/ ],
	[ 'SELECT mtls_ident.reset_stats()', qr/permission denied for function reset_stats/ ],
	[ 'SELECT count(*) FROM mtls_ident._auth_log()', qr/permission denied for function _auth_log/ ],
	[ 'SELECT count(*) FROM mtls_ident._stats()',    qr/permission denied for function _stats/ ],)
{
	my ($out, $err) = $plain->query($q->[0]);
	like($err, $q->[1], "ordinary role: $q->[0] is refused");
	is($out, '', "ordinary role: $q->[0] returns nothing");
}

# A member of billing has billing's privileges: it sees billing's sessions.
{
	my ($ret, $out, $err) = local_psql('billing_team',
		'SELECT string_agg(pid::text, \',\') FROM mtls_ident.sessions');
	is($out, $live{spiffe_billing}->pid,
		'a member of billing sees billing\'s sessions and no others');
}

# pg_read_all_stats sees everything and reads auth_log and stats
{
	my ($ret, $out, $err) = local_psql('monitor',
		'SELECT string_agg(pid::text, \',\' ORDER BY pid) FROM mtls_ident.sessions');
	is($out, join(',', @all_pids), 'pg_read_all_stats member sees all sessions');
	($ret, $out, $err) = local_psql('monitor',
		'SELECT count(*), count(DISTINCT role) FROM mtls_ident.auth_log');
	is($ret, 0, 'pg_read_all_stats member reads auth_log');
	is($out, sql('SELECT count(*), count(DISTINCT role) FROM mtls_ident.auth_log'),
		'pg_read_all_stats member sees every auth_log event');
	($ret, $out, $err) = local_psql('monitor', 'SELECT sum(count) FROM mtls_ident.stats');
	is($ret, 0, 'pg_read_all_stats member reads stats');
	is($out, sql('SELECT sum(count) FROM mtls_ident.stats'),
		'pg_read_all_stats member sees the same counters');
	($ret, $out, $err) = local_psql('monitor', 'SELECT mtls_ident.reset_stats()');
	like($err, qr/permission denied for function reset_stats/,
		'reset_stats() is not for pg_read_all_stats members unless granted');
}

# ---------------------------------------------------------------------------
# auth_log: each attempt leaves one event
# ---------------------------------------------------------------------------
my $EV_COLS = q{json_build_object(
	'at_ok', at <= clock_timestamp(), 'pid', pid,
	'client_addr', host(client_addr), 'role', role, 'database', database,
	'outcome', outcome, 'reason', reason, 'identity', identity,
	'subject', subject, 'issuer', issuer, 'serial', serial,
	'fingerprint', fingerprint, 'sans', sans,
	'not_after', extract(epoch FROM not_after)::bigint)};

sub log_count { return sql('SELECT count(*) FROM mtls_ident.auth_log'); }

sub events_since
{
	my ($n) = @_;
	return jsql("SELECT coalesce(json_agg(e), '[]') FROM "
		  . "(SELECT $EV_COLS AS e FROM mtls_ident.auth_log OFFSET $n) x");
}

# Run $code (one login attempt), return the single new event (or undef).
sub one_event
{
	my ($label, $code) = @_;
	my $n = log_count();
	$code->();
	my $ev = events_since($n);
	is(scalar @$ev, 1, "$label: exactly one auth_log event");
	return $ev->[0];
}

sub check_cert_columns
{
	my ($label, $ev, $cert) = @_;
	my $f = openssl_facts($cert);
	is($ev->{subject},     $f->{subject},     "$label: event subject");
	is($ev->{issuer},      $f->{issuer},      "$label: event issuer");
	is($ev->{serial},      $f->{serial},      "$label: event serial");
	is($ev->{fingerprint}, $f->{fingerprint}, "$label: event fingerprint");
	is($ev->{not_after},   $f->{not_after},   "$label: event not_after");
	is_deeply($ev->{sans}, $f->{sans}, "$label: event sans");
	return;
}

sub refused_login
{
	my ($label, $cert, $role, $reason, %o) = @_;
	my $db = $o{dbname} // 'postgres';
	my $ev = one_event(
		$label,
		sub {
			$node->connect_fails(
				connstr_as($cert, $role, dbname => $db),
				"$label: login refused",
				expected_stderr =>
				  qr/certificate authentication failed for user "\Q$role\E"/,
				log_like => [qr/outcome=reject reason=$reason role="\Q$role\E"/]);
		});
	return unless $ev;
	is($ev->{outcome},     'reject',    "$label: outcome reject");
	is($ev->{reason},      $reason,     "$label: reason $reason");
	is($ev->{role},        $role,       "$label: role");
	is($ev->{database},    $db,         "$label: database");
	is($ev->{client_addr}, '127.0.0.1', "$label: client_addr");
	ok($ev->{at_ok}, "$label: at is in the past");
	like($ev->{pid}, qr/^\d+$/, "$label: pid");
	return $ev;
}

sub accepted_login
{
	my ($label, $cert, $role, $identity, %o) = @_;
	my $db = $o{dbname} // 'postgres';
	my $pid;
	my $ev = one_event(
		$label,
		sub {
			my ($ret, $out, $err) = $node->psql(
				'postgres', 'SELECT pg_backend_pid()',
				connstr => connstr_as($cert, $role, dbname => $db));
			is($ret, 0, "$label: login accepted") or diag $err;
			$pid = $out;
		});
	return unless $ev;
	is($ev->{outcome},     $o{outcome} // 'accept', "$label: outcome");
	is($ev->{reason},      $o{reason} // 'ok',      "$label: reason");
	is($ev->{identity},    $identity,               "$label: identity");
	is($ev->{role},        $role,                   "$label: role");
	is($ev->{database},    $db,                     "$label: database");
	is($ev->{client_addr}, '127.0.0.1',             "$label: client_addr");
	is($ev->{pid},         $pid,                    "$label: pid is the backend's");
	return $ev;
}

{
	my $ev = accepted_login('accept spiffe_billing', 'spiffe_billing', 'billing',
		$SPIFFE_BILLING);
	check_cert_columns('accept spiffe_billing', $ev, 'spiffe_billing') if $ev;

	$ev = accepted_login('accept multi_san', 'multi_san', 'multi',
		'email:multi@example.com');
	check_cert_columns('accept multi_san', $ev, 'multi_san') if $ev;

	$ev = accepted_login('accept dn_long', 'dn_long', 'longdn', "dn:$LONG_DN");
	check_cert_columns('accept dn_long', $ev, 'dn_long') if $ev;

	$ev = accepted_login('accept many_sans_300', 'many_sans_300', 'many300',
		$SPIFFE_BILLING);
	if ($ev)
	{
		my $f = openssl_facts('many_sans_300');
		is($ev->{fingerprint}, $f->{fingerprint}, 'accept many_sans_300: fingerprint');
		my $n = scalar @{ $ev->{sans} };
		cmp_ok($n, '>', 0, "accept many_sans_300: event keeps SANs ($n)");
		is_deeply($ev->{sans}, [ @{ $f->{sans} }[ 0 .. $n - 1 ] ],
			'accept many_sans_300: event SANs are the first ones, in order');
	}

	$ev = accepted_login('cert method, no binding', 'cn_legacy', 'legacy-app',
		undef, dbname => 'certdb');
	check_cert_columns('cert method, no binding', $ev, 'cn_legacy') if $ev;

	$ev = refused_login('no_match', 'spiffe_other', 'billing', 'no_match');
	if ($ev)
	{
		check_cert_columns('no_match', $ev, 'spiffe_other');
		is($ev->{identity}, undef, 'no_match: no identity');
	}
	$ev = refused_login('no_binding', 'spiffe_billing', 'nobind', 'no_binding');
	check_cert_columns('no_binding', $ev, 'spiffe_billing') if $ev;
	$ev = refused_login('issuer_mismatch', 'spiffe_billing', 'pinned',
		'issuer_mismatch');
	check_cert_columns('issuer_mismatch', $ev, 'spiffe_billing') if $ev;
	$ev = refused_login('no_certificate', undef, 'billing', 'no_certificate',
		dbname => 'nocertdb');
	if ($ev)
	{
		is($ev->{$_}, undef, "no_certificate: $_ is NULL")
		  for qw(identity subject issuer serial fingerprint sans not_after);
	}

	# the client learns nothing about the bindings
	my ($ret, $out, $err) =
	  $node->psql('postgres', 'SELECT 1', connstr => connstr_as('spiffe_other', 'billing'));
	unlike($err, qr/no_match|binding|spiffe/,
		'a refused client is not told the reason nor the bindings');
	like($err, qr/certificate authentication failed for user "billing"/,
		'a refused client gets the generic message');
}

# audit mode: would_reject, the connection gets in
sub set_mode
{
	my ($mode) = @_;
	$node->append_conf('postgresql.conf', "mtls_ident.mode = '$mode'\n");
	$node->reload;
	ok($node->poll_query_until('postgres', 'SHOW mtls_ident.mode', $mode),
		"mode is now $mode");
	return;
}
set_mode('audit');
{
	my $ev = accepted_login('audit no_match', 'spiffe_other', 'billing', undef,
		outcome => 'would_reject', reason => 'no_match');
	check_cert_columns('audit no_match', $ev, 'spiffe_other') if $ev;
	$ev = accepted_login('audit no_binding', 'spiffe_billing', 'nobind', undef,
		outcome => 'would_reject', reason => 'no_binding');
	$ev = accepted_login('audit ok', 'spiffe_billing', 'billing', $SPIFFE_BILLING);

	my $s = LiveSession->start($node, connstr_as('spiffe_other', 'billing'));
	is( $s->query(
			'SELECT mtls_ident.session_identity() IS NULL, array_to_json(mtls_ident.session_sans())'
		),
		't|["uri:spiffe://other.org/ns/prod/sa/billing"]',
		'audit mode, would-be-refused session: no identity, its SANs');
	my $r = session_row($s->pid);
	ok(defined $r && !defined $r->{identity},
		'audit mode, would-be-refused session: in sessions without identity');
	$s->quit;
}
set_mode('enforce');

# ---------------------------------------------------------------------------
# stats
# ---------------------------------------------------------------------------
my @reasons = qw(no_binding no_match issuer_mismatch no_certificate revoked
  issued_before_cutoff expired not_client_auth lifetime_too_long
  no_role ocsp_unknown ocsp_unavailable);

sub stats
{
	return jsql(
		"SELECT coalesce(json_object_agg(outcome || '/' || reason, count), '{}') FROM mtls_ident.stats"
	);
}

{
	my $st = stats();
	my @want = ('accept/ok', map { ("reject/$_", "would_reject/$_") } @reasons);
	is_deeply([ sort keys %$st ], [ sort @want ],
		'stats has one row per outcome and reason, zeros included');
	ok((grep { $st->{$_} > 0 } keys %$st), 'stats counted the attempts so far');

	# exact deltas
	# 3 TLS logins and 1 Unix-socket login of a bound role (exempt_local:
	# a decision of mtls_ident too, see below)
	my %attempts = (
		'accept/ok'             => 4,
		'reject/no_match'       => 2,
		'reject/no_binding'     => 1,
		'reject/issuer_mismatch' => 1,
		'reject/no_certificate' => 1,);
	my $before = stats();
	for (1 .. 3)
	{
		$node->connect_ok(connstr_as('spiffe_billing', 'billing'),
			"stats: accepted login $_");
	}
	$node->connect_fails(connstr_as('spiffe_other', 'billing'), "stats: no_match $_")
	  for (1 .. 2);
	$node->connect_fails(connstr_as('spiffe_billing', 'nobind'), 'stats: no_binding');
	$node->connect_fails(connstr_as('spiffe_billing', 'pinned'),
		'stats: issuer_mismatch');
	$node->connect_fails(connstr_as(undef, 'billing', dbname => 'nocertdb'),
		'stats: no_certificate');
	# a Unix-socket login of a bound role is let in by exempt_local: one
	# event, accept/ok, without address or certificate
	my $ev = one_event('Unix-socket login of a bound role',
		sub { local_psql('billing', 'SELECT 1'); });
	is_deeply(
		[ map { $ev->{$_} } qw(outcome reason role client_addr identity fingerprint sans) ],
		[ 'accept', 'ok', 'billing', undef, undef, undef, undef ],
		'Unix-socket login of a bound role: accept/ok, no address, no certificate'
	) if $ev;
	# logins of unbound roles without a certificate (Unix socket, TLS) are
	# no decision of mtls_ident: no event
	my $n = log_count();
	local_psql('nobind', 'SELECT 1');
	$node->psql('postgres', 'SELECT 1',
		connstr => connstr_as(undef, 'nobind', dbname => 'nocertdb'));
	is(log_count(), $n, 'logins of an unbound role without certificate leave no event');
	my $after = stats();
	my %delta = map { $_ => $after->{$_} - $before->{$_} } keys %$after;
	my %want_delta = map { $_ => $attempts{$_} // 0 } keys %$after;
	is_deeply(\%delta, \%want_delta,
		'stats changed by exactly the attempts made, per outcome and reason');

	sql('SELECT mtls_ident.reset_stats()');
	$st = stats();
	is_deeply([ grep { $st->{$_} != 0 } sort keys %$st ],
		[], 'reset_stats() zeroes every counter');
	is(scalar keys %$st, scalar @want, 'stats keeps its rows after reset_stats()');

	$node->connect_fails(connstr_as('spiffe_other', 'billing'),
		'stats after reset: one no_match');
	$st = stats();
	is_deeply({ map { $_ => $st->{$_} } grep { $st->{$_} } keys %$st },
		{ 'reject/no_match' => 1 },
		'after reset_stats(), counting starts again from zero');
	cmp_ok(log_count(), '>', 0, 'reset_stats() leaves auth_log alone');
}

# ---------------------------------------------------------------------------
# cert_info() vs openssl
# ---------------------------------------------------------------------------
my $CI_COLS = q{json_build_object(
	'subject', subject, 'issuer', issuer, 'serial', serial,
	'fingerprint', fingerprint,
	'not_before', extract(epoch FROM not_before)::bigint,
	'not_after', extract(epoch FROM not_after)::bigint,
	'sans', sans, 'eku', eku)};

sub cert_info_of
{
	my ($pem) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SELECT $CI_COLS FROM mtls_ident.cert_info(:'pem')",
		extra_params => [ '-v', "pem=$pem" ]);
	return ($ret, $out, $err);
}

for my $name (
	qw(spiffe_billing multi_san dn_long dn_comma dn_alice cn_legacy
	ip4 ip6 email_dave eku_client eku_client_server eku_server_only eku_any
	eku_none root_client root2_client expired_static many_sans_300
	many_sans_3000 hostile_dns_utf8))
{
	my $f = openssl_facts($name);
	my ($ret, $out, $err) = cert_info_of(cert_pem($name));
	is($ret, 0, "cert_info($name) succeeds") or diag $err;
	next if $ret;
	my $ci = $json->decode($out);
	for my $k (qw(subject issuer serial fingerprint not_before not_after))
	{
		is($ci->{$k}, $f->{$k}, "cert_info($name): $k as openssl says");
	}
	if ($name =~ /utf8/)
	{
		# non-ASCII bytes are written as \xNN
		is_deeply($ci->{sans}, ['dns:db.ex\\xc3\\xa4mple.com'],
			"cert_info($name): non-ASCII SAN bytes escaped");
	}
	else
	{
		is_deeply($ci->{sans}, $f->{sans},
			"cert_info($name): sans typed, in certificate order");
	}
	is_deeply($ci->{eku}, $f->{eku}, "cert_info($name): eku");
}

# The PEM bundle leaf + issuer: the first certificate is described
{
	my ($ret, $out) = cert_info_of(slurp_file(cert_path('spiffe_billing', 'crt')));
	my ($ret2, $out2) = cert_info_of(cert_pem('spiffe_billing'));
	is($out, $out2, 'cert_info of leaf + chain describes the leaf');
}

# Garbage: a clear ERROR, the server stays up
my $postmaster_pid = $node->safe_psql('postgres',
	'SELECT pid FROM pg_stat_activity WHERE backend_type = \'checkpointer\'');
{
	my $pem = cert_pem('spiffe_billing');
	my $half = substr($pem, 0, int(length($pem) / 2));
	my $trunc_body = $pem;
	$trunc_body =~ s/(-----BEGIN CERTIFICATE-----\n)(.*)(-----END CERTIFICATE-----)/
	  $1 . substr($2, 0, 100) . "\n" . $3/se;
	my %garbage = (
		'not a pem'            => 'not a pem',
		'empty string'         => '',
		'a private key'        => slurp_file(cert_path('spiffe_billing', 'key')),
		'a truncated PEM'      => $half,
		'a PEM with a truncated body' => $trunc_body,
		'a CRL'                => slurp_file(pki_dir() . '/client_ca.crl'),
		'PEM armour, base64 garbage' =>
		  "-----BEGIN CERTIFICATE-----\nAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n",);
	for my $what (sort keys %garbage)
	{
		for my $fn ('cert_info(:\'pem\')', 'check(:\'pem\', \'billing\')')
		{
			my ($ret, $out, $err) = $node->psql('postgres',
				"SELECT * FROM mtls_ident.$fn",
				extra_params => [ '-v', "pem=$garbage{$what}" ]);
			isnt($ret, 0, "$fn on $what fails");
			like($err, qr/ERROR:  invalid PEM certificate/,
				"$fn on $what: a clear ERROR");
			is($out, '', "$fn on $what: no row");
		}
	}
	my ($ret, $out, $err) =
	  $node->psql('postgres', 'SELECT * FROM mtls_ident.cert_info(NULL)');
	like($err, qr/ERROR/, 'cert_info(NULL) is an ERROR');
}
is($node->safe_psql('postgres',
		'SELECT pid FROM pg_stat_activity WHERE backend_type = \'checkpointer\''),
	$postmaster_pid, 'the server did not restart after garbage input');
is($live{spiffe_billing}->query('SELECT 1'), '1',
	'a live session survived the garbage input');

# ---------------------------------------------------------------------------
# check() gives the login's decision
# ---------------------------------------------------------------------------
sql("SELECT mtls_ident.bind('billing', 'email:eve\@example.com')");
my $chain_root = slurp_file(cert_path('spiffe_billing', 'crt'))
  . slurp_file(pki_dir() . '/root_ca.crt');
for my $c (
	# cert, role, pem (default: the leaf)
	[ 'spiffe_billing', 'billing' ],
	[ 'spiffe_other',   'billing' ],
	[ 'email_eve',      'billing' ],
	[ 'dns_db',         'billing' ],
	[ 'spiffe_billing', 'nobind' ],
	[ 'spiffe_billing', 'pinned' ],
	[ 'spiffe_billing', 'pinroot', $chain_root ],
	[ 'multi_san',      'multi' ],
	[ 'dn_long',        'longdn' ],
	[ 'many_sans_300',  'many300' ],
	[ 'many_sans_3000', 'many3000' ],
	[ 'dns_db',         'plain' ],
	[ 'cn_legacy',      'plain' ],)
{
	my ($cert, $role, $pem) = @$c;
	$pem //= cert_pem($cert);
	my ($ret, $out, $err) = $node->psql('postgres',
		"SELECT json_build_object('allowed', allowed, 'reason', reason, 'identity', identity) "
		  . "FROM mtls_ident.check(:'pem', '$role')",
		extra_params => [ '-v', "pem=$pem" ]);
	is($ret, 0, "check($cert, $role) runs") or diag $err;
	next if $ret;
	my $chk = $json->decode($out);

	my $n = log_count();
	my ($lret) = $node->psql('postgres', 'SELECT 1',
		connstr => connstr_as($cert, $role));
	my $ev = events_since($n);
	is(scalar @$ev, 1, "login $cert as $role: one event");
	next unless @$ev;
	is($chk->{reason}, $ev->[0]{reason},
		"check($cert, $role) gives the login's reason ($chk->{reason})");
	is($chk->{identity}, $ev->[0]{identity},
		"check($cert, $role) gives the login's identity");
	is($chk->{allowed} ? 1 : 0, $lret == 0 ? 1 : 0,
		"check($cert, $role) allowed agrees with the login");
	is($chk->{allowed} ? 'ok' : 'refused', $chk->{reason} eq 'ok' ? 'ok' : 'refused',
		"check($cert, $role): allowed iff reason ok");
}
# documented difference: without the root in the PEM text, a pin on the
# root cannot be seen by check()
is( sql(
		"SELECT reason FROM mtls_ident.check(\$\$" . cert_pem('spiffe_billing') . "\$\$, 'pinroot')"),
	'issuer_mismatch',
	'check() on the leaf alone cannot see a root pin (documented)');
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"SELECT * FROM mtls_ident.check(:'pem', 'no_such_role')",
		extra_params => [ '-v', 'pem=' . cert_pem('spiffe_billing') ]);
	like($err, qr/role "no_such_role" does not exist/,
		'check() with an unknown role: a clear ERROR');
}

# ---------------------------------------------------------------------------
# The row-level-security example of doc/views.md, as written there
# ---------------------------------------------------------------------------
{
	my $doc = slurp_file("$FindBin::RealBin/../../doc/views.md");
	my ($example) = $doc =~ /```sql\n(CREATE TABLE invoices.*?)```/s;
	ok(defined $example, 'doc/views.md has the row-level-security example');
	sql($example);
	sql(    "INSERT INTO invoices VALUES "
		  . "(1, '$SPIFFE_BILLING', 10), (2, '$SPIFFE_BILLING', 20), "
		  . "(3, 'email:eve\@example.com', 30), (4, 'dns:db.example.com', 40)");
	my $q = "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), 'none') FROM invoices";

	my $s = LiveSession->start($node, connstr_as('spiffe_billing', 'billing'));
	is($s->query($q), '1,2', 'RLS: spiffe_billing sees only its rows');
	$s->quit;
	$s = LiveSession->start($node, connstr_as('email_eve', 'billing'));
	is($s->query('SELECT mtls_ident.session_identity()'),
		'email:eve@example.com', 'RLS: another identity of the same role');
	is($s->query($q), '3', 'RLS: another identity sees its own rows only');
	$s->quit;
	my ($ret, $out, $err) = local_psql('billing', $q);
	is($out, 'none', 'RLS: a Unix-socket session sees no rows');
	is(sql($q), '1,2,3,4', 'RLS: the table holds all rows (owner bypasses RLS)');
}

# ---------------------------------------------------------------------------
# After all sessions end, sessions is empty
# ---------------------------------------------------------------------------
$_->quit for values %live;
$plain->quit;
ok($node->poll_query_until('postgres',
		'SELECT count(*) FROM mtls_ident.sessions', '0'),
	'sessions is empty once every session ended');

$node->stop;
done_testing();
