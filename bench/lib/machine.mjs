// What the figures were measured on: recorded with every result, since they mean nothing without it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './gateway.mjs';
import { machineBusy } from './proc.mjs';

function git(...args) {
  try {
    return execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim();
  } catch {
    return undefined;
  }
}

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function osName() {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(release)?.[1] ?? `${os.type()} ${os.release()}`;
  } catch {
    return `${os.type()} ${os.release()}`;
  }
}

/** The machine, the versions, and how busy the machine was just before the run. */
export async function describeMachine(docker) {
  const version = await docker.version();
  const busyBefore = await machineBusy(2_000);
  const dirty = git('status', '--porcelain', '--untracked-files=no');
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${osName()} (kernel ${os.release()})`,
    node: process.version,
    docker: `${version.Version} (API ${version.ApiVersion})`,
    sdk: {
      client: packageVersion('@modelcontextprotocol/client'),
      server: packageVersion('@modelcontextprotocol/server'),
      node: packageVersion('@modelcontextprotocol/node')
    },
    gateway: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    commit: git('rev-parse', '--short=12', 'HEAD') ?? 'unknown',
    uncommittedChanges: dirty === undefined ? undefined : dirty.length > 0,
    loadAverageBefore: os.loadavg().map(load => Math.round(load * 100) / 100),
    busyBeforePercent: Math.round(busyBefore * 1000) / 10
  };
}
