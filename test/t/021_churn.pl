# Churn: many TLS sessions with several certificates, opened in waves of
# concurrent clients; some clients are SIGKILLed mid-session (idle, inside a
# transaction, or while their backend runs a statement), others close
# normally.  Afterwards mtls_ident.sessions holds exactly the live sessions.
# Also: a login that mtls_ident accepts but the backend then fails (no such
# database, connection limits, NOLOGIN, ...) leaves no row behind.

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

# ---------------------------------------------------------------------------
# A psql client over any connection string, started without waiting so that
# a wave of clients connects concurrently.
# ---------------------------------------------------------------------------
{

	package Client;

	use Carp;
	use IPC::Run;

	sub spawn
	{
		my ($class, $node, $connstr, $tag) = @_;
		my $self = bless { in => '', out => '', err => '', n => 0, tag => $tag },
		  $class;
		$self->{timer} =
		  IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
		my @cmd = ($node->installed_command('psql'),
			'-XAtq', '-v', 'VERBOSITY=default', '-d', $connstr, '-f', '-');
		$self->{h} = IPC::Run::start(\@cmd, '<', \$self->{in}, '>',
			\$self->{out}, '2>', \$self->{err}, $self->{timer});
		# queue the first statement at once: psql connects and runs it
		$self->send('SELECT pg_backend_pid()');
		return $self;
	}

	sub tag { return $_[0]->{tag}; }
	sub pid { return $_[0]->{pid}; }

	# queue a statement, do not wait
	sub send
	{
		my ($self, $sql) = @_;
		$self->{mark} = sprintf('__churn_mark_%d__', ++$self->{n});
		$self->{in} .= "$sql;\n\\echo $self->{mark}\n";
		$self->{h}->pump_nb;
		return;
	}

	# wait for the statement queued last; return its stdout
	sub wait_result
	{
		my ($self) = @_;
		my $mark = $self->{mark};
		$self->{timer}->start($PostgreSQL::Test::Utils::timeout_default);
		while ($self->{out} !~ /\Q$mark\E\n/)
		{
			last if $self->{timer}->is_expired;
			last unless $self->{h}->pumpable;
			eval { $self->{h}->pump; };
		}
		croak "psql ($self->{tag}) timed out" if $self->{timer}->is_expired;
		my $out = $self->{out};
		$self->{out} = '';
		croak "psql ($self->{tag}) ended: $self->{err}"
		  unless $out =~ s/\Q$mark\E\n//;
		chomp $out;
		return $out;
	}

	sub connected
	{
		my ($self) = @_;
		my $out = $self->wait_result;
		croak "psql ($self->{tag}) did not connect: $self->{err}"
		  unless $out =~ /^(\d+)$/;
		$self->{pid} = $1;
		return $self->{pid};
	}

	sub query
	{
		my ($self, $sql) = @_;
		$self->send($sql);
		return $self->wait_result;
	}

	# SIGKILL the psql process (the client, never the server backend)
	sub kill9
	{
		my ($self) = @_;
		$self->{h}->signal('KILL');
		eval { $self->{h}->finish; };
		return;
	}

	sub quit
	{
		my ($self) = @_;
		$self->{in} .= "\\q\n";
		eval { $self->{h}->finish; };
		return;
	}
}

my $node = new_node(
	'churn',
	conf => "max_connections = 150\n"
	  . "mtls_ident.expiry_warning = 0\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  # a backend running a statement notices a vanished client
	  . "client_connection_check_interval = '200ms'\n");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION mtls_ident;
CREATE ROLE billing LOGIN;
CREATE ROLE multi LOGIN;
CREATE ROLE staff NOLOGIN;
CREATE ROLE dave LOGIN IN ROLE staff;
CREATE ROLE ipr LOGIN;
CREATE ROLE dnsr LOGIN;
CREATE ROLE limited LOGIN CONNECTION LIMIT 0;
CREATE ROLE nologin NOLOGIN;
SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/prod/sa/billing');
SELECT mtls_ident.bind('multi', 'uri:spiffe://example.org/ns/prod/sa/multi');
SELECT mtls_ident.bind('staff', 'email:{role}@example.com');
SELECT mtls_ident.bind('ipr', 'ip:10.1.2.0/24');
SELECT mtls_ident.bind('dnsr', 'dns:db.example.com');
SELECT mtls_ident.bind('limited', 'dns:db.example.com');
SELECT mtls_ident.bind('nologin', 'dns:db.example.com');
CREATE DATABASE closeddb ALLOW_CONNECTIONS false;
CREATE DATABASE limiteddb CONNECTION LIMIT 0;
});

my $minted = mint_cert(san => 'URI:spiffe://example.org/ns/prod/sa/billing');
my @certs = (
	[ 'spiffe_billing', 'billing' ],
	[ 'multi_san',      'multi' ],
	[ 'email_dave',     'dave' ],
	[ 'ip4',            'ipr' ],
	[ 'dns_db',         'dnsr' ],
	[ $minted,          'billing' ],);
my $ROLES = "'billing','multi','dave','ipr','dnsr'";

sub sessions_pids
{
	return $node->safe_psql('postgres',
		'SELECT coalesce(string_agg(pid::text, \',\' ORDER BY pid), \'\') FROM mtls_ident.sessions'
	);
}

sub ssl_backend_pids
{
	return $node->safe_psql(
		'postgres',
		"SELECT coalesce(string_agg(a.pid::text, ',' ORDER BY a.pid), '') "
		  . "FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
		  . "WHERE s.ssl AND a.usename IN ($ROLES)");
}

sub expect_pids
{
	my ($clients) = @_;
	return join(',', sort { $a <=> $b } map { $_->pid } @$clients);
}

# ---------------------------------------------------------------------------
# The churn
# ---------------------------------------------------------------------------
my $WAVES     = 8;
my $WAVE_SIZE = 19;
my @held;    # live clients we still hold
my %count = (opened => 0, killed_idle => 0, killed_in_xact => 0,
	killed_running => 0, closed => 0);
my $serial = 0;

for my $wave (1 .. $WAVES)
{
	my @wave;
	for my $i (1 .. $WAVE_SIZE)
	{
		my ($cert, $role) = @{ $certs[ $serial % @certs ] };
		$serial++;
		push @wave,
		  Client->spawn($node, client_connstr($node, $cert, user => $role),
			"w$wave/$i:$role");
	}
	$_->connected for @wave;
	$count{opened} += @wave;

	# every new session shows up, with the right role
	my %role_of = map { $_->pid => (split /:/, $_->tag)[1] } @wave;
	my $rows = $node->safe_psql('postgres',
		'SELECT pid, role FROM mtls_ident.sessions WHERE pid IN ('
		  . join(',', keys %role_of) . ')');
	my %seen = map { split /\|/ } split /\n/, $rows;
	is_deeply(\%seen, \%role_of,
		"wave $wave: all $WAVE_SIZE new sessions are in sessions with their role");

	# a few statements in some sessions, a transaction left open in others
	my @run;
	for my $k (0 .. $#wave)
	{
		my $c = $wave[$k];
		if ($k % 6 == 0)
		{
			is($c->query('SELECT mtls_ident.session_identity() IS NOT NULL'),
				't', "wave $wave: session_identity() in " . $c->tag)
			  if $k == 0;
			$c->query('BEGIN; SELECT count(*) FROM mtls_ident.sessions');
		}
	}

	# fates: SIGKILL idle / in a transaction / while running a statement,
	# close normally, or keep
	my @keep;
	for my $k (0 .. $#wave)
	{
		my $c = $wave[$k];
		my $fate = $k % 6;
		if ($fate == 0)
		{
			$c->kill9;
			$count{killed_in_xact}++;
		}
		elsif ($fate == 1)
		{
			$c->kill9;
			$count{killed_idle}++;
		}
		elsif ($fate == 2)
		{
			# the backend is busy in pg_sleep when its client dies
			$c->send('SELECT pg_sleep(600)');
			push @run, $c;
		}
		elsif ($fate == 3 || $fate == 4)
		{
			$c->quit;
			$count{closed}++;
		}
		else
		{
			push @keep, $c;
		}
	}
	if (@run)
	{
		my $pids = join(',', map { $_->pid } @run);
		ok( $node->poll_query_until(
				'postgres',
				"SELECT count(*) FROM pg_stat_activity WHERE pid IN ($pids) "
				  . "AND state = 'active' AND query LIKE 'SELECT pg_sleep%'",
				scalar(@run)),
			"wave $wave: " . scalar(@run) . ' backends are running pg_sleep');
		for my $c (@run)
		{
			$c->kill9;
			$count{killed_running}++;
		}
	}

	# some older sessions go too: one killed, one closed
	if (@held >= 4)
	{
		my $victim = splice(@held, int(@held / 2), 1);
		$victim->kill9;
		$count{killed_idle}++;
		my $closer = shift @held;
		$closer->quit;
		$count{closed}++;
	}
	push @held, @keep;

	ok( $node->poll_query_until(
			'postgres', 'SELECT count(*) FROM mtls_ident.sessions',
			scalar(@held)),
		"wave $wave: sessions counts exactly the " . scalar(@held)
		  . ' live sessions held');
}

note explain \%count;
cmp_ok($count{opened}, '>=', 150, "opened $count{opened} sessions in total");
cmp_ok($count{killed_idle} + $count{killed_in_xact} + $count{killed_running},
	'>=', 30, 'killed many clients mid-session');

my $want = expect_pids(\@held);
ok($node->poll_query_until('postgres',
		'SELECT count(*) FROM mtls_ident.sessions', scalar(@held)),
	'after the churn, sessions has exactly ' . scalar(@held) . ' rows');
is(sessions_pids(), $want, 'after the churn, sessions shows exactly the pids held');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
		  . "WHERE s.ssl AND a.usename IN ($ROLES)",
		scalar(@held)),
	'pg_stat_activity settles on the same number of TLS backends');
is(ssl_backend_pids(), $want,
	'sessions pids = pg_stat_activity TLS backends of those roles');
is( $node->safe_psql(
		'postgres',
		'SELECT count(*) FROM mtls_ident.sessions s JOIN pg_stat_activity a USING (pid) '
		  . 'WHERE s.role = a.usename AND s.database = a.datname'),
	scalar(@held),
	'every row agrees with pg_stat_activity on role and database');

# the held sessions still work and still know who they are
for my $c (@held[ 0 .. 2 ])
{
	is($c->query('SELECT mtls_ident.session_identity() IS NOT NULL'),
		't', 'held session ' . $c->tag . ' still has its identity');
}

# ---------------------------------------------------------------------------
# Accepted by mtls_ident, then the backend fails: no row remains
# ---------------------------------------------------------------------------
my $live_n = scalar @held;
my @fail_cases = (
	[ 'no such database', 'spiffe_billing', 'billing', 'nosuchdb',
		qr/database "nosuchdb" does not exist/ ],
	[ 'role CONNECTION LIMIT 0', 'dns_db', 'limited', 'postgres',
		qr/too many connections for role "limited"/ ],
	[ 'role without LOGIN', 'dns_db', 'nologin', 'postgres',
		qr/role "nologin" is not permitted to log in/ ],
	[ 'database ALLOW_CONNECTIONS false', 'spiffe_billing', 'billing', 'closeddb',
		qr/database "closeddb" is not currently accepting connections/ ],
	[ 'database CONNECTION LIMIT 0', 'spiffe_billing', 'billing', 'limiteddb',
		qr/too many connections for database "limiteddb"/ ],);
for my $f (@fail_cases)
{
	my ($label, $cert, $role, $db, $err_re) = @$f;
	my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM mtls_ident.auth_log');
	for my $i (1 .. 5)
	{
		$node->connect_fails(client_connstr($node, $cert, user => $role, dbname => $db),
			"$label: attempt $i fails after authentication",
			expected_stderr => $err_re);
	}
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FILTER (WHERE outcome = 'accept' AND role = '$role' AND database = '$db'), "
			  . 'count(*) FROM (SELECT * FROM mtls_ident.auth_log OFFSET ' . $n . ') e'),
		'5|5',
		"$label: mtls_ident accepted all 5 logins (auth_log)");
	my $pids = $node->safe_psql('postgres',
		"SELECT string_agg(pid::text, ',') FROM (SELECT * FROM mtls_ident.auth_log OFFSET $n) e");
	ok( $node->poll_query_until(
			'postgres',
			"SELECT count(*) FROM mtls_ident.sessions WHERE pid IN ($pids) OR database = '$db' AND role = '$role'",
			'0'),
		"$label: no session row remains for the failed backends");
	ok( $node->poll_query_until(
			'postgres', 'SELECT count(*) FROM mtls_ident.sessions', $live_n),
		"$label: sessions still counts exactly the $live_n live sessions");
}

# A new wave reuses the slots of the failed backends: still exact
{
	my @wave = map {
		my ($cert, $role) = @{ $certs[ $_ % @certs ] };
		Client->spawn($node, client_connstr($node, $cert, user => $role),
			"last/$_:$role")
	} 1 .. 10;
	$_->connected for @wave;
	push @held, @wave;
	is(sessions_pids(), expect_pids(\@held),
		'a last wave after the failures: sessions shows exactly the live pids');
}

# every client closes: nothing left
$_->quit for @held;
ok($node->poll_query_until('postgres', 'SELECT count(*) FROM mtls_ident.sessions', '0'),
	'all clients gone: sessions is empty');

# the server never crash-restarted during all this
ok(!(slurp_file($node->logfile) =~ /terminated by signal|server process .* was terminated|all server processes terminated/),
	'no backend crashed and the server never restarted');

$node->stop;
done_testing();
