#!/usr/bin/perl
# Layering check of src/: every module only uses modules below it.
#
#     perl test/check_layers.pl [src]
#
# A module is a file name without its extension (foo.c and foo.h are module
# "foo").  Module A uses module B when foo.c or foo.h of A has
# #include "B.h".  The check fails (exit 1) when the "uses" graph has a
# cycle -- a module that reaches itself through the headers it includes --
# and prints each cycle it finds.  On success it prints the modules layer by
# layer, bottom first (a module's layer is one more than the highest layer it
# uses), which is the order README's layout paragraph describes.
use strict;
use warnings FATAL => 'all';

my $dir = shift // 'src';
opendir(my $dh, $dir) or die "check_layers: cannot open $dir: $!\n";
my @files = sort grep { /\.[ch]$/ } readdir($dh);
closedir($dh);

my %uses;
my %exists = map { (my $m = $_) =~ s/\.[ch]$//; ($m => 1) } @files;
for my $f (@files)
{
	(my $m = $f) =~ s/\.[ch]$//;
	$uses{$m} //= {};
	open(my $fh, '<', "$dir/$f") or die "check_layers: $dir/$f: $!\n";
	while (my $line = <$fh>)
	{
		next unless $line =~ /^\s*#\s*include\s+"([^"]+)\.h"/;
		my $to = $1;
		next if $to eq $m || !$exists{$to};
		$uses{$m}{$to} = 1;
	}
	close($fh);
}

# cycles: depth-first search, reporting each back edge's cycle once
my (%state, @stack, %seen_cycle);
my $ncycles = 0;
sub visit
{
	my ($m) = @_;
	$state{$m} = 1;
	push @stack, $m;
	for my $to (sort keys %{ $uses{$m} })
	{
		if (!$state{$to})
		{
			visit($to);
		}
		elsif ($state{$to} == 1)
		{
			my @cycle;
			for (my $i = $#stack; $i >= 0; $i--)
			{
				unshift @cycle, $stack[$i];
				last if $stack[$i] eq $to;
			}
			my $key = join(' ', sort @cycle);
			next if $seen_cycle{$key}++;
			print "check_layers: cycle: ", join(' -> ', @cycle, $to), "\n";
			$ncycles++;
		}
	}
	pop @stack;
	$state{$m} = 2;
}
visit($_) for sort keys %uses;

if ($ncycles)
{
	print "check_layers: FAILED, $ncycles cycle(s) among ", scalar(keys %uses), " modules\n";
	exit 1;
}

my %layer;
sub layer_of
{
	my ($m) = @_;
	return $layer{$m} if defined $layer{$m};
	my $l = 0;
	for my $to (keys %{ $uses{$m} })
	{
		my $t = layer_of($to) + 1;
		$l = $t if $t > $l;
	}
	return $layer{$m} = $l;
}
layer_of($_) for keys %uses;
my %by;
push @{ $by{ $layer{$_} } }, $_ for keys %layer;
for my $l (sort { $a <=> $b } keys %by)
{
	printf "layer %d: %s\n", $l, join(' ', sort @{ $by{$l} });
}
print "check_layers: ok, ", scalar(keys %uses), " modules, no cycle\n";
exit 0;
