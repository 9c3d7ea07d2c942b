/** What a `docker run … IMAGE [ARGS]` command line asks for, in the terms servers.yaml has. */
export interface DockerRun {
  readonly image: string;
  /** The arguments after the image (they replace its CMD). */
  readonly command: readonly string[];
  /** `-e KEY=value` (value set) and `-e KEY` (taken from the docker command's environment). */
  readonly env: readonly { readonly key: string; readonly value?: string | undefined }[];
  readonly envFiles: readonly string[];
  /** `-v` values as given. */
  readonly volumes: readonly string[];
  readonly network?: string | undefined;
  readonly user?: string | undefined;
  readonly memory?: string | undefined;
  readonly cpus?: string | undefined;
  readonly pids?: string | undefined;
  readonly readOnly: boolean;
  /** Options servers.yaml has no key for, as given (`--name x`); the gateway decides these itself. */
  readonly ignored: readonly string[];
}

/** Options that take no value. Every other option is taken to have one (`--opt v` or `--opt=v`). */
const FLAGS = new Set([
  '-i',
  '--interactive',
  '-t',
  '--tty',
  '-d',
  '--detach',
  '--rm',
  '--init',
  '--read-only',
  '--privileged',
  '-P',
  '--publish-all',
  '--no-healthcheck',
  '-q',
  '--quiet'
]);
/** Flags the gateway's own way of running containers already covers: not worth a note. */
const COVERED = new Set(['-i', '--interactive', '--rm', '--init', '-t', '--tty']);

/**
 * Parses `docker run …` (or `docker container run …`, `podman run …`); undefined for any other
 * command, or one with no image.
 */
export function parseDockerRun(command: string, args: readonly string[]): DockerRun | undefined {
  const program = command
    .split(/[\\/]/)
    .pop()
    ?.replace(/\.exe$/i, '');
  if (program !== 'docker' && program !== 'podman') return undefined;
  let i = args[0] === 'container' ? 1 : 0;
  if (args[i] !== 'run') return undefined;
  i++;
  const env: { key: string; value?: string }[] = [];
  const envFiles: string[] = [];
  const volumes: string[] = [];
  const ignored: string[] = [];
  const options: { network?: string; user?: string; memory?: string; cpus?: string; pids?: string } = {};
  let readOnly = false;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    if (/^-[a-zA-Z]{2,}$/.test(arg) && [...arg.slice(1)].every(c => FLAGS.has(`-${c}`))) {
      if (![...arg.slice(1)].every(c => COVERED.has(`-${c}`))) ignored.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.startsWith('--') && equals !== -1 ? arg.slice(0, equals) : arg;
    if (FLAGS.has(name)) {
      if (name === '--read-only') readOnly = equals === -1 || arg.slice(equals + 1) !== 'false';
      else if (!COVERED.has(name)) ignored.push(arg);
      continue;
    }
    const value = name === arg ? args[++i] : arg.slice(equals + 1);
    if (value === undefined) return undefined;
    switch (name) {
      case '-e':
      case '--env': {
        const at = value.indexOf('=');
        env.push(at === -1 ? { key: value } : { key: value.slice(0, at), value: value.slice(at + 1) });
        break;
      }
      case '--env-file':
        envFiles.push(value);
        break;
      case '-v':
      case '--volume':
        volumes.push(value);
        break;
      case '--network':
      case '--net':
        options.network = value;
        break;
      case '-u':
      case '--user':
        options.user = value;
        break;
      case '-m':
      case '--memory':
        options.memory = value;
        break;
      case '--cpus':
        options.cpus = value;
        break;
      case '--pids-limit':
        options.pids = value;
        break;
      default:
        ignored.push(name === arg ? `${arg} ${value}` : arg);
    }
  }
  const image = args[i];
  if (image === undefined) return undefined;
  return { image, command: args.slice(i + 1), env, envFiles, volumes, ...options, readOnly, ignored };
}
