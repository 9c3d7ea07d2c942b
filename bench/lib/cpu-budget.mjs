// Where the machine's CPU went during a run, per call: the gateway, the MCP server in its
// container, the Docker engine relaying the container's stdio, the bench itself (the load
// generator), and everything else on the machine (other people's work). On a 2-core machine
// these share two cores, so their sum per call bounds the calls per second any of them can reach.
import { readdirSync, readFileSync } from 'node:fs';
import { clockTicks, cpuMs } from './proc.mjs';

function pidsNamed(names) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Jiffies the whole machine spent busy, in ms (all CPUs). */
function machineBusyMs() {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = values.reduce((sum, value) => sum + value, 0) - values[3] - (values[4] ?? 0);
  return (busy * 1000) / clockTicks();
}

/** CPU ms of each of `pids` that is still alive. */
function cpuByPid(pids) {
  const cpu = new Map();
  for (const pid of pids) {
    try {
      cpu.set(pid, cpuMs(pid));
    } catch {
      // gone
    }
  }
  return cpu;
}

/** CPU ms the processes alive at both readings used between them (one that ended is left out). */
function spent(before, after) {
  let total = 0;
  for (const [pid, ms] of after) if (before.has(pid)) total += ms - before.get(pid);
  return total;
}

/**
 * The processes to watch: `gatewayPid` (may be undefined for a direct run), the container's main
 * process (`serverPid`, from the engine), and the engine's own daemons plus `relayPids` (the docker
 * CLI of a `docker run -i`, which relays its stdio), counted as the engine.
 */
export function cpuBudget({ gatewayPid, serverPid, relayPids = [] }) {
  const engine = [
    ...pidsNamed(['dockerd', 'containerd', 'containerd-shim', 'containerd-shim-runc-v2']),
    ...relayPids
  ];
  const read = () => ({
    gateway: cpuByPid(gatewayPid ? [gatewayPid] : []),
    server: cpuByPid(serverPid ? [serverPid] : []),
    engine: cpuByPid(engine),
    bench: new Map([[process.pid, (process.cpuUsage().user + process.cpuUsage().system) / 1000]]),
    machine: new Map([[0, machineBusyMs()]])
  });
  const before = read();
  /** µs of CPU per call since the budget was opened. */
  return calls => {
    const after = read();
    const per = key => Math.round((spent(before[key], after[key]) * 1000) / Math.max(1, calls));
    const result = {
      gateway: per('gateway'),
      server: per('server'),
      engine: per('engine'),
      bench: per('bench')
    };
    result.other = Math.max(
      0,
      per('machine') - result.gateway - result.server - result.engine - result.bench
    );
    return result;
  };
}

/** The main process of the (one) running container carrying `label`. */
export async function containerPid(docker, label) {
  const [info] = await docker.listContainers({ filters: { label: [label] } });
  if (!info) return undefined;
  const inspected = await docker.getContainer(info.Id).inspect();
  return inspected.State.Pid || undefined;
}
