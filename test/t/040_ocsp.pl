# OCSP at login and for live sessions (SPEC section 8): a real responder
# (OpenSSL's own responder code, behind a loopback-only HTTP front end, see
# OcspResponder.pm) answers good / revoked / unknown; the responder may be
# down, too slow, sign with a key it must not use, answer for another
# certificate or send a stale answer; soft and hard modes; the override
# URL and the certificate's AIA URL; the shared cache (one query for many
# logins, none for 10 s after a failure); a certificate revoked while its
# session is live; the revocation_sources rows.

use strict;
use warnings FATAL => 'all';

use Cwd qw(abs_path);
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;
use OcspResponder;

my $scratch = abs_path(PostgreSQL::Test::Utils::tempdir('ocsp'));
my $ca = pki_dir() . '/client_ca';

my $r = OcspResponder->start(dir => "$scratch/responder", ca => $ca, nmin => 1);
my $aia = "authorityInfoAccess = OCSP;URI:" . $r->url;

# certificates: with the AIA URL of the responder, and without any
my %c;
$c{$_} = mint_cert(san => spiffe('oc'), ext => $aia)
  for qw(good good2 rev unknown unknown_soft rev_soft live bystander herd
  backoff delegated);
$c{$_} = mint_cert(san => spiffe('oc'))
  for qw(noaia noaia_good down_hard down_soft slow_hard slow_soft slow_auth
  noeku otherca wrongid stale);
my %state = map { cert_path($c{$_}, 'leaf') => 'V' }
  qw(good good2 live bystander herd backoff delegated noaia_good down_hard
  down_soft slow_hard slow_soft noeku otherca wrongid stale);
$state{ cert_path($c{$_}, 'leaf') } = 'R' for qw(rev rev_soft);
$r->set_index(%state);

# answers recorded now, replayed later: one goes stale in a minute, one
# names another certificate
sub record_answer
{
	my ($cert, $out) = @_;
	my $req = "$scratch/rec.req";
	my $key = "$scratch/rec_ca.key";
	system('cp', "$ca.key", $key) == 0 or die;
	chmod 0600, $key;
	system('openssl', 'ocsp', '-issuer', "$ca.crt", '-cert',
		cert_path($cert, 'leaf'), '-no_nonce', '-reqout', $req) == 0
	  or die "openssl ocsp -reqout";
	system('openssl', 'ocsp', '-index', "$scratch/responder/index.txt",
		'-rsigner', "$ca.crt", '-rkey', $key, '-CA', "$ca.crt",
		'-reqin', $req, '-respout', $out, '-nmin', '1') == 0
	  or die "openssl ocsp -respout";
	return $out;
}
my $stale_at = time() + 61;
my $stale = record_answer($c{stale}, "$scratch/stale.der");
my $other = record_answer($c{good2}, "$scratch/other.der");

my $node = new_node(
	'ocsp',
	conf => "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n"
	  . "mtls_ident.ocsp = hard\n"
	  . "mtls_ident.ocsp_timeout = '1s'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
bound_role($node, 'oc', 'oc');
my $id = 'uri:spiffe://example.org/ns/prod/sa/oc';

sub set_conf
{
	my (%kv) = @_;
	$node->safe_psql('postgres',
		join('', map { "ALTER SYSTEM SET mtls_ident.$_ = " . ql($kv{$_}) . ";" } sort keys %kv)
		  . "SELECT pg_reload_conf();");
	# the reload reaches new backends once the postmaster has re-read it
	for my $k (keys %kv)
	{
		$node->poll_query_until('postgres',
			"SELECT current_setting('mtls_ident.$k') = " . ql($kv{$k}))
		  or die "setting $k not applied";
	}
	return;
}

sub ocsp_row
{
	my ($url) = @_;
	return $node->safe_psql('postgres',
		"SELECT queries || '|' || failures || '|' || coalesce(error, '') || '|' || entries "
		  . "FROM mtls_ident.revocation_sources WHERE source = 'ocsp' AND location = "
		  . ql($url));
}

# --- settings are checked -----------------------------------------------------

for my $bad (
	[ ocsp_responder     => 'https://127.0.0.1/', qr/invalid value for parameter "mtls_ident.ocsp_responder"/ ],
	[ ocsp_responder     => 'ftp://127.0.0.1/',   qr/invalid value for parameter "mtls_ident.ocsp_responder"/ ],
	[ ocsp_timeout       => '99ms',               qr/outside the valid range/ ],
	[ ocsp_timeout       => '61s',                qr/outside the valid range/ ],
	[ crl_fetch_interval => '0',                  qr/outside the valid range/ ],
	[ crl_fetch_interval => '8d',                 qr/outside the valid range/ ],
	[ ocsp               => 'maybe',              qr/invalid value for parameter "mtls_ident.ocsp"/ ])
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"ALTER SYSTEM SET mtls_ident.$bad->[0] = " . ql($bad->[1]));
	like($err, $bad->[2], "mtls_ident.$bad->[0] = '$bad->[1]' is refused");
}

# --- hard mode, the certificate's AIA URL --------------------------------------

cert_accepted($node, $c{good}, 'oc', $id, 'hard: a good answer from the AIA responder admits');
is($r->requests, 1, 'one query was sent');
cert_accepted($node, $c{good}, 'oc', $id, "hard: again ($_), from the cache") for 1 .. 3;
is($r->requests, 1, 'the cached answer serves later logins: still one query');
like(ocsp_row($r->url), qr/^1\|0\|\|1$/,
	'revocation_sources: one query, no failure, no error, one cached answer');

my $off = -s $node->logfile;
cert_refused($node, $c{rev}, 'oc', 'revoked', 'hard: a revoked answer refuses (reason revoked)');
ok($node->log_contains(qr/OCSP responder says certificate serial \S+ is revoked/, $off),
	'the log says the responder called it revoked');
cert_refused($node, $c{unknown}, 'oc', 'ocsp_unknown', 'hard: an unknown answer refuses (ocsp_unknown)');
cert_refused($node, $c{noaia}, 'oc', 'ocsp_unavailable',
	'hard: no responder URL at all refuses (ocsp_unavailable)');

# --- the override URL ----------------------------------------------------------

set_conf(ocsp_responder => $r->url);
my $n0 = $r->requests;
cert_accepted($node, $c{noaia_good}, 'oc', $id,
	'mtls_ident.ocsp_responder is asked for a certificate without AIA');
is($r->requests, $n0 + 1, 'the override responder got the query');

# --- soft mode -------------------------------------------------------------------

set_conf(ocsp => 'soft', ocsp_responder => '');
$off = -s $node->logfile;
cert_accepted($node, $c{unknown_soft}, 'oc', $id, 'soft: an unknown answer admits');
ok($node->log_contains(qr/OCSP gave no confirmation for certificate serial \S+ \(the responder answered unknown\); admitted because mtls_ident.ocsp = soft/, $off),
	'soft: the admission without confirmation is logged');
cert_refused($node, $c{rev_soft}, 'oc', 'revoked', 'soft: a revoked answer still refuses');
cert_accepted($node, $c{noaia}, 'oc', $id, 'soft: no responder URL admits');

# --- responder down --------------------------------------------------------------

my $downport = PostgreSQL::Test::Cluster::get_free_port();
my $downurl = "http://127.0.0.1:$downport/";
set_conf(ocsp => 'hard', ocsp_responder => $downurl);
$off = -s $node->logfile;
my $ser = cert_serial($c{down_hard});
cert_refused($node, $c{down_hard}, 'oc', 'ocsp_unavailable', 'hard: a responder that is down refuses');
ok($node->log_contains(qr/OCSP query to "\Q$downurl\E" for certificate serial \Q$ser\E failed: could not connect/, $off),
	'the failure is logged with the URL and the serial');
set_conf(ocsp => 'soft');
cert_accepted($node, $c{down_soft}, 'oc', $id, 'soft: a responder that is down admits');
like(ocsp_row($downurl), qr/^2\|2\|could not connect/, 'revocation_sources counts the queries and failures, with the error');

# --- responder too slow: accepts and never answers ----------------------------------

my $slowport = PostgreSQL::Test::Cluster::get_free_port();
my $slow = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $slowport,
	Listen => 16, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
my $slowurl = "http://127.0.0.1:$slowport/";
set_conf(ocsp => 'hard', ocsp_responder => $slowurl);
$off = -s $node->logfile;
my $t0 = time();
cert_refused($node, $c{slow_hard}, 'oc', 'ocsp_unavailable', 'hard: a responder that never answers refuses');
my $took = time() - $t0;
cmp_ok($took, '<', 8, "the login waited about ocsp_timeout (1 s), not longer ($took s)");
ok($node->log_contains(qr/OCSP query to "\Q$slowurl\E" .* failed: timed out after \d+ ms/, $off),
	'the timeout is logged');
set_conf(ocsp => 'soft');
cert_accepted($node, $c{slow_soft}, 'oc', $id, 'soft: a responder that never answers admits');

# the wait stays interruptible: authentication_timeout ends it, even with
# ocsp_timeout far longer
$node->safe_psql('postgres', "ALTER SYSTEM SET authentication_timeout = '2s'");
set_conf(ocsp => 'hard', ocsp_timeout => '30s');
$off = -s $node->logfile;
$t0 = time();
$node->connect_fails(client_connstr($node, $c{slow_auth}, user => 'oc'),
	'authentication_timeout ends a login waiting for a responder',
	log_like => [qr/canceling authentication due to timeout/]);
$took = time() - $t0;
cmp_ok($took, '<', 20, "the login ended at authentication_timeout (2 s), not at ocsp_timeout (30 s) ($took s)");
$node->safe_psql('postgres', "ALTER SYSTEM RESET authentication_timeout");
set_conf(ocsp_timeout => '1s');
close $slow;

# --- who may sign ----------------------------------------------------------------------

set_conf(ocsp => 'hard', ocsp_responder => $r->url);
my $noeku = mint_cert(cn => 'responder without OCSPSigning', eku => 'serverAuth');
$r->set_signer($noeku);
$off = -s $node->logfile;
cert_refused($node, $c{noeku}, 'oc', 'ocsp_unavailable',
	'a response signed by a certificate of the issuer without id-kp-OCSPSigning does not count');
ok($node->log_contains(qr/failed: the responder certificate lacks id-kp-OCSPSigning/, $off),
	'... and the log says why');

my $foreign = mint_cert(cn => 'responder of another CA', eku => 'OCSPSigning', ca => 'untrusted_ca');
$r->set_signer($foreign);
$off = -s $node->logfile;
cert_refused($node, $c{otherca}, 'oc', 'ocsp_unavailable',
	'a response signed by another CA\'s OCSP responder does not count');
ok($node->log_contains(qr/failed: the response is signed by a certificate the issuer did not issue/, $off),
	'... and the log says why');

my $delegate = mint_cert(cn => 'delegated responder', eku => 'OCSPSigning');
$r->set_signer($delegate);
cert_accepted($node, $c{delegated}, 'oc', $id,
	'a responder certificate the issuer issued with id-kp-OCSPSigning is trusted');
$r->set_signer($ca);

# --- an answer for another certificate ---------------------------------------------

$r->set_mode("replay $other");
$off = -s $node->logfile;
cert_refused($node, $c{wrongid}, 'oc', 'ocsp_unavailable',
	'a valid response that does not name this certificate does not count');
ok($node->log_contains(qr/failed: the response does not name this certificate/, $off),
	'... and the log says why');

# --- a failed query is not repeated for 10 s ----------------------------------------

$r->set_mode('garbage');
$n0 = $r->requests;
$off = -s $node->logfile;
cert_refused($node, $c{backoff}, 'oc', 'ocsp_unavailable', 'garbage from the responder refuses');
ok($node->log_contains(qr/failed: (bad HTTP response|not an OCSP response)/, $off), 'garbage is logged');
cert_refused($node, $c{backoff}, 'oc', 'ocsp_unavailable', 'a second login right after');
is($r->requests, $n0 + 1, 'no second query within 10 s of a failure');
ok($node->log_contains(qr/a query for this certificate failed less than 10 s ago/, $off),
	'the log says why no query was sent');
$r->set_mode('normal');

# --- many logins at once: one query --------------------------------------------------

set_conf(ocsp_timeout => '8s');
$r->set_mode('delay 2');
$n0 = $r->requests;
{
	my @runs;
	for my $i (1 .. 4)
	{
		my ($out, $err) = ('', '');
		push @runs, [
			IPC::Run::start(
				[ $node->installed_command('psql'), '-XAtq', '-d',
					client_connstr($node, $c{herd}, user => 'oc'), '-c', 'SELECT 1' ],
				'>', \$out, '2>', \$err),
			\$out ];
	}
	my $ok = 0;
	for (@runs) { $_->[0]->finish; $ok++ if ${ $_->[1] } =~ /^1$/m; }
	is($ok, 4, 'four concurrent logins with one certificate are all admitted');
}
is($r->requests, $n0 + 1, 'four concurrent logins with one certificate sent one query');
$r->set_mode('normal');
set_conf(ocsp_timeout => '1s');

# --- a live session whose certificate is revoked at the responder -----------------

set_conf(ocsp => 'soft', ocsp_responder => '');
my $s_live = open_session($node, $c{live}, 'oc');
my $s_by = open_session($node, $c{bystander}, 'oc');
my $livepid = $s_live->pid;
$off = -s $node->logfile;
$state{ cert_path($c{live}, 'leaf') } = 'R';
$r->set_index(%state);
ok(session_gone($node, $livepid),
	'a session whose certificate the responder now calls revoked is ended');
ok($node->log_contains(qr/ending session pid=$livepid role="oc" .*reason=revoked/, $off),
	'the log says the session ended because its certificate was revoked');
ok($node->log_contains(qr/OCSP responder "\Q${\$r->url}\E" now says certificate serial \S+ is revoked/, $off),
	'the worker refreshed the answer');
like($s_live->ended_message,
	qr/terminating connection because the client certificate was revoked/,
	'the client is told its certificate was revoked');
still_alive($node, $s_by, 'a bystander with a good certificate');

# a responder outage never ends a live session
$r->set_mode('garbage');
$off = -s $node->logfile;
ok($node->wait_for_log(qr/OCSP refresh from "\Q${\$r->url}\E" for certificate serial \S+ failed: (bad HTTP response|not an OCSP response)/, $off),
	'a failed refresh is logged');
sleep(1) while time() < $stale_at + 5;	# past the bystander's last nextUpdate
still_alive($node, $s_by, 'during a responder outage, past the last answer\'s nextUpdate');
$s_by->quit;
$r->set_mode('normal');

# --- a stale answer (nextUpdate past) -------------------------------------------------

sleep(1) while time() < $stale_at;
set_conf(ocsp => 'hard', ocsp_responder => $r->url);
$r->set_mode("replay $stale");
$off = -s $node->logfile;
cert_refused($node, $c{stale}, 'oc', 'ocsp_unavailable', 'a stale answer (nextUpdate past) does not count');
ok($node->log_contains(qr/failed: stale answer: nextUpdate is past/, $off), '... and the log says why');
$r->set_mode('normal');

# --- the view rows ------------------------------------------------------------------

my $rows = $node->safe_psql('postgres',
	"SELECT source, location, issuer IS NOT NULL, queries > 0, last_attempt IS NOT NULL "
	  . "FROM mtls_ident.revocation_sources WHERE location = " . ql($r->url));
like($rows, qr/^ocsp\|\Q${\$r->url}\E\|t\|t\|t$/, 'the responder has its row in revocation_sources');

# refusals are counted in stats under their reasons
my $stats = $node->safe_psql('postgres',
	"SELECT string_agg(reason || '=' || (count > 0), ',' ORDER BY reason) FROM mtls_ident.stats "
	  . "WHERE outcome = 'reject' AND reason IN ('revoked', 'ocsp_unknown', 'ocsp_unavailable')");
is($stats, 'ocsp_unavailable=true,ocsp_unknown=true,revoked=true',
	'stats counts the revoked, ocsp_unknown and ocsp_unavailable refusals');

$r->stop;
$node->stop;
done_testing();
