// lib/slurm.ts and `amber job` option handling, without a Slurm: what the job environment means,
// the per-job directory, scontrol's output, the printed job script.
import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultJobDir, jobSocketPath, parseScontrol, safeName, sbatchExample, slurmContext } from '../lib/slurm.js'
import { repoRoot } from './helpers/fixtures.js'

const jobCli = join(repoRoot, 'dist', 'lib', 'job-cli.js')

t.test('slurmContext', async (t) => {
  const none = slurmContext({})
  t.equal(none.jobId, undefined)
  t.equal(none.restartCount, 0)
  t.equal(none.ntasks, 1)
  t.equal(none.rank, 0)
  const batch = slurmContext({ SLURM_JOB_ID: '42', SLURM_JOB_NAME: 'sim', SLURM_NTASKS: '4', SLURM_PROCID: '0', SLURM_RESTART_COUNT: '2' })
  t.equal(batch.jobId, '42')
  t.equal(batch.restartCount, 2)
  t.equal(batch.inStep, false)
  t.equal(batch.ntasks, 1, 'the batch script is one task, whatever --ntasks says')
  const step = slurmContext({ SLURM_JOB_ID: '42', SLURM_STEP_ID: '0', SLURM_STEP_NUM_TASKS: '4', SLURM_PROCID: '3' })
  t.equal(step.inStep, true)
  t.equal(step.ntasks, 4)
  t.equal(step.rank, 3)
  t.equal(slurmContext({ SLURM_RESTART_COUNT: 'x' }).restartCount, 0, 'garbage counts as a first run')
})

t.test('defaultJobDir', async (t) => {
  t.equal(defaultJobDir(slurmContext({}), {}, '/w'), '/w', 'outside Slurm: the current directory')
  t.equal(defaultJobDir(slurmContext({ SLURM_JOB_ID: '7' }), { AMBER_DIR: 'ck' }, '/w'), '/w/ck', '$AMBER_DIR first')
  const env = { SLURM_JOB_ID: '7', SLURM_JOB_NAME: 'my job/x', SLURM_SUBMIT_DIR: '/home/u/run' }
  t.equal(defaultJobDir(slurmContext(env), env, '/elsewhere'), '/home/u/run/amber-my_job_x-7', 'SUBMIT_DIR/amber-NAME-ID')
  t.equal(safeName('..'), '_')
  t.equal(safeName(''), 'job')
  t.equal(jobSocketPath('/short'), '/short/.amber/coord.sock')
  const long = '/' + 'd'.repeat(120)
  t.ok(Buffer.byteLength(jobSocketPath(long)) <= 107, 'a long DIR gets a socket path that fits sun_path')
  t.equal(jobSocketPath(long), jobSocketPath(long), 'every task computes the same one')
})

t.test('parseScontrol', async (t) => {
  const j = parseScontrol('JobId=12 JobName=a b=c UserId=root(0) Requeue=1 Restarts=2 BatchFlag=1 JobState=RUNNING Reason=None')
  t.equal(j.JobId, '12')
  t.equal(j.Requeue, '1')
  t.equal(j.Restarts, '2')
  t.equal(j.JobState, 'RUNNING')
})

t.test('sbatchExample', async (t) => {
  const one = sbatchExample({ command: ['./sim', 'a b'], lead: 90 })
  t.match(one, /^#SBATCH --signal=B:USR1@90$/m)
  t.match(one, /^#SBATCH --requeue$/m)
  t.match(one, /^#SBATCH --open-mode=append$/m)
  t.match(one, /^amber job -- \.\/sim 'a b' &$/m, 'the command runs in the background, quoted')
  t.match(one, /^while wait \$pid; /m, 'and the script waits for it')
  t.ok(one.indexOf('trap ') < one.indexOf('amber job --'), 'the trap is set before amber starts')
  const many = sbatchExample({ ntasks: 3, interval: 600 })
  t.match(many, /^srun amber job --interval 600 -- \.\/my-program &$/m)
  t.match(many, /^trap 'amber job --usr1' USR1$/m, 'srun is not signalled')
  const r = spawnSync('bash', ['-n'], { input: many })
  t.equal(r.status, 0, 'the script parses')
})

t.test('CLI: usage errors and help', async (t) => {
  const run = (args: string[]) => spawnSync(process.execPath, [jobCli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })
  const noCmd = run(['job'])
  t.equal(noCmd.status, 2)
  t.match(noCmd.stderr, /amber: job: no command given/)
  t.equal(run(['job', '--interval', '0', '--', 'true']).status, 2)
  t.equal(run(['job', '--bogus', '--', 'true']).status, 2)
  const usr1 = run(['job', '--usr1'])
  t.equal(usr1.status, 2)
  t.match(usr1.stderr, /not inside a Slurm job/)
  const help = run(['job', '--help'])
  t.equal(help.status, 0)
  t.match(help.stdout, /usage: amber job/)
  const ex = execFileSync(process.execPath, [jobCli, 'sbatch-example', '--ntasks', '2', '--', './x'], { encoding: 'utf8' })
  t.match(ex, /^srun amber job -- \.\/x &$/m)
  t.equal(run(['sbatch-example', '--ntasks', '0']).status, 2)
})

t.test('the program finishes by itself: its status, no requeue', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'amber-job-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const r = spawnSync(process.execPath, [jobCli, 'job', '--dir', dir, '--', '/bin/sh', '-c', 'echo hi; exit 7'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  })
  t.equal(r.status, 7, `exit status of the program; stderr: ${r.stderr}`)
  t.equal(r.stdout, 'hi\n', 'its output untouched')
  t.notMatch(r.stderr, /requeue/)
})
