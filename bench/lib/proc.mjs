// What the kernel says about a process and the machine: RSS and CPU time from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let ticksPerSecond;
/** USER_HZ: the unit of /proc CPU times. */
export function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Resident set size of `pid` in bytes (`VmRSS` of /proc/<pid>/status). */
export function rssBytes(pid) {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * The part of `pid`'s RSS that is its own (`RssAnon` + `RssShmem`): the rest (`RssFile`) is pages of
 * files it maps, mostly the Node.js binary's code and data, shared and clean, which the kernel can
 * drop and read again.
 */
export function privateRssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = name => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN);
  return (kB('RssAnon') + kB('RssShmem')) * 1024;
}

/** CPU time (user + system, all threads) `pid` has used so far, in ms. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / clockTicks();
}

/** Busy and total jiffies of all CPUs (/proc/stat), for measuring how loaded the machine is. */
function machineJiffies() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0); // idle + iowait
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/** Fraction (0..1) of all CPUs that was busy during `ms` of waiting. */
export async function machineBusy(ms) {
  const before = machineJiffies();
  await new Promise(resolve => setTimeout(resolve, ms));
  const after = machineJiffies();
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}

/** Pids of live processes whose command line contains `text`. */
export function processesWith(text) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${entry}/status`, 'utf8'))) continue;
      pids.push(Number(entry));
    } catch {
      // it ended while we looked
    }
  }
  return pids;
}

/** Context switches of `pid`'s main thread so far: voluntary (it waited) and involuntary (preempted). */
export function contextSwitches(pid) {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return {
    voluntary: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    involuntary: Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0)
  };
}
