// Everything the bench starts registers how to undo it here; `runCleanups` undoes it all, newest
// first, on success, failure or Ctrl-C alike.

const cleanups = [];

/** Registers `fn` to run at cleanup; returns a function that unregisters it (once it is done by hand). */
export function onCleanup(fn) {
  cleanups.push(fn);
  return () => {
    const index = cleanups.indexOf(fn);
    if (index !== -1) cleanups.splice(index, 1);
  };
}

/** Runs every registered cleanup, newest first; a failing one is reported and the rest still run. */
export async function runCleanups() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (error) {
      console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Owner labels (DockerRuntime.ownerFor) of every gateway and runtime the bench made. */
const owners = new Set();

/** Remembers that containers labelled with `owner` are the bench's, for the last sweep. */
export function trackOwner(owner) {
  owners.add(owner);
}

/** Removes every container the bench's gateways and runtimes left; returns how many there were. */
export async function sweepContainers(docker) {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: ['io.mcp-gateway.managed=true'] }
  });
  // Containers of other owners belong to whoever else uses this engine (tests running beside us).
  const ours = containers.filter(info => owners.has(info.Labels['io.mcp-gateway.owner']));
  await Promise.all(
    ours.map(info =>
      docker
        .getContainer(info.Id)
        .remove({ force: true })
        .catch(() => undefined)
    )
  );
  return ours.length;
}
