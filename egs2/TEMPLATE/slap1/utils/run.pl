#!/usr/bin/env perl
# Run a command as one or several local jobs, each writing its own log file.
#
#   utils/run.pl [options] [VAR=START:END] LOGFILE COMMAND [ARG...]
#
# With a range such as JOB=1:4 the command runs once per job id (1, 2, 3, 4), all in
# parallel; every occurrence of VAR (here "JOB") in LOGFILE and in the arguments is replaced
# by the id. Without a range the command runs once. The arguments are joined into one bash
# command line: pipes and redirections given as separate arguments ("|", ">", "2>&1", "&&",
# ";", ...) act as in a shell, every other argument reaches the command unchanged (it is
# quoted when it holds characters the shell would interpret).
#
# Each log starts with the command line and the start time, and ends with the duration
# and the exit code. The exit status is 0 when every job succeeded; otherwise run.pl names
# the failed logs on stderr and exits 1.
#
# Options:
#   --max-jobs-run N   run at most N jobs at the same time (default: all of them)
#   --mem X, --gpu N, --num-threads N
#                      resource requests of cluster job runners; accepted so that recipes
#                      can pass them, and ignored: every job runs on this machine
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use POSIX qw(strftime);

my $usage = "usage: utils/run.pl [--max-jobs-run N] [--mem X] [--gpu N] [--num-threads N]"
  . " [VAR=START:END] LOGFILE COMMAND [ARG...]\n";

sub fail { print STDERR @_; exit 1; }

my $max_jobs_run = 0;
while (@ARGV && $ARGV[0] =~ m/^--/) {
    my $option = shift @ARGV;
    fail("run.pl: option $option needs a value\n$usage") unless @ARGV;
    my $value = shift @ARGV;
    if ($option eq "--max-jobs-run" || $option eq "--max_jobs_run") {
        fail("run.pl: --max-jobs-run takes a positive integer, got '$value'\n")
          unless $value =~ m/^[1-9][0-9]*$/;
        $max_jobs_run = $value;
    } elsif ($option !~ m/^--(mem|gpu|num[-_]threads)$/) {
        fail("run.pl: unknown option $option\n$usage");
    }
}

my ($job_var, $first, $last) = ("", 1, 1);
if (@ARGV && $ARGV[0] =~ m/^([A-Za-z_][A-Za-z0-9_]*)=(\d+):(\d+)$/) {
    ($job_var, $first, $last) = ($1, $2, $3);
    shift @ARGV;
    fail("run.pl: empty job range $job_var=$first:$last\n") if $first > $last;
} elsif (@ARGV && $ARGV[0] =~ m/^[A-Za-z_][A-Za-z0-9_]*=/) {
    fail("run.pl: cannot parse the job range '$ARGV[0]' (expected e.g. JOB=1:4)\n");
}
fail($usage) if @ARGV < 2;
my $log_template = shift @ARGV;
my @command_template = @ARGV;
if ($last > $first && index($log_template, $job_var) < 0) {
    fail("run.pl: $job_var=$first:$last runs several jobs; the log file name "
      . "'$log_template' must contain $job_var\n");
}

# VAR replaced by the job id (no-op without a range).
sub substitute {
    my ($text, $job_id) = @_;
    $text =~ s/\Q$job_var\E/$job_id/g if $job_var ne "";
    return $text;
}

# Arguments passed to bash unquoted: pipes, lists and redirections.
my $shell_operator = qr/^(\|\|?|&&|;|[0-9]*>>?|[0-9]*<|[0-9]*>&[0-9]+|&>)$/;

# The bash command line of one job, with arguments quoted as needed.
sub command_line {
    my ($job_id) = @_;
    my @words;
    foreach my $arg (@command_template) {
        my $word = substitute($arg, $job_id);
        if ($word !~ m/^[A-Za-z0-9_.\/:=,+@%-]+$/ && $word !~ m/$shell_operator/) {
            $word =~ s/'/'\\''/g;
            $word = "'$word'";
        }
        push @words, $word;
    }
    return join(" ", @words);
}

sub log_path { return substitute($log_template, $_[0]); }

sub now { return strftime("%a %b %e %H:%M:%S %Z %Y", localtime); }

# Child side of a job: its own process group, stdin from /dev/null, output to the log.
sub run_job {
    my ($job_id) = @_;
    my $log = log_path($job_id);
    my $command = command_line($job_id);
    setpgrp(0, 0);
    open(STDIN, "<", "/dev/null") or die "run.pl: /dev/null: $!\n";
    open(my $log_fh, ">", $log) or die "run.pl: cannot write the log file $log: $!\n";
    $log_fh->autoflush(1);
    print $log_fh "# $command\n# Started at " . now() . "\n#\n";
    open(STDOUT, ">&", $log_fh) or die "run.pl: cannot redirect stdout to $log: $!\n";
    open(STDERR, ">&", $log_fh) or die "run.pl: cannot redirect stderr to $log: $!\n";
    my $start = time();
    system("bash", "-c", $command);
    my $status = $?;
    my $code = $status == -1 ? 127 : ($status & 127 ? 128 + ($status & 127) : $status >> 8);
    my $elapsed = time() - $start;
    print $log_fh "# Accounting: time=$elapsed threads=1\n";
    print $log_fh "# Ended (code $code) at " . now() . ", elapsed time $elapsed seconds\n";
    POSIX::_exit($code == 0 ? 0 : 1);
}

my %job_of_pid;
my @failed;

sub stop_all_jobs {
    my ($signal) = @_;
    kill("TERM", map { -$_ } keys %job_of_pid);
    print STDERR "run.pl: interrupted by SIG$signal; jobs stopped\n";
    exit 1;
}
$SIG{INT} = \&stop_all_jobs;
$SIG{TERM} = \&stop_all_jobs;

sub reap_one {
    my $pid = waitpid(-1, 0);
    return if $pid <= 0 || !exists $job_of_pid{$pid};
    push @failed, $job_of_pid{$pid} if $? != 0;
    delete $job_of_pid{$pid};
}

for my $job_id ($first .. $last) {
    my $log_dir = dirname(log_path($job_id));
    make_path($log_dir) unless -d $log_dir;
    reap_one() while $max_jobs_run > 0 && keys(%job_of_pid) >= $max_jobs_run;
    my $pid = fork();
    fail("run.pl: fork failed: $!\n") unless defined $pid;
    run_job($job_id) if $pid == 0;
    $job_of_pid{$pid} = $job_id;
}
reap_one() while %job_of_pid;

if (@failed) {
    my $n_jobs = $last - $first + 1;
    my @logs = map { log_path($_) } sort { $a <=> $b } @failed;
    print STDERR "run.pl: " . scalar(@failed) . " / $n_jobs failed, log is in "
      . join(" ", @logs) . "\n";
    exit 1;
}
exit 0;
