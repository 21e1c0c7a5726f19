# What mtls_ident costs in shared memory, and that the small session slots
# lose nothing: at max_connections = 1000 with default settings, all of
# mtls_ident takes at most 10 MB of the main shared memory (from
# pg_shmem_allocations), sessions about 2 kB a backend; an ordinary
# certificate fits in its slot; a 3000-SAN and a 300-SAN session are shown
# as fully as before (up to the documented bound) while 50 ordinary sessions
# exist; their overflow memory is given back when they end; a backend
# SIGKILLed while holding overflow memory takes the server through a crash
# restart that leaves no DSM segment behind and a right sessions view; and
# when the overflow area is full, logins still succeed, with the session
# facts cut to the slot and sans_truncated set.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

use Digest::SHA qw(sha256_hex);
use JSON::PP;
use Time::HiRes qw(usleep);

my $MB = 1024 * 1024;
my $SPIFFE_BILLING = 'uri:spiffe://example.org/ns/prod/sa/billing';
my $HOST_2999 = 'dns:host-2999.example.com';

# --- the figure: max_connections = 1000, default settings --------------------
{
	my $big = new_node('thousand',
		conf => "max_connections = 1000\nshared_buffers = '16MB'\n");
	$big->start;
	$big->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
	my $total = $big->safe_psql('postgres',
		"SELECT sum(allocated_size) FROM pg_shmem_allocations WHERE name LIKE 'mtls_ident%'"
	);
	my $rows = $big->safe_psql('postgres',
		"SELECT name || ' ' || allocated_size FROM pg_shmem_allocations "
		  . "WHERE name LIKE 'mtls_ident%' ORDER BY name");
	note "max_connections = 1000:\n$rows\ntotal $total bytes";
	cmp_ok($total, '<=', 10 * $MB,
		"max_connections = 1000: mtls_ident takes $total bytes of shared memory, at most 10 MB"
	);
	my $per = $big->safe_psql('postgres',
		"SELECT (SELECT size FROM pg_shmem_allocations WHERE name = 'mtls_ident sessions') "
		  . "/ (current_setting('max_connections')::int + current_setting('autovacuum_max_workers')::int "
		  . "+ 1 + current_setting('max_worker_processes')::int + current_setting('max_wal_senders')::int)"
	);
	cmp_ok($per, '<=', 2048, "a session slot takes $per bytes, at most 2 kB");
	is( $big->safe_psql('postgres',
			"SELECT bool_and(m.shared_bytes = a.s) FROM mtls_ident.memory m JOIN "
			  . "(SELECT CASE WHEN name LIKE 'mtls_ident sessions%' THEN 'sessions' "
			  . "WHEN name LIKE 'mtls_ident label cache%' THEN 'label_cache' "
			  . "ELSE substr(name, 12) END AS area, sum(size) AS s "
			  . "FROM pg_shmem_allocations WHERE name LIKE 'mtls_ident%' GROUP BY 1) a USING (area)"
		),
		't',
		'view memory: shared_bytes of each area = its pg_shmem_allocations');
	is( $big->safe_psql('postgres',
			"SELECT dynamic_bytes || ' ' || dynamic_entries || ' ' || dynamic_limit "
			  . "FROM mtls_ident.memory WHERE area = 'label_cache'"),
		'0 0 ' . 8 * $MB,
		'the label cache is empty and may grow to label_cache_size (8MB)');
	$big->stop;
}

# --- the main node ----------------------------------------------------------
my $node = new_node(
	'footprint',
	conf => "max_connections = 80\n"
	  # the test SIGKILLs a backend: the server restarts (the default)
	  . "restart_after_crash = on\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION mtls_ident;
CREATE ROLE many300 LOGIN;
CREATE ROLE many3000 LOGIN;
SELECT mtls_ident.bind('many300', '$SPIFFE_BILLING');
SELECT mtls_ident.bind('many3000', '$HOST_2999');
});
bound_role($node, 'ord', 'ord');

sub overflow
{
	return sql("SELECT dynamic_bytes || ' ' || dynamic_entries FROM mtls_ident.memory "
		  . "WHERE area = 'sessions'");
}

is(overflow(), '0 0', 'no overflow memory in use at start');

# 50 ordinary sessions
my $ord = mint_cert(
	subj => '/O=Example Corp/OU=Payments/CN=ord.example.org',
	san  => [ spiffe('ord'), 'DNS:ord.example.org', 'DNS:ord.internal.example.org',
		'email:ord@example.org' ]);
my @ordinary = map { open_session($node, $ord, 'ord') } 1 .. 50;
is(sql("SELECT count(*) FROM mtls_ident.sessions WHERE role = 'ord' AND NOT sans_truncated "
		  . "AND cardinality(sans) = 4"),
	'50', '50 ordinary sessions, every SAN shown');
is(overflow(), '0 0', 'ordinary certificates fit in their slots: no overflow memory');

# the large certificates, as cert_info() reads them
my $json = JSON::PP->new;
my %all;
for my $c (qw(many_sans_300 many_sans_3000))
{
	$all{$c} = $json->decode(
		sql("SELECT array_to_json(sans) FROM mtls_ident.cert_info(\$\$"
			  . cert_pem($c) . "\$\$)"));
}
is(scalar @{ $all{many_sans_3000} }, 3000, 'many_sans_3000 has 3000 SANs');

sub session_row
{
	my ($pid) = @_;
	return $json->decode(
		sql("SELECT json_build_object('identity', identity, 'sans', sans, "
			  . "'truncated', sans_truncated, 'subject', subject) "
			  . "FROM mtls_ident.sessions WHERE pid = $pid"));
}

my $s300 = open_session($node, 'many_sans_300', 'many300');
my $s3000 = open_session($node, 'many_sans_3000', 'many3000');
my $r300 = session_row($s300->pid);
is_deeply($r300->{sans}, $all{many_sans_300},
	'300-SAN session: every SAN, in order, next to 50 ordinary sessions');
ok(!$r300->{truncated}, '300-SAN session: sans_truncated is false');
is($r300->{identity}, $SPIFFE_BILLING, '300-SAN session: identity');

my $r3000 = session_row($s3000->pid);
my @kept = @{ $r3000->{sans} };
ok($r3000->{truncated}, '3000-SAN session: sans_truncated is true (past the documented bound)');
is($r3000->{identity}, $HOST_2999, '3000-SAN session: identity');
ok((grep { $_ eq $HOST_2999 } @kept), '3000-SAN session: the matched SAN is kept');
my @rest = grep { $_ ne $HOST_2999 } @kept;
cmp_ok(scalar @rest, '>', 700,
	'3000-SAN session: the SANs up to the 32 KiB bound (' . scalar(@rest) . ' + the matched one)');
is_deeply(\@rest, [ @{ $all{many_sans_3000} }[ 0 .. $#rest ] ],
	'3000-SAN session: the first SANs, in certificate order');
my ($bytes, $entries) = split / /, overflow();
is($entries, 2, 'the two large sessions hold one overflow chunk each');
cmp_ok($bytes, '>', 32000, "overflow memory in use: $bytes bytes");

# both big sessions end: their memory is given back
$s300->quit;
$s3000->quit;
ok($node->poll_query_until('postgres',
		"SELECT dynamic_bytes || ' ' || dynamic_entries FROM mtls_ident.memory WHERE area = 'sessions'",
		'0 0'),
	'the large sessions ended: overflow memory back to 0');
is(sql("SELECT count(*) FROM mtls_ident.sessions"), '50',
	'the 50 ordinary sessions are still shown');

# --- a backend holding overflow memory is SIGKILLed --------------------------
# Three large sessions: the overflow area outgrows its place in the main
# shared memory and takes a DSM segment.
my @big3 = map { open_session($node, 'many_sans_3000', 'many3000') } 1 .. 3;
is((split / /, overflow())[1], '3', 'three large sessions hold overflow memory');
my $victim = $big3[2]->pid;
my @segments;
{
	open my $fh, '<', "/proc/$victim/maps" or die "/proc/$victim/maps: $!";
	my %seen;
	while (<$fh>)
	{
		$seen{$1} = 1 if m{(/dev/shm/PostgreSQL\.\d+)};
	}
	close $fh;
	@segments = sort keys %seen;
}
cmp_ok(scalar @segments, '>=', 2,
	'the backend maps DSM segments (the control segment and the overflow area\'s): '
	  . join(' ', @segments));
ok(!(grep { !-e $_ } @segments), 'those segments exist');

my $log_offset = -s $node->logfile;
kill 'KILL', $victim;
ok(crash_restart_wait($node, $log_offset), 'the SIGKILL made a crash restart, and it is over');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'", '1'),
	'the server came back after the crash restart');
like(slurp_file($node->logfile, $log_offset),
	qr/terminated by signal 9/, 'the SIGKILLed backend made a crash restart');
ok(!(grep { -e $_ } @segments),
	'after the crash restart, none of the DSM segments the dead backend mapped is left');
is(sql('SELECT count(*) FROM mtls_ident.sessions'), '0',
	'after the crash restart, sessions is empty (every session ended)');
is(overflow(), '0 0', 'after the crash restart, no overflow memory in use');
$_->quit for (@big3, @ordinary);

my $again = open_session($node, 'many_sans_3000', 'many3000');
my $ra = session_row($again->pid);
is($ra->{identity}, $HOST_2999, 'a large session after the crash restart: identity');
is_deeply($ra->{sans}, $r3000->{sans},
	'a large session after the crash restart: the same SANs as before');
is(overflow() =~ /^\d+ 1$/ ? 1 : 0, 1, 'and it holds one overflow chunk');
$again->quit;
ok($node->poll_query_until('postgres',
		"SELECT dynamic_entries FROM mtls_ident.memory WHERE area = 'sessions'", '0'),
	'given back again');
$node->stop;

# --- the overflow area full: logins go on, facts cut to the slot ------------
# max_connections = 20: the area may take (20 + 22) x 8 kB, room for about
# eight 3000-SAN sessions; fourteen log in.
my $small = new_node(
	'small',
	conf => "max_connections = 20\n"
	  . "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$small->start;
$small->safe_psql(
	'postgres', qq{
CREATE EXTENSION mtls_ident;
CREATE ROLE many3000 LOGIN;
SELECT mtls_ident.bind('many3000', '$HOST_2999');
SELECT mtls_ident.bind('many3000', 'dns:host-500.example.com');
});
my @full = map { open_session($small, 'many_sans_3000', 'many3000') } 1 .. 14;
is($small->safe_psql('postgres', 'SELECT count(*) FROM mtls_ident.sessions'),
	'14', 'all 14 large sessions logged in');
my $counts = $small->safe_psql('postgres',
	"SELECT count(*) FILTER (WHERE cardinality(sans) > 700), "
	  . "count(*) FILTER (WHERE cardinality(sans) < 100 AND sans_truncated "
	  . "AND identity = '$HOST_2999' AND '$HOST_2999' = ANY (sans)) FROM mtls_ident.sessions");
my ($in_area, $cut) = split /\|/, $counts;
cmp_ok($in_area, '>=', 1, "$in_area sessions keep their facts in the overflow area");
cmp_ok($cut, '>=', 1,
	"$cut sessions found the area full: cut to the slot, sans_truncated, the matched SAN kept");
is($in_area + $cut, 14, 'every session is one or the other');
like(slurp_file($small->logfile),
	qr/no room in the overflow area of the session slots/,
	'the server log says the area was full');
my ($limit_used) = $small->safe_psql('postgres',
	"SELECT dynamic_bytes <= dynamic_limit FROM mtls_ident.memory WHERE area = 'sessions'");
is($limit_used, 't', 'the area stays within its limit');

# a cut session whose certificate still matches through a SAN it lost
# (host-500) is left alone by the enforcer, as in 022_slot_bounds.pl;
# sessions kept in the area still show host-500 and match
$small->safe_psql('postgres',
	"SELECT mtls_ident.unbind('many3000', '$HOST_2999')");
my %left;
for (1 .. 600)
{
	%left = map { $_ => 1 } (slurp_file($small->logfile) =~
		  /cannot re-check session pid=(\d+) role="many3000" against changed bindings/g);
	last if keys %left >= $cut;
	usleep(100_000);
}
is(scalar keys %left, $cut,
	'the enforcer cannot re-check the cut sessions (host-500 was cut) and says so');
is($small->safe_psql('postgres', 'SELECT count(*) FROM mtls_ident.sessions'),
	'14', 'the enforcer leaves sessions that still match through host-500');
$_->quit for @full;
ok($small->poll_query_until('postgres',
		"SELECT dynamic_bytes || ' ' || dynamic_entries FROM mtls_ident.memory WHERE area = 'sessions'",
		'0 0'),
	'all ended: overflow memory back to 0');
my $more = open_session($small, 'many_sans_3000', 'many3000');
is( $small->safe_psql('postgres',
		"SELECT cardinality(sans) > 700 AND sans_truncated FROM mtls_ident.sessions WHERE pid = "
		  . $more->pid),
	't', 'room again: a new large session keeps its facts up to the bound');
$more->quit;

# A large certificate whose decision is deferred to the end of start-up (the
# role's label is stored out of line and the label cache is off): its
# overflow memory is taken in the start-up transaction's pre-commit step.
$small->append_conf('postgresql.conf', "mtls_ident.label_cache_size = 0\n");
$small->restart;
my $lsql = 'CREATE ROLE deferred LOGIN;';
$lsql .= "SELECT mtls_ident.bind('deferred', 'uri:spiffe://example.org/ns/"
  . sha256_hex("deferred-$_") . "/sa/x$_');"
  for 1 .. 60;
$lsql .= "SELECT mtls_ident.bind('deferred', '$HOST_2999');";
$small->safe_psql('postgres', $lsql);
is( $small->safe_psql(
		'postgres',
		"SELECT length(label) > 4000 FROM pg_shseclabel s JOIN pg_roles r ON r.oid = s.objoid "
		  . "WHERE r.rolname = 'deferred'"),
	't', 'deferred: the label is stored out of line');
my $log_at = -s $small->logfile;
my $def = open_session($small, 'many_sans_3000', 'deferred');
like(
	slurp_file($small->logfile, $log_at),
	qr/connection authorized: user=deferred.*outcome=accept reason=ok role="deferred"/s,
	'deferred: the decision was made after start-up');
is( $small->safe_psql(
		'postgres',
		"SELECT identity || ' ' || (cardinality(sans) > 700) || ' ' || sans_truncated "
		  . 'FROM mtls_ident.sessions WHERE pid = ' . $def->pid),
	"$HOST_2999 true true",
	'deferred: the large session is shown up to the bound, from the overflow area');
is( $small->safe_psql('postgres',
		"SELECT dynamic_entries FROM mtls_ident.memory WHERE area = 'sessions'"),
	'1', 'deferred: one overflow chunk');
$def->quit;
ok($small->poll_query_until('postgres',
		"SELECT dynamic_entries FROM mtls_ident.memory WHERE area = 'sessions'", '0'),
	'deferred: given back');
$small->stop;

done_testing();
