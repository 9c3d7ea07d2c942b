// Builds the Docker images the integration tests run, without a registry: each image is a root
// filesystem (the Node 24 binary, the shared libraries `ldd` lists for it, and the app under /app)
// imported with the engine's import endpoint. Builds are idempotent: every image carries a label
// with a hash of its inputs, and an image whose label already matches is left alone.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const execFileAsync = promisify(execFile);

/** The label whose value is the hash of everything an image was built from. */
export const CONTENT_LABEL = 'io.mcp-gateway.test.content';

export const FIXTURE_IMAGE_TAGS = {
  node: 'mcp-gateway-test/node:24',
  fixture: 'mcp-gateway-test/fixture:latest',
  everything: 'mcp-gateway-test/everything:latest'
} as const;

/** Bump when the way images are put together changes, so existing images get rebuilt. */
const RECIPE_VERSION = '1';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const hostNodeModules = path.join(repoRoot, 'node_modules');
const fixtureServerFile = path.join(repoRoot, 'test', 'fixtures', 'fixture-server.mjs');
const everythingPackage = '@modelcontextprotocol/server-everything';

const baseChanges = ['ENV PATH=/usr/local/bin:/usr/bin:/bin', 'WORKDIR /app'];

export interface NodeRuntime {
  /** The real path of the Node binary on this machine. */
  binary: string;
  version: string;
  /** Paths of the shared libraries (and the dynamic loader) as `ldd` lists them. */
  libraries: string[];
  /** A stable description of the binary and libraries for the content hash. */
  fingerprint: string[];
}

interface PackageCopy {
  name: string;
  version: string;
  /** Where the package is on this machine. */
  source: string;
  /** Its path relative to node_modules, kept as-is in the image. */
  relative: string;
}

export interface ImageSpec {
  tag: string;
  changes: string[];
  files: { source: string; target: string }[];
  packages: PackageCopy[];
  hash: string;
}

/** Whether a Docker engine answers a ping within `timeoutMs`. */
export async function dockerAvailable(timeoutMs = 2_000): Promise<boolean> {
  const docker = new Docker({ timeout: timeoutMs });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>(resolve => {
    timer = setTimeout(() => resolve(false), timeoutMs + 250);
  });
  try {
    const ping = docker.ping().then(
      () => true,
      () => false
    );
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let pending: Promise<{ fixture: string; everything: string; node: string }> | undefined;

/**
 * Makes sure the test images exist and are up to date, building the ones that are missing or
 * whose inputs changed. Returns their tags.
 */
export async function ensureFixtureImages(): Promise<{ fixture: string; everything: string; node: string }> {
  pending ??= buildMissingImages().finally(() => {
    pending = undefined;
  });
  return pending;
}

async function buildMissingImages(): Promise<{ fixture: string; everything: string; node: string }> {
  const docker = new Docker();
  const runtime = await findNodeRuntime();
  const fixtureSource = await fs.readFile(fixtureServerFile);

  const specs: ImageSpec[] = [
    imageSpec(runtime, FIXTURE_IMAGE_TAGS.node, [...baseChanges, 'CMD ["node"]'], [], []),
    imageSpec(
      runtime,
      FIXTURE_IMAGE_TAGS.fixture,
      [...baseChanges, 'CMD ["node","/app/fixture-server.mjs"]'],
      [{ source: fixtureServerFile, target: 'app/fixture-server.mjs' }],
      await dependencyClosure(['@modelcontextprotocol/server', '@modelcontextprotocol/core', 'zod']),
      [`fixture-server.mjs sha256=${sha256(fixtureSource)}`]
    ),
    imageSpec(
      runtime,
      FIXTURE_IMAGE_TAGS.everything,
      [...baseChanges, `CMD ["node","/app/node_modules/${everythingPackage}/dist/index.js","stdio"]`],
      [],
      await dependencyClosure([everythingPackage])
    )
  ];

  const stale: { spec: ImageSpec; previousId: string | undefined }[] = [];
  for (const spec of specs) {
    const existing = await inspectImage(docker, spec.tag);
    if (existing?.Config?.Labels?.[CONTENT_LABEL] !== spec.hash)
      stale.push({ spec, previousId: existing?.Id });
  }

  if (stale.length > 0) {
    const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-gateway-test-images-'));
    try {
      const base = path.join(workDir, 'base');
      await writeBaseRootfs(runtime, base);
      // One image at a time: each import streams ~130 MB and CI machines have two cores.
      for (const [index, { spec, previousId }] of stale.entries()) {
        const started = performance.now();
        const rootfs = path.join(workDir, `image-${index}`);
        await linkTree(base, rootfs);
        for (const file of spec.files) {
          const target = path.join(rootfs, file.target);
          await fs.mkdir(path.dirname(target), { recursive: true });
          await fs.copyFile(file.source, target);
        }
        await copyPackages(spec.packages, path.join(rootfs, 'app', 'node_modules'));
        await importRootfs(docker, rootfs, spec);
        await fs.rm(rootfs, { recursive: true, force: true });
        await removeIfDangling(docker, spec.tag, previousId);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        process.stderr.write(`[docker-images] built ${spec.tag} in ${seconds} s\n`);
      }
    } finally {
      await fs.rm(workDir, { recursive: true, force: true });
    }
  }

  return { ...FIXTURE_IMAGE_TAGS };
}

function imageSpec(
  runtime: NodeRuntime,
  tag: string,
  changes: string[],
  files: ImageSpec['files'],
  packages: PackageCopy[],
  extraInputs: string[] = []
): ImageSpec {
  const inputs = [
    `recipe ${RECIPE_VERSION}`,
    `tag ${tag}`,
    ...changes.map(change => `change ${change}`),
    ...runtime.fingerprint,
    ...extraInputs,
    ...packages.map(pkg => `package ${pkg.relative} ${pkg.name}@${pkg.version}`)
  ];
  return { tag, changes, files, packages, hash: sha256(inputs.join('\n')) };
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// The Node runtime

export async function findNodeRuntime(): Promise<NodeRuntime> {
  const binary = await findNodeBinary();
  const { stdout: versionOut } = await execFileAsync(binary, ['--version']);
  const version = versionOut.trim();
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (!(major >= 24)) throw new Error(`the test images need Node.js 24 or newer; ${binary} is ${version}`);

  const { stdout: lddOut } = await execFileAsync('ldd', [binary]);
  const libraries = parseLdd(lddOut);
  if (libraries.length === 0) throw new Error(`ldd listed no shared libraries for ${binary}`);

  const fingerprint = [`node ${version}`];
  for (const file of [binary, ...libraries]) {
    const real = await fs.realpath(file);
    const stat = await fs.stat(real);
    fingerprint.push(`file ${file} -> ${real} size=${stat.size} mtime=${Math.trunc(stat.mtimeMs)}`);
  }
  return { binary, version, libraries, fingerprint };
}

/** The project's own Node 24 (in .tools), else the one running this code, else `node` on the PATH. */
async function findNodeBinary(): Promise<string> {
  const candidates = [
    process.env.MCP_GATEWAY_TEST_NODE,
    path.join(repoRoot, '.tools', 'node_modules', 'node', 'bin', 'node'),
    Number(process.versions.node.split('.')[0]) >= 24 ? process.execPath : undefined,
    ...(process.env.PATH ?? '').split(path.delimiter).map(dir => (dir ? path.join(dir, 'node') : undefined))
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      await fs.access(candidate, constants.X_OK);
      return await fs.realpath(candidate);
    } catch {
      // try the next one
    }
  }
  throw new Error('no Node.js binary found for the test images');
}

/** Absolute paths from `ldd` output: `libc.so.6 => /lib/.../libc.so.6 (0x…)` and `/lib64/ld-linux….so.2 (0x…)`. */
export function parseLdd(output: string): string[] {
  const libraries = new Set<string>();
  for (const line of output.split('\n')) {
    const text = line.trim();
    if (!text || text.includes('=> not found')) {
      if (text) throw new Error(`ldd: ${text}`);
      continue;
    }
    const match = /=>\s*(\/\S+)/.exec(text) ?? /^(\/\S+)/.exec(text);
    if (match?.[1]) libraries.add(match[1]);
  }
  return [...libraries];
}

export async function writeBaseRootfs(runtime: NodeRuntime, dir: string): Promise<void> {
  const nodeTarget = path.join(dir, 'usr', 'local', 'bin', 'node');
  await fs.mkdir(path.dirname(nodeTarget), { recursive: true });
  await fs.copyFile(runtime.binary, nodeTarget);
  await fs.chmod(nodeTarget, 0o755);
  for (const library of runtime.libraries) {
    // Keep the path ldd gave (the loader's search path), with the contents of the real file.
    const target = path.join(dir, library);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(await fs.realpath(library), target);
  }
  await fs.mkdir(path.join(dir, 'app'), { recursive: true });
  await fs.mkdir(path.join(dir, 'tmp'), { recursive: true });
  await fs.chmod(path.join(dir, 'tmp'), 0o1777);
}

/** Recreates `from` at `to` with directories made anew and files hard-linked (no copying). */
async function linkTree(from: string, to: string): Promise<void> {
  const stat = await fs.lstat(from);
  await fs.mkdir(to, { mode: stat.mode & 0o7777 });
  await fs.chmod(to, stat.mode & 0o7777);
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await linkTree(source, target);
    else await fs.link(source, target);
  }
}

// ---------------------------------------------------------------------------------------------
// node_modules

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * The packages `roots` need at run time, found the way Node resolves them (the package's own
 * node_modules first, then each enclosing one) and kept at the same place relative to node_modules.
 */
async function dependencyClosure(roots: string[]): Promise<PackageCopy[]> {
  const found = new Map<string, PackageCopy>();
  const visit = async (
    name: string,
    fromDir: string,
    required: boolean,
    requiredBy: string
  ): Promise<void> => {
    const dir = await resolvePackageDir(name, fromDir);
    if (!dir) {
      if (required)
        throw new Error(`${requiredBy} needs ${name}, which is not installed under ${hostNodeModules}`);
      return;
    }
    const relative = path.relative(hostNodeModules, dir);
    if (found.has(relative)) return;
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
    found.set(relative, {
      name,
      version: manifest.version ?? '0.0.0',
      source: await fs.realpath(dir),
      relative
    });

    const peers = Object.keys(manifest.peerDependencies ?? {}).filter(
      peer => manifest.peerDependenciesMeta?.[peer]?.optional !== true
    );
    for (const dep of Object.keys(manifest.dependencies ?? {})) await visit(dep, dir, true, name);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) await visit(dep, dir, false, name);
    for (const dep of peers) await visit(dep, dir, false, name);
  };
  for (const root of roots) await visit(root, repoRoot, true, 'the test image');
  return [...found.values()].sort((a, b) => a.relative.localeCompare(b.relative));
}

async function resolvePackageDir(name: string, fromDir: string): Promise<string | undefined> {
  // Walk up from the requiring package: <pkg>/node_modules/<name>, then every enclosing node_modules.
  let dir = fromDir;
  for (;;) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (candidate.startsWith(hostNodeModules + path.sep)) {
        try {
          await fs.access(path.join(candidate, 'package.json'));
          return candidate;
        } catch {
          // not here; look further up
        }
      }
    }
    if (dir === repoRoot || dir === path.dirname(dir)) return undefined;
    dir = path.dirname(dir);
  }
}

async function copyPackages(packages: PackageCopy[], nodeModules: string): Promise<void> {
  for (const pkg of packages) {
    const ownNodeModules = path.join(pkg.source, 'node_modules');
    // A package's nested node_modules is left out: the packages in it that are needed are in the
    // closure themselves and get copied on their own.
    await fs.cp(pkg.source, path.join(nodeModules, pkg.relative), {
      recursive: true,
      verbatimSymlinks: true,
      filter: source => source !== ownNodeModules
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The engine

interface ImageInfo {
  Id: string;
  RepoTags?: string[] | null;
  Config?: { Labels?: Record<string, string> | null } | null;
}

export async function inspectImage(docker: Docker, tag: string): Promise<ImageInfo | undefined> {
  try {
    return await docker.getImage(tag).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** `tar -c` of the rootfs streamed into the engine's import endpoint (POST /images/create?fromSrc=-). */
export async function importRootfs(docker: Docker, rootfs: string, spec: ImageSpec): Promise<void> {
  const [repo, tag] = splitTag(spec.tag);
  const tar = spawn('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let tarErrors = '';
  tar.stderr.setEncoding('utf8').on('data', (chunk: string) => (tarErrors += chunk));
  const tarDone = new Promise<number | null>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', code => resolve(code));
  });

  const options = { repo, tag, changes: [...spec.changes, `LABEL ${CONTENT_LABEL}=${spec.hash}`] };
  let importError: Error | undefined;
  const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
  try {
    const progress = await docker.importImage(tar.stdout, options);
    const messages = await readJsonLines(progress);
    const failed = messages.find(message => message.error || message.errorDetail);
    if (failed)
      importError = new Error(`importing ${spec.tag}: ${failed.errorDetail?.message ?? failed.error}`);
  } catch (error) {
    importError = asError(error);
  }
  if (importError) tar.kill();
  const code = await tarDone.catch((error: unknown) => {
    importError ??= asError(error);
    return null;
  });
  if (!importError && code !== 0) {
    // The engine may have made an image from a cut-off archive: do not leave it under the tag.
    await docker
      .getImage(spec.tag)
      .remove({ force: true })
      .catch(() => undefined);
    importError = new Error(`tar exited with ${code}: ${tarErrors.trim()}`);
  }
  if (importError) throw importError;

  const built = await inspectImage(docker, spec.tag);
  if (built?.Config?.Labels?.[CONTENT_LABEL] !== spec.hash)
    throw new Error(`imported ${spec.tag} lacks its label`);
}

function splitTag(reference: string): [string, string] {
  const colon = reference.lastIndexOf(':');
  if (colon <= reference.lastIndexOf('/')) return [reference, 'latest'];
  return [reference.slice(0, colon), reference.slice(colon + 1)];
}

interface ProgressMessage {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

async function readJsonLines(stream: NodeJS.ReadableStream): Promise<ProgressMessage[]> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
    .map(line => {
      try {
        return JSON.parse(line) as ProgressMessage;
      } catch {
        return { error: line };
      }
    });
}

/** The image a rebuilt tag used to point at, once no tag refers to it any more. */
export async function removeIfDangling(
  docker: Docker,
  tag: string,
  previousId: string | undefined
): Promise<void> {
  if (!previousId) return;
  const current = await inspectImage(docker, tag);
  if (current?.Id === previousId) return;
  const previous = await inspectImage(docker, previousId);
  // Removing by id would also untag it if another tag still names it: leave such images alone.
  if (!previous || (previous.RepoTags ?? []).some(name => name !== '<none>:<none>')) return;
  // Without force the engine refuses while a container still uses it: fine.
  await docker
    .getImage(previousId)
    .remove()
    .catch(() => undefined);
}
