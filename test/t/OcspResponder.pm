# OcspResponder.pm -- a real OCSP responder on 127.0.0.1 for the TAP tests.
#
# `openssl ocsp` in server mode (-port) listens on every interface, which
# the tests must not do.  So a small HTTP front end, listening on
# 127.0.0.1 only, takes each RFC 6960 POST and hands the DER request to
# `openssl ocsp -index ... -rsigner ... -rkey ... -CA ... -reqin ...
# -respout ...` -- OpenSSL's own responder code makes every answer -- and
# sends the response back.  The front end also counts requests (a line per
# request in requests.log) and can misbehave on demand (file "mode" in its
# directory, read for each request):
#
#   normal        answer with openssl ocsp (signer: file "signer", a
#                 certificate prefix PREFIX.crt/.key; validity: file "nmin")
#   hang          accept and never answer (a responder too slow)
#   garbage       answer 200 with bytes that are no OCSP response
#   replay FILE   answer with the DER response in FILE (a stale answer, an
#                 answer for another certificate)
#   delay SECONDS answer normally after a pause
#
# Index: "index.txt" in the directory (openssl ca's format); see
# index_line().  Everything lives in the directory given to start().

package OcspResponder;

use strict;
use warnings FATAL => 'all';

use Carp;
use IO::Socket::INET;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

sub _write
{
	my ($file, $text) = @_;
	open my $fh, '>', "$file.new" or croak "$file: $!";
	print $fh $text;
	close $fh or croak "$file: $!";
	rename "$file.new", $file or croak "$file: $!";
	return;
}

# start(dir => DIR, ca => PREFIX, signer => PREFIX, nmin => N)
sub start
{
	my ($class, %o) = @_;
	my $self = bless {%o}, $class;
	my $dir = $self->{dir};
	mkdir $dir unless -d $dir;
	$self->{port} = PostgreSQL::Test::Cluster::get_free_port();
	_write("$dir/index.txt", '') unless -f "$dir/index.txt";
	_write("$dir/mode", "normal\n");
	_write("$dir/nmin", ($o{nmin} // 1) . "\n");
	$self->set_signer($o{signer} // $o{ca});
	_write("$dir/requests.log", '');

	my $listen = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => $self->{port},
		Proto     => 'tcp',
		Listen    => 32,
		ReuseAddr => 1) or croak "listen on 127.0.0.1:$self->{port}: $!";
	my $pid = fork() // croak "fork: $!";
	if ($pid == 0)
	{
		# the child never runs the test's END blocks (Test::More would print
		# a second plan): a late request after the test removed its files
		# makes _serve die, and the child just ends
		eval { $self->_serve($listen); };
		POSIX::_exit(0);
	}
	close $listen;
	$self->{pid} = $pid;
	return $self;
}

sub port { return $_[0]->{port}; }
sub url { return "http://127.0.0.1:$_[0]->{port}/"; }

# a private 0600 copy of a signer's key, and the file naming the signer
sub set_signer
{
	my ($self, $prefix) = @_;
	my $dir = $self->{dir};
	my $n = ++$self->{nsigner};
	system('cp', "$prefix.key", "$dir/signer$n.key") == 0 or croak "cp key";
	chmod 0600, "$dir/signer$n.key";
	my $crt = -f "$prefix.leaf.crt" ? "$prefix.leaf.crt" : "$prefix.crt";
	_write("$dir/signer", "$crt\n$dir/signer$n.key\n");
	return;
}

sub set_mode { my ($self, $m) = @_; _write("$self->{dir}/mode", "$m\n"); return; }

# "V" (good) or "R" (revoked) line for a certificate file
sub index_line
{
	my ($state, $certfile) = @_;
	my $serial = `openssl x509 -in '$certfile' -noout -serial`;
	$serial =~ s/^serial=//;
	chomp $serial;
	my $rev = $state eq 'R' ? '250101000000Z' : '';
	return "$state\t301001010000Z\t$rev\t$serial\tunknown\t/CN=test\n";
}

# index: { certfile => 'V' | 'R' }
sub set_index
{
	my ($self, %certs) = @_;
	my $text = '';
	$text .= index_line($certs{$_}, $_) for sort keys %certs;
	_write("$self->{dir}/index.txt", $text);
	_write("$self->{dir}/index.txt.attr", "unique_subject = no\n");
	return;
}

sub requests
{
	my ($self) = @_;
	open my $fh, '<', "$self->{dir}/requests.log" or return 0;
	my @l = <$fh>;
	close $fh;
	return scalar @l;
}

# answer one request with openssl ocsp (the real responder code)
sub _respond
{
	my ($self, $req) = @_;
	my $dir = $self->{dir};
	my $n = ++$self->{nreq};
	my ($crt, $key) = split /\n/, slurp_file("$dir/signer");
	my $nmin = slurp_file("$dir/nmin");
	chomp $nmin;
	open my $fh, '>', "$dir/req$n.der" or return undef;
	binmode $fh;
	print $fh $req;
	close $fh;
	system("openssl ocsp -index '$dir/index.txt' -rsigner '$crt' -rkey '$key' "
		  . "-CA '$self->{ca}.crt' -reqin '$dir/req$n.der' -respout '$dir/resp$n.der' "
		  . "-nmin $nmin >>'$dir/openssl.log' 2>&1");
	return -f "$dir/resp$n.der" ? slurp_file("$dir/resp$n.der") : undef;
}

sub _serve
{
	my ($self, $listen) = @_;
	my @hung;
	local $SIG{PIPE} = 'IGNORE';
	while (my $c = $listen->accept)
	{
		binmode $c;
		my $head = '';
		while ($head !~ /\r\n\r\n/)
		{
			my $r = sysread($c, my $buf, 4096);
			last unless $r;
			$head .= $buf;
		}
		my ($h, $body) = split /\r\n\r\n/, $head, 2;
		$body //= '';
		my ($len) = $h =~ /^Content-Length:\s*(\d+)/mi;
		$len //= 0;
		while (length($body) < $len)
		{
			my $r = sysread($c, my $buf, $len - length($body));
			last unless $r;
			$body .= $buf;
		}
		open my $log, '>>', "$self->{dir}/requests.log";
		print $log time() . " " . length($body) . "\n";
		close $log;

		my $mode = slurp_file("$self->{dir}/mode");
		chomp $mode;
		if ($mode eq 'hang')
		{
			push @hung, $c;
			next;
		}
		my $resp;
		if ($mode eq 'garbage')
		{
			$resp = "this is not an OCSP response";
		}
		elsif ($mode =~ /^replay (.*)$/)
		{
			$resp = slurp_file($1);
		}
		else
		{
			sleep($1) if $mode =~ /^delay (\d+)$/;
			$resp = $self->_respond($body);
		}
		if (defined $resp)
		{
			print $c "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"
			  . "Content-Length: " . length($resp) . "\r\n\r\n" . $resp;
		}
		else
		{
			print $c "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
		}
		close $c;
	}
	return;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
	delete $self->{pid};
	return;
}

sub DESTROY { my ($self) = @_; $self->stop if $self->{pid} && $$ != $self->{pid}; return; }

1;
