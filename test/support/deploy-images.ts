// Images for the deployment tests. No registry is reachable, so `node:24-slim` is stood in for by
// a base image made the way the fixture images are (a root filesystem imported through the
// engine): Node 24, npm, /bin/sh, /usr/bin/env, mkdir and chown, the `node` user and the CA
// bundle. The project's Dockerfile is then built on it through the engine's build endpoint with
// the legacy builder and host networking, so `npm ci` inside the build reaches the npm registry.
import { execFile, spawn } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import {
  CONTENT_LABEL,
  findNodeRuntime,
  type ImageSpec,
  importRootfs,
  inspectImage,
  parseLdd,
  removeIfDangling,
  sha256,
  writeBaseRootfs
} from './docker-images.js';

const execFileAsync = promisify(execFile);

export const DEPLOY_IMAGE_TAGS = {
  /** The stand-in for `node:24-slim`. */
  base: 'mcp-gateway-test/node-base:24',
  /** The project's Dockerfile, built on {@link DEPLOY_IMAGE_TAGS.base}. */
  gateway: 'mcp-gateway-test/gateway:latest'
} as const;

/** Bump when the way the base image is put together changes. */
const RECIPE_VERSION = '1';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Programs the Dockerfile's RUN lines and npm need, and where the image has them. */
const TOOLS: Record<string, string> = {
  sh: 'bin/sh',
  env: 'usr/bin/env',
  mkdir: 'bin/mkdir',
  chown: 'bin/chown'
};

/** The official Node images' users: root, and `node` with uid and gid 1000. */
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n';
const GROUP = 'root:x:0:\nnode:x:1000:\n';

const CHANGES = [
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  // Package downloads here pass a TLS proxy that only this bundle trusts.
  `ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`,
  'CMD ["node"]'
];

/** Makes sure the base image exists and is current (skipped when its content label matches). */
export async function ensureNodeBaseImage(docker: Docker = new Docker()): Promise<string> {
  const runtime = await findNodeRuntime();
  const npm = await findNpm();
  const tools = await Promise.all(
    Object.entries(TOOLS).map(async ([name, target]) => ({ target, ...(await hostProgram(name)) }))
  );
  const caBundle = await fs.readFile(CA_BUNDLE);
  const inputs = [
    `recipe ${RECIPE_VERSION}`,
    ...CHANGES.map(change => `change ${change}`),
    ...runtime.fingerprint,
    `npm ${npm.version} ${npm.dir}`,
    ...tools.map(tool => `tool ${tool.target} ${tool.fingerprint}`),
    `passwd ${sha256(PASSWD)} group ${sha256(GROUP)} ca ${sha256(caBundle)}`
  ];
  const spec: ImageSpec = {
    tag: DEPLOY_IMAGE_TAGS.base,
    changes: CHANGES,
    files: [],
    packages: [],
    hash: sha256(inputs.join('\n'))
  };
  const existing = await inspectImage(docker, spec.tag);
  if (existing?.Config?.Labels?.[CONTENT_LABEL] === spec.hash) return spec.tag;

  const started = performance.now();
  const rootfs = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-gateway-test-base-'));
  try {
    await writeBaseRootfs(runtime, rootfs);
    // As in the official images: npm under /usr/local/lib, linked from /usr/local/bin.
    const npmTarget = path.join(rootfs, 'usr', 'local', 'lib', 'node_modules', 'npm');
    await fs.cp(npm.dir, npmTarget, { recursive: true, verbatimSymlinks: true });
    for (const [bin, script] of [
      ['npm', 'npm-cli.js'],
      ['npx', 'npx-cli.js']
    ] as const) {
      await fs.symlink(
        `../lib/node_modules/npm/bin/${script}`,
        path.join(rootfs, 'usr', 'local', 'bin', bin)
      );
    }
    for (const tool of tools) {
      await copyWithParents(tool.binary, path.join(rootfs, tool.target), 0o755);
      for (const library of tool.libraries) {
        const target = path.join(rootfs, library);
        if (!(await exists(target))) await copyWithParents(await fs.realpath(library), target);
      }
    }
    await copyWithParents(CA_BUNDLE, path.join(rootfs, CA_BUNDLE));
    await fs.writeFile(path.join(rootfs, 'etc', 'passwd'), PASSWD);
    await fs.writeFile(path.join(rootfs, 'etc', 'group'), GROUP);
    await fs.mkdir(path.join(rootfs, 'root'), { mode: 0o700 });
    await importRootfs(docker, rootfs, spec);
  } finally {
    await fs.rm(rootfs, { recursive: true, force: true });
  }
  await removeIfDangling(docker, spec.tag, existing?.Id);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`[deploy-images] built ${spec.tag} in ${seconds} s\n`);
  return spec.tag;
}

export interface GatewayBuild {
  readonly tag: string;
  readonly id: string;
  /** The builder's output, step by step. */
  readonly output: string;
  readonly seconds: number;
}

/**
 * `docker build --network host --build-arg NODE_IMAGE=<base> -t <tag> .` of the repository, with
 * the context filtered by its .dockerignore, through the engine's build endpoint (legacy builder).
 */
export async function buildGatewayImage(
  baseImage: string,
  docker: Docker = new Docker(),
  tag: string = DEPLOY_IMAGE_TAGS.gateway
): Promise<GatewayBuild> {
  const started = performance.now();
  const previous = await inspectImage(docker, tag);
  const tar = spawn('tar', ['-C', repoRoot, '-cf', '-', ...(await contextEntries())], {
    stdio: ['ignore', 'pipe', 'inherit']
  });
  const tarExit = new Promise<number | null>(resolve => tar.once('close', resolve));
  // A stream, not dockerode's { context, src }: dockerode matches .dockerignore patterns against
  // absolute paths inside directories, which empties every directory under an allowlist.
  const stream = await docker.buildImage(tar.stdout, {
    t: tag,
    buildargs: { NODE_IMAGE: baseImage },
    networkmode: 'host',
    version: '1',
    forcerm: true
  });
  const events = await new Promise<BuildEvent[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, result: BuildEvent[]) =>
      error ? reject(error) : resolve(result)
    );
  });
  const output = events.map(event => event.stream ?? '').join('');
  if ((await tarExit) !== 0) throw new Error('tar could not pack the build context');
  const failed = events.find(event => event.error || event.errorDetail);
  // The build stage's last image is untagged and 400 MB (and a failed build leaves its last step
  // behind): remove them with their untagged parents rather than leave some per source change.
  for (const id of [firstStageImage(output), failed ? lastImage(output) : undefined]) {
    if (id)
      await docker
        .getImage(id)
        .remove()
        .catch(() => undefined);
  }
  if (failed) {
    throw new Error(`docker build failed: ${failed.errorDetail?.message ?? failed.error}\n${output}`);
  }
  const built = await inspectImage(docker, tag);
  if (!built) throw new Error(`docker build reported success but ${tag} is missing\n${output}`);
  await removeIfDangling(docker, tag, previous?.Id);
  return { tag, id: built.Id, output, seconds: (performance.now() - started) / 1000 };
}

/** The id of the first stage's last image, read from the legacy builder's step output. */
function firstStageImage(output: string): string | undefined {
  const lines = output.split('\n');
  const froms = lines.flatMap((line, index) => (/^Step \d+\/\d+ : FROM /.test(line) ? [index] : []));
  return froms.length < 2 ? undefined : lastImage(lines.slice(0, froms[1]).join('\n'));
}

/** The last image id the legacy builder printed (` ---> 0123456789ab`). */
function lastImage(output: string): string | undefined {
  return [...output.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].at(-1)?.[1];
}

/**
 * The top-level entries of the repository that its .dockerignore lets into the build context.
 * It is an allowlist (`*`, then `!name` lines); the last matching line decides, as in Docker.
 * Any other kind of pattern is refused here rather than half understood.
 */
async function contextEntries(): Promise<string[]> {
  const patterns = (await fs.readFile(path.join(repoRoot, '.dockerignore'), 'utf8'))
    .split('\n')
    .map(line => line.trim())
    .filter(line => line !== '' && !line.startsWith('#'));
  for (const pattern of patterns) {
    if (!/^(\*|!?[\w.-]+)$/.test(pattern))
      throw new Error(`.dockerignore: the tests understand only "*" and "!name" lines, not ${pattern}`);
  }
  const included = (name: string) =>
    patterns.reduce(
      (keep, pattern) =>
        pattern === '*' ? false : pattern.replace(/^!/, '') === name ? pattern.startsWith('!') : keep,
      true
    );
  return (await fs.readdir(repoRoot)).filter(included).sort();
}

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** The npm CLI on the PATH (the one that runs under the project's Node). */
async function findNpm(): Promise<{ dir: string; version: string }> {
  const { binary } = await hostProgram('npm', false);
  // bin/npm is a link to <npm package>/bin/npm-cli.js.
  const dir = path.dirname(path.dirname(binary));
  const manifest = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as {
    name?: string;
    version?: string;
  };
  if (manifest.name !== 'npm') throw new Error(`${binary} is not part of the npm package`);
  return { dir, version: manifest.version ?? 'unknown' };
}

/** A program on the PATH: its real file, and (for a binary) the shared libraries `ldd` lists. */
async function hostProgram(
  name: string,
  native = true
): Promise<{ binary: string; libraries: string[]; fingerprint: string }> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      await fs.access(path.join(dir, name), constants.X_OK);
    } catch {
      continue;
    }
    const binary = await fs.realpath(path.join(dir, name));
    const stat = await fs.stat(binary);
    const libraries = native ? parseLdd((await execFileAsync('ldd', [binary])).stdout) : [];
    return {
      binary,
      libraries,
      fingerprint: `${binary} size=${stat.size} mtime=${Math.trunc(stat.mtimeMs)}`
    };
  }
  throw new Error(`${name} is not on the PATH; the deployment tests' base image needs it`);
}

async function copyWithParents(source: string, target: string, mode?: number): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.copyFile(source, target);
  if (mode !== undefined) await fs.chmod(target, mode);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
