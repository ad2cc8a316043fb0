// ICMP "ping" sockets (issue 11): SOCK_DGRAM/IPPROTO_ICMP (and ICMPv6) with echo replies queued.
// Their queue cannot be peeked past the first reply (no SO_PEEK_OFF): the agent reads the replies
// and asks for them again at once from loopback, so the live program finds them as they were;
// the restart does the same on the rebuilt socket (same identifier). net.ipv4.ping_group_range
// decides who may open them: when it forbids this user here, the test runs the program in a
// network namespace of its own where root allows them (root only), else it says why it skips.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { sockStateAcrossRestart } from './helpers/sockstate.js'
import { runAs } from './helpers/amber.js'

function pingAllowedHere(): boolean {
  const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number)
  const who = runAs()
  const gids = who ? [who.gid] : (process.getgroups?.() ?? []).concat(process.getgid?.() ?? 0)
  return gids.some((g) => g >= lo! && g <= hi!)
}

function canUnshare(): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('unshare', ['-n', 'true'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

t.test('ICMP ping sockets keep their identifier and queued replies', async (t) => {
  let prefix: string[] | undefined
  if (!pingAllowedHere()) {
    if (!canUnshare()) {
      t.skip('ping sockets are forbidden for this user by net.ipv4.ping_group_range, and no network namespace can be made to allow them')
      return
    }
    // launch and restart each in a new network namespace where every group may ping (loopback up).
    prefix = ['unshare', '-n', 'sh', '-c', 'ip link set lo up && sysctl -qw net.ipv4.ping_group_range="0 2147483647" && exec "$@"', 'sh']
    t.comment('ping sockets forbidden here: running in network namespaces that allow them')
  }
  const r = await sockStateAcrossRestart(t, 'sock_icmp', { skipIf: /^SKIP/, prefix })
  if (!r) t.skip('ping sockets forbidden by net.ipv4.ping_group_range')
})
