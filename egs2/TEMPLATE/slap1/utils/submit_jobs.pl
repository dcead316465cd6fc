#!/usr/bin/env perl
# Run a command as one or several cluster jobs (Slurm or Sun/Univa Grid Engine), each
# writing its own log file, and wait for them: the cluster counterpart of utils/run.pl.
# Recipes call it through utils/slurm.pl or utils/queue.pl (see cmd.sh).
#
#   utils/slurm.pl [options] [VAR=START:END] LOGFILE COMMAND [ARG...]
#   utils/queue.pl [options] [VAR=START:END] LOGFILE COMMAND [ARG...]
#
# The job range, the VAR substitution, the argument quoting and the log format (command line,
# start time, "# Ended (code N)") are those of run.pl. All jobs go in one array job submitted
# with "sbatch --wait" or "qsub -sync y" from the current directory with the current
# environment; the job script is kept in <log dir>/q/.
#
# Options (each takes a value):
#   --mem X            memory per job, e.g. 4G
#                      (slurm --mem; grid engine -l mem_free,ram_free)
#   --gpu N            GPUs per job                    (slurm --gres=gpu:N; grid engine -l gpu=N)
#   --num-threads N    CPU cores per job
#                      (slurm --cpus-per-task; grid engine -pe smp N)
#   --num-nodes N      machines per job, for ESPnet's launcher (slurm --nodes N --ntasks-per-node 1;
#                      grid engine -pe mpi N)
#   --max-jobs-run N   at most N jobs of the array at once (slurm %N; grid engine -tc N)
#   --time T           time limit (slurm --time; grid engine -l h_rt)
# Site-specific submission options (partition, queue, account) go in the environment:
# SLURM_PL_OPTS="--partition gpu" or QUEUE_PL_OPTS="-q all.q".
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(basename dirname);
use File::Path qw(make_path);

sub fail { print STDERR @_; exit 1; }

my $backend = "";
if (@ARGV >= 2 && $ARGV[0] eq "--backend") { shift @ARGV; $backend = shift @ARGV; }
fail("submit_jobs.pl: --backend slurm or --backend sge comes first (use utils/slurm.pl or "
  . "utils/queue.pl)\n") unless $backend eq "slurm" || $backend eq "sge";
my $me = $backend eq "slurm" ? "slurm.pl" : "queue.pl";
my $usage = "usage: utils/$me [--mem X] [--gpu N] [--num-threads N] [--num-nodes N]"
  . " [--max-jobs-run N] [--time T] [VAR=START:END] LOGFILE COMMAND [ARG...]\n";

my %request;
while (@ARGV && $ARGV[0] =~ m/^--/) {
    my $option = shift @ARGV;
    fail("$me: option $option needs a value\n$usage") unless @ARGV;
    my $value = shift @ARGV;
    (my $name = $option) =~ s/^--//;
    $name =~ s/-/_/g;
    fail("$me: unknown option $option\n$usage")
      unless $name =~ m/^(mem|gpu|num_threads|num_nodes|max_jobs_run|time)$/;
    fail("$me: $option takes a number, got '$value'\n")
      if $name =~ m/^(gpu|num_threads|num_nodes|max_jobs_run)$/ && $value !~ m/^[0-9]+$/;
    $request{$name} = $value;
}

my ($job_var, $first, $last) = ("", 1, 1);
if (@ARGV && $ARGV[0] =~ m/^([A-Za-z_][A-Za-z0-9_]*)=(\d+):(\d+)$/) {
    ($job_var, $first, $last) = ($1, $2, $3);
    shift @ARGV;
    fail("$me: empty job range $job_var=$first:$last\n") if $first > $last;
}
fail($usage) if @ARGV < 2;
my $log_template = shift @ARGV;
my @command_template = @ARGV;
fail("$me: $job_var=$first:$last runs several jobs; the log file name '$log_template' must "
  . "contain $job_var\n") if $last > $first && index($log_template, $job_var) < 0;

sub substitute {
    my ($text, $job_id) = @_;
    $text =~ s/\Q$job_var\E/$job_id/g if $job_var ne "";
    return $text;
}

sub single_quoted {
    my ($text) = @_;
    $text =~ s/'/'\\''/g;
    return "'$text'";
}

my $shell_operator = qr/^(\|\|?|&&|;|[0-9]*>>?|[0-9]*<|[0-9]*>&[0-9]+|&>)$/;

sub command_line {
    my ($job_id) = @_;
    my @words = map { substitute($_, $job_id) } @command_template;
    return join(" ", map {
        ($_ =~ m/^[A-Za-z0-9_.\/:=,+@%-]+$/ || $_ =~ m/$shell_operator/) ? $_ : single_quoted($_)
    } @words);
}

# The job script: picks its job from the array task id, runs it, logs like run.pl.
(my $name = basename(substitute($log_template, "")) ) =~ s/\.log$//;
$name =~ s/[^A-Za-z0-9_.-]/_/g;
$name =~ s/\.+$//;
my $queue_dir = dirname($log_template) . "/q";
$queue_dir = substitute($queue_dir, $first);
make_path($queue_dir) unless -d $queue_dir;
my $script = "$queue_dir/$name.sh";
my $task_var = $backend eq "slurm" ? "SLURM_ARRAY_TASK_ID" : "SGE_TASK_ID";
my $threads = $request{num_threads} // 1;
open(my $fh, ">", $script) or fail("$me: cannot write $script: $!\n");
print $fh "#!/usr/bin/env bash\n# Written by utils/$me; runs one job of the array.\n";
print $fh "cd " . single_quoted(getcwd()) . " || exit 1\n";
print $fh "id=\${$task_var:-$first}\n[[ \"\${id}\" =~ ^[0-9]+\$ ]] || id=$first\n";
print $fh "case \"\${id}\" in\n";
for my $job_id ($first .. $last) {
    print $fh "    $job_id) log=" . single_quoted(substitute($log_template, $job_id))
      . "; command=" . single_quoted(command_line($job_id)) . " ;;\n";
}
print $fh "    *) echo \"no job \${id} in $first..$last\" >&2; exit 1 ;;\nesac\n";
print $fh <<'BODY';
mkdir -p "$(dirname "${log}")"
printf '# %s\n# Started at %s on %s\n#\n' "${command}" "$(date)" "$(hostname)" >"${log}"
start=$(date +%s)
bash -c "${command}" </dev/null >>"${log}" 2>&1
code=$?
elapsed=$(( $(date +%s) - start ))
BODY
print $fh "echo \"# Accounting: time=\${elapsed} threads=$threads\" >>\"\${log}\"\n";
print $fh "echo \"# Ended (code \${code}) at \$(date), elapsed time \${elapsed} seconds\""
  . " >>\"\${log}\"\n";
print $fh "exit \${code}\n";
close($fh);
chmod(0755, $script);

my @submit;
my $n_jobs = $last - $first + 1;
if ($backend eq "slurm") {
    @submit = ("sbatch", "--wait", "--job-name", $name, "--output", "/dev/null");
    push @submit, "--array",
      "$first-$last" . ($request{max_jobs_run} ? "%$request{max_jobs_run}" : "")
      if $job_var ne "";
    push @submit, "--mem", $request{mem} if defined $request{mem};
    push @submit, "--gres", "gpu:$request{gpu}" if ($request{gpu} // 0) > 0;
    push @submit, "--cpus-per-task", $request{num_threads} if defined $request{num_threads};
    push @submit, "--nodes", $request{num_nodes}, "--ntasks-per-node", "1"
      if ($request{num_nodes} // 1) > 1;
    push @submit, "--time", $request{time} if defined $request{time};
    push @submit, split(" ", $ENV{SLURM_PL_OPTS} // "");
} else {
    @submit = ("qsub", "-sync", "y", "-cwd", "-V", "-N", $name, "-j", "y", "-o", "/dev/null",
               "-S", "/bin/bash");
    push @submit, "-t", "$first:$last" if $job_var ne "";
    push @submit, "-tc", $request{max_jobs_run} if $request{max_jobs_run};
    push @submit, "-l", "mem_free=$request{mem},ram_free=$request{mem}" if defined $request{mem};
    push @submit, "-l", "gpu=$request{gpu}" if ($request{gpu} // 0) > 0;
    push @submit, "-pe", "smp", $request{num_threads} if ($request{num_threads} // 1) > 1;
    push @submit, "-pe", "mpi", $request{num_nodes} if ($request{num_nodes} // 1) > 1;
    push @submit, "-l", "h_rt=$request{time}" if defined $request{time};
    push @submit, split(" ", $ENV{QUEUE_PL_OPTS} // "");
}
push @submit, $script;
my $status = do { no warnings "exec"; system(@submit) };  # a missing scheduler is reported below
fail("$me: cannot run $submit[0] (is this a $backend cluster?): $!\n") if $status == -1;

# A job failed when its log does not end with "# Ended (code 0)".
my @failed;
for my $job_id ($first .. $last) {
    my $log = substitute($log_template, $job_id);
    my $ok = 0;
    if (open(my $log_fh, "<", $log)) {
        while (<$log_fh>) { $ok = m/^# Ended \(code 0\)/ ? 1 : ($_ =~ m/^# Ended/ ? 0 : $ok); }
    }
    push @failed, $log unless $ok;
}
if (@failed) {
    print STDERR "$me: " . scalar(@failed) . " / $n_jobs failed, log is in @failed\n";
    exit 1;
}
fail("$me: $submit[0] exited with status " . ($status >> 8) . "\n") if $status != 0;
exit 0;
