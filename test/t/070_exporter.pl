# The shipped Prometheus files against the real thing: Debian's
# prometheus-postgres-exporter runs doc/prometheus/mtls_ident_queries.yaml
# against a TLS cluster with live certificate sessions and refusals,
# connected as a role that is a member of pg_monitor and nothing else; its
# /metrics (scraped with curl) must say what the views say -- the same rows,
# the same counters, certificate expiry within a second.  promtool (from
# Debian's prometheus package, unpacked into a cache directory, never
# installed: the package would start a server) checks the alerting rules,
# runs their unit tests and lints the scraped metrics.  Last, a server
# without the library preloaded shows what MtlsIdentNotLoaded relies on.
#
# mtls_ident.revocation_sources arrives with extension 1.1; a build
# without it fails the revocation checks.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

use Carp;
use Cwd qw(abs_path);
use IPC::Run;
use Time::HiRes qw(time usleep);

my $EXPORTER = '/usr/bin/prometheus-postgres-exporter';
my $DOC = abs_path("$FindBin::RealBin/../../doc/prometheus");
my $QUERIES = "$DOC/mtls_ident_queries.yaml";
my $ALERTS = "$DOC/mtls_ident_alerts.yaml";
my $ALERTS_TEST = "$DOC/mtls_ident_alerts_test.yaml";

ok(-x $EXPORTER, "$EXPORTER is installed (Debian prometheus-postgres-exporter)")
  or die "no exporter: install prometheus-postgres-exporter (test/lib/common.sh lists it)";
ok(-f $_, "$_ is shipped") for ($QUERIES, $ALERTS, $ALERTS_TEST);

# ---------------------------------------------------------------------------
# A cluster with a CRL file, live certificate sessions and refusals
# ---------------------------------------------------------------------------
my $crl = make_crl();
my $node = new_node('exporter', crl => $crl,
	conf => "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

# The exporter's role: a member of pg_monitor, nothing else.  nomon is an
# ordinary role, to show what pg_monitor is needed for.
$node->safe_psql('postgres',
	'CREATE ROLE prom LOGIN IN ROLE pg_monitor; CREATE ROLE nomon LOGIN');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(b.rolname, ',' ORDER BY b.rolname)
		 FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
		 WHERE m.member = 'prom'::regrole"),
	'pg_monitor',
	'the exporter role is a member of pg_monitor only');

bound_role($node, 'billing', 'billing', 'billing2');
bound_role($node, 'ops', 'ops');
$node->safe_psql('postgres', 'CREATE ROLE unbound LOGIN');

my $cert_a = mint_cert(san => spiffe('billing'), end_offset => 7200);
my $cert_b = mint_cert(san => spiffe('billing2'), end_offset => 30 * 3600);
my $cert_c = mint_cert(san => spiffe('ops'), end_offset => 10 * 86400);
my $cert_x = mint_cert(san => spiffe('intruder'));

my @sessions = (
	open_session($node, $cert_a, 'billing'),
	open_session($node, $cert_a, 'billing'),
	open_session($node, $cert_b, 'billing'),
	open_session($node, $cert_c, 'ops'));

cert_refused($node, $cert_x, 'billing', 'no_match', "intruder refused ($_)")
  for 1 .. 2;
cert_refused($node, $cert_a, 'unbound', 'no_binding',
	'a role without bindings is refused');

# ---------------------------------------------------------------------------
# The exporter, on 127.0.0.1 and a free port, connected as prom
# ---------------------------------------------------------------------------
my ($port, $exporter, $ex_out, $ex_err);

# Start the exporter against $n's database postgres as role prom, on a new
# free port; it becomes the one scrape() reads.
sub start_exporter
{
	my ($n) = @_;
	$port = PostgreSQL::Test::Cluster::get_free_port();
	my $dsn = sprintf("host=%s port=%d user=prom dbname=postgres sslmode=disable",
		$n->host, $n->port);
	($ex_out, $ex_err) = ('', '');
	$exporter = IPC::Run::start(
		[
			'env', "DATA_SOURCE_NAME=$dsn", $EXPORTER,
			"--web.listen-address=127.0.0.1:$port",
			"--extend.query-path=$QUERIES",
			# no per-collector flags: their names differ between versions
			'--disable-default-metrics', '--disable-settings-metrics'
		],
		'<', \undef, '>', \$ex_out, '2>', \$ex_err);
	return;
}
END { $exporter->kill_kill if $exporter; }
start_exporter($node);

# Scrape /metrics: (time before, time after, { "name{labels}" => value },
# { name => type }, raw text).  Labels are sorted; the exporter's own
# "server" label, when a version adds one, is dropped.
sub scrape
{
	my ($t0, $t1, $text);
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (1)
	{
		$t0 = time;
		my ($err) = ('');
		$text = '';
		IPC::Run::run([ 'curl', '-sSf', '--max-time', '30',
				"http://127.0.0.1:$port/metrics" ],
			'<', \undef, '>', \$text, '2>', \$err);
		$t1 = time;
		last if $? == 0 && $text =~ /^mtls_ident_/m;
		# collect the exporter's output; notice when it has exited
		my $running = eval { $exporter->pump_nb; 1 } && $exporter->pumpable;
		croak "no metrics from the exporter: $err\nexporter log:\n$ex_out$ex_err"
		  if time > $deadline || !$running;
		usleep(200_000);
	}
	my (%value, %type);
	for my $line (split /\n/, $text)
	{
		if ($line =~ /^# TYPE (\S+) (\S+)$/)
		{
			$type{$1} = $2;
			next;
		}
		next if $line =~ /^#/ || $line eq '';
		$line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
		  or croak "unparsable metrics line: $line";
		my ($name, $labels, $v) = ($1, $2 // '', $3);
		my %l;
		while ($labels =~ /\G([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gc)
		{
			my ($k, $s) = ($1, $2);
			$s =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
			$l{$k} = $s;
		}
		croak "unparsable labels: $line" if (pos($labels) // 0) != length $labels;
		delete $l{server};
		$value{ series($name, %l) } = $v;
	}
	return ($t0, $t1, \%value, \%type, $text);
}

# The key of one series.
sub series
{
	my ($name, %l) = @_;
	return $name . '{'
	  . join(',', map { "$_=\"$l{$_}\"" } sort keys %l) . '}';
}

# Rows of a query run as prom: a list of array refs.
sub prom_rows
{
	my ($sql) = @_;
	my $out = $node->safe_psql('postgres', $sql,
		extra_params => [ '-U', 'prom', '-F', "\x1f" ]);
	return map { [ split /\x1f/, $_, -1 ] } grep { $_ ne '' } split /\n/, $out;
}

# The series of one metric family (name => value), by its name prefix.
sub family
{
	my ($m, $name) = @_;
	return map { $_ => $m->{$_} } grep { /^\Q$name\E\{/ } keys %$m;
}

# A metric value compared as a number (the exporter writes 5464392 as
# 5.464392e+06).
sub num_is
{
	my ($got, $want, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	ok(defined $got && $got eq 'NaN' ? $want eq 'NaN' : defined $got && $got == $want,
		"$name: " . ($got // 'missing') . " == $want");
	return;
}

my ($t0, $t1, $m, $type, $text) = scrape();
note("first scrape:\n$text");
ok(1, 'the exporter serves mtls_ident metrics');

# ---------------------------------------------------------------------------
# pg_monitor reads every view the queries use
# ---------------------------------------------------------------------------
is( $node->safe_psql(
		'postgres', 'SELECT count(*) FROM mtls_ident.sessions',
		extra_params => [ '-U', 'prom' ]),
	'4',
	'pg_monitor sees every live certificate session');
is( $node->safe_psql(
		'postgres', 'SELECT count(*) > 0 FROM mtls_ident.stats',
		extra_params => [ '-U', 'prom' ]),
	't',
	'pg_monitor reads mtls_ident.stats');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) > 0 FROM pg_shmem_allocations WHERE starts_with(name, 'mtls_ident')",
		extra_params => [ '-U', 'prom' ]),
	't',
	'pg_monitor reads mtls_ident rows of pg_shmem_allocations');
is( $node->safe_psql(
		'postgres', 'SELECT count(*) FROM mtls_ident.sessions',
		extra_params => [ '-U', 'nomon' ]),
	'0',
	'without pg_monitor a role sees none of the sessions of others');
my ($rc, undef, $err) = $node->psql('postgres',
	'SELECT count(*) FROM mtls_ident.stats',
	extra_params => [ '-U', 'nomon' ]);
like($err, qr/permission denied/,
	'without pg_monitor mtls_ident.stats is not readable');

# ---------------------------------------------------------------------------
# Sessions: same rows, same counts, expiry within a second
# ---------------------------------------------------------------------------

# Seconds to expiry from not_after at the time of the scrape: between the
# value at $t1 and at $t0, one second of slack either side.
sub expiry_ok
{
	my ($got, $not_after, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($lo, $hi) = ($not_after - $t1 - 1, $not_after - $t0 + 1);
	ok(defined $got && $got >= $lo && $got <= $hi,
		"$name: " . ($got // 'missing') . " in [$lo, $hi]");
	return;
}

my @ident = prom_rows(
	"SELECT role, coalesce(identity, ''), count(*), extract(epoch FROM min(not_after))
	 FROM mtls_ident.sessions GROUP BY 1, 2 ORDER BY 1, 2");
is(scalar @ident, 3, 'three (role, identity) pairs are connected');
my %fam = family($m, 'mtls_ident_identity_sessions');
is(scalar keys %fam, scalar @ident,
	'one mtls_ident_identity_sessions series per (role, identity) of the view');
%fam = family($m, 'mtls_ident_identity_seconds_to_expiry');
is(scalar keys %fam, scalar @ident,
	'one mtls_ident_identity_seconds_to_expiry series per (role, identity)');
for my $r (@ident)
{
	my ($role, $id, $n, $na) = @$r;
	my %l = (role => $role, identity => $id);
	num_is($m->{ series('mtls_ident_identity_sessions', %l) },
		$n, "sessions of $role as $id");
	expiry_ok($m->{ series('mtls_ident_identity_seconds_to_expiry', %l) },
		$na, "seconds to expiry of $role as $id");
}
num_is($m->{ series('mtls_ident_identity_sessions', role => 'billing',
	identity => 'uri:spiffe://example.org/ns/prod/sa/billing') },
	2, 'two sessions of one certificate make one series of 2');

my @roles = prom_rows(
	"SELECT role, count(*), extract(epoch FROM min(not_after)),
	        count(*) FILTER (WHERE not_after < now() + interval '24 hours')
	 FROM mtls_ident.sessions GROUP BY 1 ORDER BY 1");
%fam = family($m, 'mtls_ident_role_sessions');
is(scalar keys %fam, scalar @roles, 'one mtls_ident_role_sessions series per role');
for my $r (@roles)
{
	my ($role, $n, $na, $soon) = @$r;
	num_is($m->{ series('mtls_ident_role_sessions', role => $role) },
		$n, "sessions of role $role");
	expiry_ok($m->{ series('mtls_ident_role_min_seconds_to_expiry', role => $role) },
		$na, "first expiry of role $role");
	num_is($m->{ series('mtls_ident_role_sessions_expiring_24h', role => $role) },
		$soon, "sessions of role $role expiring within 24 h");
}
num_is($m->{ series('mtls_ident_role_sessions_expiring_24h', role => 'billing') },
	2, 'billing: the two sessions of the 2-hour certificate expire within 24 h');
num_is($m->{ series('mtls_ident_role_sessions_expiring_24h', role => 'ops') },
	0, 'ops: none expires within 24 h');
is($type->{$_}, 'gauge', "$_ is a gauge")
  for qw(mtls_ident_identity_seconds_to_expiry mtls_ident_role_min_seconds_to_expiry);

# ---------------------------------------------------------------------------
# Login decisions: every stats row, as a counter
# ---------------------------------------------------------------------------
sub check_auth
{
	my ($label) = @_;
	my @before = prom_rows('SELECT outcome, reason, count FROM mtls_ident.stats ORDER BY 1, 2');
	($t0, $t1, $m, $type, $text) = scrape();
	my %after = map { ("$_->[0]/$_->[1]" => $_->[2]) }
	  prom_rows('SELECT outcome, reason, count FROM mtls_ident.stats');
	my %fam = family($m, 'mtls_ident_auth_total');
	is(scalar keys %fam, scalar @before,
		"$label: one mtls_ident_auth_total series per stats row");
	my $bad = 0;
	for my $r (@before)
	{
		my ($o, $reason, $n) = @$r;
		my $got = $m->{ series('mtls_ident_auth_total', outcome => $o, reason => $reason) };
		unless (defined $got && $got >= $n && $got <= $after{"$o/$reason"})
		{
			diag("$label: $o/$reason: metric " . ($got // 'missing')
				  . ", view $n .. " . $after{"$o/$reason"});
			$bad++;
		}
	}
	is($bad, 0, "$label: every (outcome, reason) counter equals the view");
	return;
}

check_auth('after three refusals');
is($type->{mtls_ident_auth_total}, 'counter', 'mtls_ident_auth_total is a counter');
num_is($m->{ series('mtls_ident_auth_total', outcome => 'reject', reason => 'no_match') },
	2, 'the two no_match refusals are counted');
num_is($m->{ series('mtls_ident_auth_total', outcome => 'reject', reason => 'no_binding') },
	1, 'the no_binding refusal is counted');

cert_refused($node, $cert_x, 'ops', 'no_match', 'one more refusal');
check_auth('after a fourth refusal');
num_is($m->{ series('mtls_ident_auth_total', outcome => 'reject', reason => 'no_match') },
	3, 'the counter follows a new refusal');

# ---------------------------------------------------------------------------
# Shared memory and mode
# ---------------------------------------------------------------------------
my @shm = prom_rows(
	"SELECT name, size, allocated_size FROM pg_shmem_allocations
	 WHERE starts_with(name, 'mtls_ident') ORDER BY 1");
ok(scalar(grep { $_->[0] eq 'mtls_ident sessions' } @shm),
	'the session slots are among the shared memory rows');
%fam = family($m, 'mtls_ident_shmem_size_bytes');
is(scalar keys %fam, scalar @shm, 'one shared memory series per mtls_ident allocation');
for my $r (@shm)
{
	num_is($m->{ series('mtls_ident_shmem_size_bytes', name => $r->[0]) },
		$r->[1], "size of \"$r->[0]\"");
	num_is($m->{ series('mtls_ident_shmem_allocated_bytes', name => $r->[0]) },
		$r->[2], "allocated size of \"$r->[0]\"");
}

sub mode_is
{
	my ($mode) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my %want = map { $_ => ($_ eq $mode ? 1 : 0) } qw(enforce audit off);
	my %got = map { $_ => $m->{ series('mtls_ident_mode_active', mode => $_) } }
	  keys %want;
	is_deeply(\%got, \%want, "mtls_ident_mode_active says $mode");
	return;
}
mode_is('enforce');
$node->append_conf('postgresql.conf', "mtls_ident.mode = audit\n");
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('mtls_ident.mode') = 'audit'")
  or die 'mode did not change';
($t0, $t1, $m, $type, $text) = scrape();
mode_is('audit');
$node->append_conf('postgresql.conf', "mtls_ident.mode = enforce\n");
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('mtls_ident.mode') = 'enforce'")
  or die 'mode did not change back';

# ---------------------------------------------------------------------------
# Revocation sources (extension 1.1)
# ---------------------------------------------------------------------------
my $have_rs = $node->safe_psql('postgres',
	"SELECT to_regclass('mtls_ident.revocation_sources') IS NOT NULL") eq 't';
if ($have_rs)
{
	# The worker may update a source while the exporter reads it: the view
	# is read before and after the scrape, and each value must lie between.
	my $rs_sql = "SELECT source, location, coalesce(issuer, ''),
		        extract(epoch FROM max(last_success)),
		        extract(epoch FROM max(last_attempt)),
		        extract(epoch FROM min(next_update)),
		        (max(last_success) IS NOT NULL)::int,
		        max((error IS NOT NULL)::int),
		        sum(failures), sum(queries), sum(entries)
		 FROM mtls_ident.revocation_sources GROUP BY 1, 2, 3";
	my $rows = sub { return map { (join("\x1e", @$_[ 0 .. 2 ]) => $_) } prom_rows($rs_sql) };
	my (%before, %after);
	for my $try (1 .. 5)
	{
		%before = $rows->();
		($t0, $t1, $m, $type, $text) = scrape();
		%after = $rows->();
		last if join("\n", sort keys %before) eq join("\n", sort keys %after);
	}
	is_deeply([ sort keys %before ], [ sort keys %after ],
		'the revocation sources did not change during the scrape');
	ok(scalar(grep { $_->[0] eq 'file' && $_->[1] eq $crl } values %after),
		'pg_monitor sees the CRL file row of revocation_sources');
	my %fam = family($m, 'mtls_ident_revocation_source_error');
	is(scalar keys %fam, scalar keys %after,
		'one mtls_ident_revocation_source series per source row');

	# $got within [lo, hi]; NaN when the view said NULL both times
	my $within = sub {
		my ($got, $x, $y, $lo, $hi, $name) = @_;
		if ($x eq '' && $y eq '')
		{
			num_is($got, 'NaN', "$name is NaN");
		}
		elsif ($x eq '' || $y eq '')
		{
			ok(defined $got, "$name (first set during the scrape): " . ($got // 'missing'));
		}
		else
		{
			ok(defined $got && $got >= $lo->($x, $y) && $got <= $hi->($x, $y),
				"$name: " . ($got // 'missing') . " in ["
				  . $lo->($x, $y) . ', ' . $hi->($x, $y) . ']');
		}
		return;
	};
	my $min = sub { $_[0] < $_[1] ? $_[0] : $_[1] };
	my $max = sub { $_[0] > $_[1] ? $_[0] : $_[1] };
	for my $k (sort keys %after)
	{
		my ($b, $a) = ($before{$k}, $after{$k});
		my ($src, $loc, $iss) = @$a;
		my %l = (source => $src, location => $loc, issuer => $iss);
		my $v = sub { $m->{ series("mtls_ident_revocation_source_$_[0]", %l) } };
		# an age is now - t: now in [t0, t1], t in [before, after]
		for ([ 'last_success_age_seconds', 3 ], [ 'last_attempt_age_seconds', 4 ])
		{
			my ($metric, $i) = @$_;
			$within->($v->($metric), $b->[$i], $a->[$i],
				sub { $t0 - $max->(@_) - 1 }, sub { $t1 - $min->(@_) + 1 },
				"$src $loc: $metric");
		}
		$within->($v->('seconds_to_next_update'), $b->[5], $a->[5],
			sub { $min->(@_) - $t1 - 1 }, sub { $max->(@_) - $t0 + 1 },
			"$src $loc: seconds_to_next_update");
		for ([ 'succeeded', 6 ], [ 'error', 7 ], [ 'failures_total', 8 ],
			[ 'queries_total', 9 ], [ 'entries', 10 ])
		{
			my ($metric, $i) = @$_;
			$within->($v->($metric), $b->[$i], $a->[$i], $min, $max,
				"$src $loc: $metric");
		}
	}
	is($type->{mtls_ident_revocation_source_failures_total}, 'counter',
		'failures is a counter');
	like($text, qr/^pg_exporter_last_scrape_error(?:\{[^}]*\})? 0$/m,
		'the exporter ran every query without error');
}
else
{
	diag('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
	diag('!!! revocation_sources metrics NOT CHECKED: view missing           !!!');
	diag('!!! (mtls_ident.revocation_sources does not exist in this build)    !!!');
	diag('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
	fail('not checked: view mtls_ident.revocation_sources missing');
}

# ---------------------------------------------------------------------------
# promtool: the rules, their unit tests, and a lint of the metrics
# ---------------------------------------------------------------------------
my $promtool = promtool();
my ($out, $perr) = ('', '');
ok( IPC::Run::run([ $promtool, 'check', 'rules', $ALERTS ],
		'<', \undef, '>', \$out, '2>', \$perr),
	'promtool check rules accepts mtls_ident_alerts.yaml')
  or diag("$out$perr");
($out, $perr) = ('', '');
ok( IPC::Run::run([ $promtool, 'test', 'rules', $ALERTS_TEST ],
		'<', \undef, '>', \$out, '2>', \$perr),
	'the alerting rules pass their unit tests (promtool test rules)')
  or diag("$out$perr");

# Lint what the exporter serves for mtls_ident (the exporter's own metrics
# are not ours to lint).
my $ours = join '', map { "$_\n" } grep { /^(?:# (?:HELP|TYPE) )?mtls_ident_/ } split /\n/, $text;
($out, $perr) = ('', '');
ok( IPC::Run::run([ $promtool, 'check', 'metrics' ],
		'<', \$ours, '>', \$out, '2>', \$perr),
	'promtool check metrics: the mtls_ident metrics follow the naming rules')
  or diag("$out$perr");

# promtool from Debian's prometheus package, downloaded with apt-get and
# unpacked (not installed) into a cache directory.
sub promtool
{
	my $cache = $ENV{MTLS_TEST_CACHE} // '/tmp/mtls_ident-test-cache';
	my $dir = "$cache/prometheus";
	my $bin = "$dir/usr/bin/promtool";
	return $bin if -x $bin;
	mkdir $cache;
	my $dl = PostgreSQL::Test::Utils::tempdir('promtool');
	my ($o, $e) = ('', '');
	# Debian 13 and later ship promtool in a package of its own; 12 in
	# prometheus
	IPC::Run::run([ 'apt-get', 'download', 'promtool' ],
		'<', \undef, '>', \$o, '2>', \$e, init => sub { chdir $dl })
	  or IPC::Run::run([ 'apt-get', 'download', 'prometheus' ],
		'<', \undef, '>', \$o, '2>', \$e, init => sub { chdir $dl })
	  or die "apt-get download promtool / prometheus failed: $e";
	my ($deb) = glob("$dl/{promtool,prometheus}_*.deb") or die "no promtool or prometheus .deb in $dl";
	my $tmp = "$dir.tmp.$$";
	mkdir $tmp or die "$tmp: $!";
	IPC::Run::run([ 'sh', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -C "$2" -x ./usr/bin/promtool',
			'sh', $deb, $tmp ], '<', \undef, '>', \$o, '2>', \$e)
	  or die "unpacking promtool failed: $e";
	rename $tmp, $dir or die "renaming $tmp: $!";
	return $bin;
}

$_->quit for @sessions;
$exporter->kill_kill;
$node->stop;

# ---------------------------------------------------------------------------
# A server without the library preloaded (what MtlsIdentNotLoaded detects):
# no shared memory series, while the mode series are there -- all 0, or,
# when postgresql.conf still sets mtls_ident.mode, a placeholder that reads
# like a mode in force.
# ---------------------------------------------------------------------------
my $bare = new_node('unloaded', preload => 0,
	conf => "mtls_ident.mode = 'audit'\n");
$bare->start;
$bare->safe_psql('postgres', 'CREATE ROLE prom LOGIN IN ROLE pg_monitor');
start_exporter($bare);
($t0, $t1, $m, $type, $text) = scrape();
%fam = family($m, 'mtls_ident_shmem_size_bytes');
is(scalar keys %fam, 0, 'library not loaded: no mtls_ident_shmem series');
%fam = family($m, 'mtls_ident_mode_active');
is(scalar keys %fam, 3, 'library not loaded: the mode series are still there');
num_is($m->{ series('mtls_ident_mode_active', mode => 'audit') }, 1,
	'library not loaded: a placeholder mtls_ident.mode still reads as a mode');
$exporter->kill_kill;
undef $exporter;
$bare->stop;
done_testing();
